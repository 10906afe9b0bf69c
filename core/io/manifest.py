"""The one ``manifest.json`` schema written beside every export, by the CLI and the studio alike.

Every field is explained in ``docs/manifest.md``. :func:`build_manifest` assembles the provenance
part (who made the motion, from which face and models); :func:`core.io.export.export_sequence`
(and the single-file exporters' callers) add the file part (``format``, ``files``, ``frames``,
...); :func:`validate_manifest` checks a finished manifest against the schema and is what the
CLI's and the studio's tests both run on their outputs.

Conventions (version 1):

* frame numbers are 1-based and equal the number in the file name (``frame_0007.obj`` is frame 7),
  also in ``edits[].frame``;
* ``units`` is the unit of every coordinate in the files: the neutral face's own unit, guessed
  from its size by :func:`guess_units` (a face loaded in millimetres stays in millimetres);
* ``up`` is the axis that points from chin to forehead in the files (``z``: the app's own frame,
  face looking towards -y; ``y``: rotated for y-up tools, face looking towards +z);
* model hashes are the full hex SHA-256 of the weight files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.version import __version__

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "READ_BACK",
    "UP_AXES",
    "build_manifest",
    "file_part",
    "guess_units",
    "model_entry",
    "to_up",
    "validate_manifest",
]

SCHEMA = "sparse2dense-studio/manifest"
SCHEMA_VERSION = 1
UP_AXES = ("z", "y")
UNITS = ("m", "cm", "mm")
PRODUCERS = ("cli", "studio")
MOTION_KINDS = (
    "neutral",
    "generate",
    "interpolate",
    "mix_apex",
    "compare",
    "speech",
    "transfer",
    "sequence",
)

#: How to read each format back in topology order (vertex ``i`` of the file = vertex ``i`` here).
READ_BACK = {
    "obj": "trimesh.load(path, process=False, maintain_order=True)",
    "ply": "trimesh.load(path, process=False, maintain_order=True)",
    "npz": "numpy.load(path)['frames']  # (T, V, 3), with 'faces' (F, 3)",
    "glb": "pygltflib.GLTF2().load(path)  # morph target k = frame k+1 minus frame 1",
    "mp4": "a video of the viewport (no geometry)",
    "gif": "a video of the viewport (no geometry)",
}
FORMATS = tuple(READ_BACK)

#: A face is about 0.2–0.3 m across; the bounding-box diagonal (in file units) below each bound
#: gives the unit (geometric means between a face in m / cm / mm: 2.5 and 79).
_UNIT_BOUNDS = ((2.5, "m"), (79.0, "cm"), (float("inf"), "mm"))

_REQUIRED = {
    "schema": str,
    "schema_version": int,
    "app": str,
    "producer": str,
    "motion": dict,
    "fps": (int, float),
    "face": dict,
    "units": str,
    "up": str,
    "models": dict,
    "edits": list,
    "pinned_landmarks": list,
    "format": str,
    "n_frames": int,
    "n_vertices": int,
    "n_faces": int,
    "has_uv": bool,
    "has_normals": bool,
    "files": list,
    "frames": list,
    "read_back": str,
}


def guess_units(vertices: np.ndarray) -> str:
    """Unit of a face's coordinates from its size: ``"m"``, ``"cm"`` or ``"mm"``.

    Parameters
    ----------
    vertices : (V, 3) float
        A head or face mesh (about 0.2–0.3 m across).
    """
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    diagonal = float(np.linalg.norm(v.max(axis=0) - v.min(axis=0))) if len(v) else 0.0
    return next(unit for bound, unit in _UNIT_BOUNDS if diagonal < bound)


def to_up(points: np.ndarray, up: str) -> np.ndarray:
    """Points ``(..., 3)`` of the app's z-up frame in the ``up`` convention of an export.

    ``"z"`` returns them unchanged; ``"y"`` rotates by -90° about x, ``(x, y, z) -> (x, z, -y)``
    (a proper rotation: winding and handedness are kept; the face then looks towards +z).
    """
    if up not in UP_AXES:
        raise InvalidInputError(f"up must be one of {UP_AXES}, got {up!r}; pick 'z' or 'y'")
    if up == "z":
        return points
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def model_entry(path: str | os.PathLike[str]) -> dict:
    """``{"file": name, "sha256": full hex digest}`` of a weight file."""
    from core.files import file_sha256

    return {"file": Path(path).name, "sha256": file_sha256(path, length=64)}


def file_part(
    fmt: str,
    n_frames: int,
    n_vertices: int,
    n_faces: int,
    files: list[str],
    *,
    units: str = "m",
    up: str = "z",
    has_uv: bool = False,
    has_normals: bool = False,
) -> dict:
    """The file part of a manifest: what was written and how to read it back."""
    return {
        "format": fmt,
        "n_frames": int(n_frames),
        "n_vertices": int(n_vertices),
        "n_faces": int(n_faces),
        "units": units,
        "up": up,
        "has_uv": bool(has_uv),
        "has_normals": bool(has_normals),
        "files": list(files),
        "frames": list(range(1, int(n_frames) + 1)),
        "read_back": READ_BACK[fmt],
    }


def build_manifest(
    *,
    producer: str,
    motion: Mapping[str, object],
    fps: float,
    face_name: str,
    face_path: str | None,
    face_vertices: np.ndarray,
    models: Mapping[str, Mapping[str, str]],
    units: str | None = None,
    edits: Iterable[Mapping[str, object]] = (),
    pinned_landmarks: Iterable[str] = (),
) -> dict:
    """The provenance part of a version-1 manifest (the exporter adds the file part).

    Parameters
    ----------
    producer : {"cli", "studio"}
    motion : mapping
        ``kind`` plus ``label``/``seed``/``side``/``from``/``to``/``tau``/``length`` as they apply.
    fps : float
        Frames per second of the motion.
    face_name, face_path : str, str or None
        The neutral face (``face_path`` None for the shipped default face).
    face_vertices : (V, 3) float
        The neutral face, in its own units (used for ``face.n_vertices`` and :func:`guess_units`).
    models : mapping
        Model role (``motion3dgan``, ``s2d_decoder``) -> :func:`model_entry`.
    units : str or None
        Override of the guessed unit (``face.units``; the file part repeats it as ``units``).
    edits, pinned_landmarks : iterables
        Studio sculpting log (frames 1-based) and pinned landmark names.
    """
    unit = units or guess_units(face_vertices)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "app": f"Sparse2Dense Studio {__version__}",
        "producer": producer,
        "motion": dict(motion),
        "fps": float(fps),
        "face": {
            "name": face_name,
            "path": face_path,
            "n_vertices": int(np.asarray(face_vertices).shape[0]),
            "units": unit,
        },
        "models": {k: dict(v) for k, v in models.items()},
        "edits": [dict(e) for e in edits],
        "pinned_landmarks": list(pinned_landmarks),
    }


def validate_manifest(data: Mapping[str, object]) -> Mapping[str, object]:
    """Check a finished manifest against schema version 1; return it unchanged.

    Raises
    ------
    core.errors.InvalidInputError
        Listing every problem found (missing/extra-typed keys, bad enum values, frame numbers
        that do not match the file names, short hashes, inconsistent counts).
    """
    problems = []
    for key, kind in _REQUIRED.items():
        if key not in data:
            problems.append(f"missing '{key}'")
        elif not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            problems.append(f"'{key}' should be {_kind_name(kind)}, found {data[key]!r}")
    if problems:
        raise InvalidInputError("manifest does not follow the schema: " + "; ".join(problems))
    _check_values(data, problems)
    if problems:
        raise InvalidInputError("manifest does not follow the schema: " + "; ".join(problems))
    return data


def _check_values(d: Mapping, problems: list[str]) -> None:
    for key, allowed in (
        ("producer", PRODUCERS),
        ("units", UNITS),
        ("up", UP_AXES),
        ("format", FORMATS),
    ):
        if d[key] not in allowed:
            problems.append(f"'{key}' should be one of {allowed}, found {d[key]!r}")
    if d["schema"] != SCHEMA or d["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema should be {SCHEMA!r} version {SCHEMA_VERSION}")
    if d["motion"].get("kind") not in MOTION_KINDS:
        problems.append(f"'motion.kind' should be one of {MOTION_KINDS}")
    face = d["face"]
    if set(face) != {"name", "path", "n_vertices", "units"}:
        problems.append(f"'face' should hold name, path, n_vertices, units; found {sorted(face)}")
    elif face["n_vertices"] != d["n_vertices"] or face["units"] != d["units"]:
        problems.append("'face' n_vertices/units differ from the exported ones")
    for role, entry in d["models"].items():
        sha = entry.get("sha256") if isinstance(entry, Mapping) else None
        if not (
            isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)
        ):
            problems.append(f"'models.{role}.sha256' should be a full 64-hex digest, found {sha!r}")
    if d["format"] == "glb" and d["up"] != "y":
        problems.append("glTF is y-up: a glb manifest must say up 'y'")
    frames, files = d["frames"], d["files"]
    if frames != list(range(1, d["n_frames"] + 1)):
        problems.append(f"'frames' should be 1..{d['n_frames']}")
    if d["format"] in ("obj", "ply"):
        numbers = [_number_in(name) for name in files]
        if numbers != frames:
            problems.append(f"file names {files[:2]}... do not carry the frame numbers 1..")
    for e in d["edits"]:
        f = e.get("frame") if isinstance(e, Mapping) else None
        if f is not None and not (isinstance(f, int) and 1 <= f <= d["n_frames"]):
            problems.append(f"edit frame {f!r} is not a frame number 1..{d['n_frames']}")
    if d["fps"] <= 0:
        problems.append("'fps' should be positive")


def _number_in(name: object) -> int | None:
    digits = "".join(c for c in str(name).rsplit(".", 1)[0] if c.isdigit())
    return int(digits) if digits else None


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
