"""Atomic export of a dense animation as a folder of per-frame meshes plus ``manifest.json``.

``export_sequence`` writes everything into a hidden temporary folder beside ``out_dir`` and renames
it into place at the end (see :mod:`core.io.atomic`): a failed or cancelled export leaves neither
``out_dir`` nor temporaries behind. GLB and video exporters live in :mod:`core.io.export_gltf`
and :mod:`core.io.export_video` and are re-exported here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.arrays import as_faces, as_frames, as_uv
from core.errors import InvalidInputError
from core.io.atomic import (
    ExportCancelled,
    ProgressCallback,
    atomic_dir,
    atomic_file,
    report_progress,
)
from core.io.export_obj import ObjEncoder, encode_ply, per_vertex_uv
from core.io.manifest import UNITS, file_part, to_up
from core.io.obj_layout import ObjLayout, copy_materials, write_embedded_materials

if TYPE_CHECKING:  # imported on first use, see __getattr__
    from core.io.export_gltf import export_glb
    from core.io.export_video import export_video

__all__ = [
    "FORMATS",
    "ExportCancelled",
    "export_sequence",
    "export_glb",
    "export_video",
    "write_manifest",
]

#: Per-sequence formats of :func:`export_sequence` (``npz`` is one ``sequence.npz`` file).
FORMATS = ("obj", "ply", "npz")

MANIFEST_NAME = "manifest.json"

#: Re-exported single-file writers, imported on first use (pygltflib and the video encoders
#: cost start-up time for every command that only writes OBJ).
_LAZY = {"export_glb": "core.io.export_gltf", "export_video": "core.io.export_video"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core.io.export' has no attribute {name!r}")


NPZ_NAME = "sequence.npz"


def _frame_names(name_pattern: str, n_frames: int, ext: str) -> list[str]:
    """``name_pattern.format(k)`` for k = 1..T, plus the extension; checked to be usable."""
    try:
        names = [name_pattern.format(k) + ext for k in range(1, n_frames + 1)]
    except (IndexError, KeyError, ValueError) as exc:
        raise InvalidInputError(
            f"name_pattern must format one frame number, like 'frame_{{:04d}}', got "
            f"{name_pattern!r} ({exc}); fix the pattern"
        ) from exc
    bad = [n for n in names if "/" in n or os.sep in n or n.startswith(".") or n == MANIFEST_NAME]
    if bad or len(set(names)) != len(names):
        raise InvalidInputError(
            f"name_pattern {name_pattern!r} must give distinct plain file names for frames "
            f"1..{n_frames}, got e.g. {(bad or names)[:2]}; use a pattern like 'frame_{{:04d}}'"
        )
    return names


def export_sequence(
    out_dir: str | os.PathLike[str],
    frames: np.ndarray,
    faces: np.ndarray,
    fmt: str = "obj",
    *,
    uv: np.ndarray | None = None,
    face_uv: np.ndarray | None = None,
    manifest: Mapping[str, object] | None = None,
    progress: ProgressCallback | None = None,
    name_pattern: str = "frame_{:04d}",
    overwrite: bool = False,
    decimals: int = 6,
    up: str = "z",
    units: str = "m",
    normals: bool = True,
    layout: ObjLayout | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write an animation as ``out_dir/frame_0001.<fmt>`` ... plus ``out_dir/manifest.json``.

    Parameters
    ----------
    out_dir : str or PathLike
        Folder to create; its parent must exist. An existing ``out_dir`` is refused unless
        ``overwrite=True`` (then it is replaced as a whole, atomically).
    frames : (T, V, 3) float32 or float64
        Vertex positions in the app's z-up frame, in the template's vertex order (kept exactly).
    faces : (F, 3) int
        Shared 0-based triangle indices.
    fmt : {"obj", "ply", "npz"}
        ``obj``: text with ``decimals`` digits, per-corner UVs (``f a/ta b/tb c/tc``) and, with
        ``normals``, one ``vn`` per vertex (``f a/ta/a ...``);
        ``ply``: binary, exact, per-vertex UVs only; ``npz``: one ``sequence.npz`` holding
        ``frames``, ``faces`` (and ``uv``, ``face_uv``).
    uv, face_uv : (N_uv, 2) float and (F, 3) int, or None
        Texture coordinates, written into every frame.
    manifest : mapping or None
        Provenance entries (:func:`core.io.manifest.build_manifest`); the file part ``format``,
        ``n_frames``, ``n_vertices``, ``n_faces``, ``units``, ``up``, ``has_uv``,
        ``has_normals``, ``files``, ``frames`` (1-based numbers in the file names) and
        ``read_back`` is added and wins over same-named given entries (``docs/manifest.md``).
    progress : callable ``(done, total) -> bool | None`` or None
        Called after every frame (``total = T``, or 1 for npz); returning ``False`` cancels.
    name_pattern : str
        ``str.format`` pattern of one 1-based frame number, without extension.
    overwrite : bool
        Replace an existing ``out_dir``.
    decimals : int
        Digits after the decimal point of OBJ coordinates (>= 6).
    up : {"z", "y"}
        ``z`` writes the app's frame unchanged; ``y`` rotates it for y-up tools
        (:func:`core.io.manifest.to_up`).
    units : {"m", "cm", "mm"}
        Unit of ``frames`` (the neutral face's own; recorded, nothing is scaled).
    normals : bool
        Write ``vn`` lines in OBJ frames (ignored for PLY/NPZ).
    layout : ObjLayout or None
        The user's polygons behind ``faces`` (:mod:`core.io.obj_layout`, from
        ``MeshData.layout``): OBJ frames are written as those polygons with their
        ``usemtl``/``g``/``o``/``s`` lines, and the ``.mtl`` files and their textures are copied
        into ``out_dir`` (``mtllib`` at the top of every frame; manifest ``materials``); PLY
        frames keep the polygons; NPZ adds ``polygon_sizes``. Ignored if it does not fit ``faces``.
        Materials carried inside a glTF/GLB input (``layout.embedded``) are written as
        ``materials.mtl`` with one PNG per texture (``Kd``/``map_Kd``; names made safe).
    extra_files : mapping of plain file name -> bytes, or None
        More files written into ``out_dir`` with the frames (e.g. the fit of a user's face that
        ``replay`` reads); a name clashing with a frame or the manifest is refused.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    core.errors.InvalidInputError
        Bad shapes, NaN/inf frames, bad indices/pattern/format, non-JSON manifest.
    core.io.atomic.ExportCancelled
        ``progress`` returned ``False`` (an :class:`core.errors.ExportError`).
    core.errors.ExportError
        ``out_dir`` exists, or cannot be written; nothing is left behind.
    """
    if fmt not in FORMATS:
        raise InvalidInputError(f"fmt must be one of {FORMATS}, got {fmt!r}; pick one of them")
    if decimals < 6:
        raise InvalidInputError(f"decimals must be >= 6 (micrometres), got {decimals}")
    if units not in UNITS:
        raise InvalidInputError(f"units must be one of {UNITS}, got {units!r}")
    frames = to_up(as_frames(frames), up)
    n_frames, n_vertices = frames.shape[:2]
    faces = as_faces(faces, n_vertices)
    uv, face_uv = as_uv(uv, face_uv, len(faces))
    vertex_uv = per_vertex_uv(uv, face_uv, faces, n_vertices) if fmt == "ply" else None
    names = [NPZ_NAME] if fmt == "npz" else _frame_names(name_pattern, n_frames, f".{fmt}")
    if layout is not None and (not layout.fits(faces) or layout.trivial):
        layout = None
    extra_files = dict(extra_files or {})
    for name in extra_files:
        if name in names or name == MANIFEST_NAME or Path(name).name != name or name[:1] == ".":
            raise InvalidInputError(f"extra file name {name!r} is not a free plain file name")
    meta = {
        **dict(manifest or {}),
        **file_part(
            fmt,
            n_frames,
            n_vertices,
            len(faces),
            names,
            units=units,
            up=up,
            has_uv=uv is not None,
            has_normals=normals and fmt == "obj",
        ),
    }
    manifest_bytes = _json_bytes(meta)  # fail on a bad manifest before touching the disk

    out_dir = Path(out_dir)
    what = f"exporting {n_frames} frames to {out_dir}"
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        if fmt == "npz":
            arrays = {"frames": frames, "faces": faces}
            if uv is not None:
                arrays.update(uv=uv, face_uv=face_uv)
            if layout is not None:
                arrays.update(polygon_sizes=layout.sizes)
            np.savez(tmp / NPZ_NAME, **arrays)
            report_progress(progress, 1, 1, what)
        else:
            encoder = None
            if fmt == "obj":
                libs = []
                if layout is not None:
                    libs, copied = copy_materials(layout, tmp)
                    taken = {*names, MANIFEST_NAME, *extra_files, *copied}
                    layout, more_libs, more = write_embedded_materials(layout, tmp, taken)
                    libs, copied = libs + more_libs, sorted([*copied, *more])
                    if copied:
                        meta["materials"] = copied
                        manifest_bytes = _json_bytes(meta)
                encoder = ObjEncoder(
                    faces,
                    uv,
                    face_uv,
                    decimals=decimals,
                    normals=normals,
                    layout=layout,
                    mtllib=libs,
                )
            sizes = None if layout is None else layout.sizes
            for k, name in enumerate(names):
                if encoder is not None:
                    data = encoder.encode(frames[k], comment=f"frame {k + 1} of {n_frames}")
                else:
                    data = encode_ply(frames[k], faces, vertex_uv, sizes)
                (tmp / name).write_bytes(data)
                report_progress(progress, k + 1, n_frames, what)
        for name, data in extra_files.items():
            (tmp / name).write_bytes(data)
        (tmp / MANIFEST_NAME).write_bytes(manifest_bytes)
    return out_dir


def write_manifest(path: str | os.PathLike[str], data: Mapping[str, object]) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically.

    numpy scalars/arrays and paths are converted; NaN/inf and other objects raise
    :class:`core.errors.InvalidInputError` before anything is written.
    """
    payload = _json_bytes(dict(data))
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(payload)
    return path


def _json_default(obj: object) -> object:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _json_bytes(data: dict) -> bytes:
    try:
        text = json.dumps(
            data, indent=2, ensure_ascii=False, allow_nan=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the manifest must hold JSON values (numbers, strings, lists, dicts; no NaN), "
            f"found a problem: {exc}; convert or remove that entry"
        ) from exc
    return (text + "\n").encode("utf-8")
