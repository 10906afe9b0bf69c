"""Loaders for the paper's data layouts: CoMA and a generic template + landmarks + sequences folder.

**CoMA** (``s2d_method_notes.md`` section 1.2)::

    root/FaceTalk_<id>/<expression>/<expression>.000001.ply ...

Frames are ordered *naturally* by the numbers in their names (``frame_2`` before ``frame_10``;
the original code used unsorted ``os.listdir`` — never rely on directory order).

**Generic**::

    root/template.obj | template.ply      (the topology; .obj wins if both exist)
    root/landmarks.json                   {"indices": [...]} or
                                          {"barycentric": {"faces": [...], "coords": [[b0, b1, b2], ...]}}
    root/sequences/<name>/*.obj | *.ply   (every frame has the template's topology)

Every frame of a sequence must have the vertex count and faces of the sequence's first frame
(generic: of the template), and all CoMA sequences loaded together must share one topology.
Large datasets can be scanned without loading (:func:`scan_coma`) and loaded one sequence at a
time (:func:`iter_coma`, :func:`load_sequence`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import DatasetError, MeshFormatError, TopologyMismatchError
from core.io.mesh_io import MeshData, check_topology, load_mesh

__all__ = [
    "BARYCENTRIC_SUM_ATOL",
    "LandmarkSpec",
    "Sequence",
    "SequenceRef",
    "GenericDataset",
    "natural_key",
    "scan_coma",
    "iter_coma",
    "load_coma",
    "load_sequence",
    "load_landmark_spec",
    "load_generic",
    "iter_generic",
]

#: Barycentric landmark coordinates must sum to 1 within this (JSON files round to ~6 digits).
BARYCENTRIC_SUM_ATOL = 1e-4

_MESH_SUFFIXES = (".obj", ".ply")


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``f2 < f10``, ``a.000009 < a.000010``."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(p), p) if p.isdigit() else (1, p.casefold(), p) for p in parts if p)


@dataclass(frozen=True, eq=False)
class SequenceRef:
    """A sequence found on disk but not loaded: its name and sorted frame files."""

    subject: str
    expression: str
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        """``subject/expression``."""
        return f"{self.subject}/{self.expression}"


@dataclass(frozen=True, eq=False)
class Sequence:
    """One loaded mesh sequence with a fixed topology. Treat the arrays as read-only.

    Attributes
    ----------
    subject : str
        ``FaceTalk_<id>`` for CoMA; the dataset folder's name for the generic layout.
    expression : str
        Expression (CoMA) or sequence folder name (generic).
    frames : (T, V, 3) float32
        Vertex positions in file order, frames in natural file-name order.
    faces : (F, 3) int64
        Shared by every frame (often the same array object across sequences).
    paths : tuple of T Path
        The frame files, in frame order.
    """

    subject: str
    expression: str
    frames: np.ndarray
    faces: np.ndarray
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        """``subject/expression``."""
        return f"{self.subject}/{self.expression}"

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.frames.shape[0])

    @property
    def n_vertices(self) -> int:
        """Number of vertices V."""
        return int(self.frames.shape[1])


# --------------------------------------------------------------------------------- scanning
def _require_dir(root: Path, what: str, hint: str) -> None:
    if not root.exists():
        raise DatasetError(f"{what} {root} does not exist; {hint}")
    if not root.is_dir():
        raise DatasetError(f"{what} {root} is a file, not a folder; {hint}")


def _mesh_files(folder: Path, suffixes: Iterable[str]) -> tuple[Path, ...]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
    ]
    return tuple(sorted(files, key=lambda p: natural_key(p.name)))


def _subdirs(folder: Path) -> list[Path]:
    dirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(dirs, key=lambda p: natural_key(p.name))


def _select(found: list[Path], wanted: Iterable[str] | None, what: str, root: Path) -> list[Path]:
    if wanted is None:
        return found
    wanted = list(wanted)
    by_name = {p.name: p for p in found}
    missing = [w for w in wanted if w not in by_name]
    if missing:
        available = ", ".join(sorted(by_name, key=natural_key)) or "none"
        raise DatasetError(
            f"{root}: expected {what} {missing} to exist, found only: {available}; "
            "fix the names or leave the selection empty to load all"
        )
    return [by_name[w] for w in wanted]


def scan_coma(
    root: str | os.PathLike[str],
    subjects: Iterable[str] | None = None,
    expressions: Iterable[str] | None = None,
) -> list[SequenceRef]:
    """List the CoMA sequences under ``root`` (subject, then expression, natural order).

    ``subjects``/``expressions`` restrict the selection (a named subject must exist; a named
    expression must exist for at least one selected subject). No mesh is read.

    Raises
    ------
    core.errors.DatasetError
        Missing/empty root, no ``FaceTalk_*`` folders, an expression folder without ``.ply``.
    """
    root = Path(root)
    hint = "choose the folder that contains the FaceTalk_<id> folders"
    _require_dir(root, "the CoMA folder", hint)
    all_subjects = [p for p in _subdirs(root) if p.name.startswith("FaceTalk_")]
    if not all_subjects:
        found = ", ".join(
            p.name for p in sorted(root.iterdir(), key=lambda p: natural_key(p.name))[:5]
        )
        inside = (
            " (it looks like one subject's folder)" if root.name.startswith("FaceTalk_") else ""
        )
        raise DatasetError(
            f"{root}: expected CoMA subject folders named FaceTalk_<id>, found "
            f"{found or 'an empty folder'}{inside}; {hint}"
        )
    refs = []
    wanted_expr = None if expressions is None else set(expressions)
    for subject in _select(all_subjects, subjects, "subject folders", root):
        for folder in _subdirs(subject):
            if wanted_expr is not None and folder.name not in wanted_expr:
                continue
            paths = _mesh_files(folder, (".ply",))
            if not paths:
                raise DatasetError(
                    f"{folder}: expected the frames of one expression as .ply files, found none; "
                    "remove the folder or add its frames"
                )
            refs.append(SequenceRef(subject.name, folder.name, paths))
    if wanted_expr is not None:
        missing = wanted_expr - {r.expression for r in refs}
        if missing:
            raise DatasetError(
                f"{root}: expected expression folders {sorted(missing)} in the selected subjects, "
                "found none; check the expression names (e.g. 'bareteeth', 'mouth_up')"
            )
    return refs


# ---------------------------------------------------------------------------------- loading
def load_sequence(
    ref: SequenceRef,
    *,
    template: MeshData | None = None,
    template_name: str = "the dataset template",
) -> Sequence:
    """Load every frame of ``ref`` into a ``(T, V, 3) float32`` array.

    Parameters
    ----------
    ref : SequenceRef
    template : MeshData or None
        If given, every frame must have its vertex count and faces, and the returned sequence
        shares ``template.faces``; otherwise every frame must match the first frame.
    template_name : str
        How error messages name ``template``.

    Raises
    ------
    core.errors.DatasetError
        An unreadable frame, or a frame whose topology differs; the message names the file.
    """
    frames = []
    for path in ref.paths:
        try:
            mesh = load_mesh(path, inspect=False)
        except MeshFormatError as exc:
            raise DatasetError(
                f"cannot read frame {path.name} of {ref.name}: {exc}; fix or remove that file"
            ) from exc
        if template is None:
            template, template_name = mesh, f"its first frame ({path.name})"
        elif not _same_topology(mesh, template):
            raise DatasetError(
                f"frame {path.name} of {ref.name} has {mesh.n_vertices} vertices and "
                f"{mesh.n_faces} triangles, but {template_name} has {template.n_vertices} "
                f"vertices and {template.n_faces} triangles"
                + (" (same counts, different triangles)" if _same_counts(mesh, template) else "")
                + "; every frame must share one topology (same vertices in the same order) — "
                "re-export that frame from the same template or remove it"
            )
        frames.append(mesh.vertices.astype(np.float32))
    return Sequence(ref.subject, ref.expression, np.stack(frames), template.faces, ref.paths)


def _same_counts(mesh: MeshData, template: MeshData) -> bool:
    return mesh.n_vertices == template.n_vertices and mesh.n_faces == template.n_faces


def _same_topology(mesh: MeshData, template: MeshData) -> bool:
    try:
        check_topology(mesh, template.faces, template.n_vertices)
    except TopologyMismatchError:
        return False
    return True


def iter_coma(
    root: str | os.PathLike[str],
    subjects: Iterable[str] | None = None,
    expressions: Iterable[str] | None = None,
) -> Iterator[Sequence]:
    """Yield CoMA sequences one at a time (only one sequence is in memory at once).

    The layout is scanned (and its errors raised) before the first sequence is read. Every
    sequence must share the first sequence's topology.
    """
    refs = scan_coma(root, subjects, expressions)

    def generate() -> Iterator[Sequence]:
        first: MeshData | None = None
        name = ""
        for ref in refs:
            seq = load_sequence(ref, template=first, template_name=name)
            if first is None:
                first = MeshData(seq.frames[0], seq.faces)
                name = f"the first sequence ({seq.name}, {seq.paths[0].name})"
            yield seq

    return generate()


def load_coma(
    root: str | os.PathLike[str],
    subjects: Iterable[str] | None = None,
    expressions: Iterable[str] | None = None,
) -> list[Sequence]:
    """Load the CoMA layout ``root/FaceTalk_*/<expression>/*.ply`` into memory.

    Parameters
    ----------
    root : str or PathLike
        The folder holding the ``FaceTalk_<id>`` folders.
    subjects, expressions : iterables of str or None
        Optional selection by folder name (``None`` = all).

    Returns
    -------
    list of Sequence
        Subjects then expressions in natural order; ``frames (T, V, 3) float32``, one shared
        ``faces (F, 3) int64`` array.

    Raises
    ------
    core.errors.DatasetError
        Layout problems, an unreadable frame or a topology mismatch (the file is named).
    """
    return list(iter_coma(root, subjects, expressions))


# ---------------------------------------------------------------------------------- generic
@dataclass(frozen=True, eq=False)
class LandmarkSpec:
    """Where the K landmarks sit on the template: vertex indices or barycentric points.

    Attributes
    ----------
    indices : (K,) int64 or None
        Vertex indices (``kind == "indices"``).
    faces : (K,) int64 or None
        Triangle index of each landmark (``kind == "barycentric"``).
    coords : (K, 3) float64 or None
        Barycentric weights of the triangle's three corners (rows sum to 1).
    """

    indices: np.ndarray | None = None
    faces: np.ndarray | None = None
    coords: np.ndarray | None = None

    @property
    def kind(self) -> str:
        """``"indices"`` or ``"barycentric"``."""
        return "indices" if self.indices is not None else "barycentric"

    @property
    def n_landmarks(self) -> int:
        """Number of landmarks K."""
        return int(len(self.indices if self.indices is not None else self.faces))

    def positions(self, vertices: np.ndarray, mesh_faces: np.ndarray) -> np.ndarray:
        """Landmark positions ``(..., K, 3)`` of vertices ``(..., V, 3)`` (faces ``(F, 3)``)."""
        vertices = np.asarray(vertices)
        if self.indices is not None:
            return vertices[..., self.indices, :]
        corners = vertices[..., mesh_faces[self.faces], :]  # (..., K, 3 corners, 3 xyz)
        return np.einsum("...kcx,kc->...kx", corners, self.coords)


def load_landmark_spec(path: str | os.PathLike[str], n_vertices: int, n_faces: int) -> LandmarkSpec:
    """Read and check ``landmarks.json`` against a template with ``n_vertices`` / ``n_faces``."""
    path = Path(path)
    hint = (
        'write {"indices": [v0, v1, ...]} or {"barycentric": {"faces": [f0, ...], '
        '"coords": [[b0, b1, b2], ...]}}'
    )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetError(f"{path} does not exist; {hint}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path} is not readable JSON ({exc}); {hint}") from exc
    if not isinstance(doc, dict) or ("indices" in doc) == ("barycentric" in doc):
        keys = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise DatasetError(
            f"{path}: expected exactly one of 'indices' or 'barycentric', found {keys}; {hint}"
        )
    try:
        if "indices" in doc:
            indices = _int_array(doc["indices"], n_vertices, "indices", "vertices")
            return LandmarkSpec(indices=indices)
        bary = doc["barycentric"]
        faces = _int_array(bary["faces"], n_faces, "barycentric.faces", "faces")
        coords = np.asarray(bary["coords"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: malformed landmark entry ({exc}); {hint}") from exc
    if coords.shape != (len(faces), 3) or not np.isfinite(coords).all():
        raise DatasetError(
            f"{path}: expected barycentric.coords of shape ({len(faces)}, 3) with finite values, "
            f"found shape {coords.shape}; give three weights per landmark"
        )
    sums = coords.sum(axis=1)
    if np.abs(sums - 1.0).max() > BARYCENTRIC_SUM_ATOL:
        k = int(np.argmax(np.abs(sums - 1.0)))
        raise DatasetError(
            f"{path}: expected barycentric weights summing to 1, found {sums[k]:.6g} for "
            f"landmark {k}; normalise the weights"
        )
    return LandmarkSpec(faces=faces, coords=coords)


def _int_array(values: object, upper: int, name: str, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be a non-empty list of integers")
    if arr.min() < 0 or arr.max() >= upper:
        raise ValueError(
            f"{name} must lie in 0..{upper - 1} (the template has {upper} {what}), "
            f"found {int(arr.min())}..{int(arr.max())}"
        )
    return arr.astype(np.int64)


@dataclass(frozen=True, eq=False)
class GenericDataset:
    """The generic layout: template mesh, landmark spec and (optionally loaded) sequences."""

    root: Path
    template: MeshData
    landmarks: LandmarkSpec
    sequences: tuple[Sequence, ...]
    refs: tuple[SequenceRef, ...]


def _scan_generic(root: Path) -> tuple[MeshData, LandmarkSpec, list[SequenceRef]]:
    hint = "choose the folder that contains template.obj|ply, landmarks.json and sequences/"
    _require_dir(root, "the dataset folder", hint)
    candidates = [root / "template.obj", root / "template.ply"]
    template_path = next((p for p in candidates if p.is_file()), None)
    if template_path is None:
        raise DatasetError(f"{root}: expected template.obj or template.ply, found neither; {hint}")
    try:
        template = load_mesh(template_path)
    except MeshFormatError as exc:
        raise DatasetError(f"cannot read the dataset template: {exc}") from exc
    landmarks = load_landmark_spec(root / "landmarks.json", template.n_vertices, template.n_faces)
    seq_root = root / "sequences"
    _require_dir(seq_root, "the sequences folder", hint)
    refs = []
    for folder in _subdirs(seq_root):
        paths = _mesh_files(folder, _MESH_SUFFIXES)
        if not paths:
            raise DatasetError(
                f"{folder}: expected the frames of one sequence as .obj or .ply files, found "
                "none; remove the folder or add its frames"
            )
        refs.append(SequenceRef(root.name, folder.name, paths))
    if not refs:
        raise DatasetError(f"{seq_root}: expected one folder per sequence, found none; {hint}")
    return template, landmarks, refs


def iter_generic(root: str | os.PathLike[str]) -> Iterator[Sequence]:
    """Yield the generic layout's sequences one at a time (template checked first)."""
    template, _, refs = _scan_generic(Path(root))
    return (load_sequence(ref, template=template) for ref in refs)


def load_generic(root: str | os.PathLike[str], *, load_sequences: bool = True) -> GenericDataset:
    """Load the generic layout (template, landmarks.json, sequences/<name>/*.obj|ply).

    Parameters
    ----------
    root : str or PathLike
    load_sequences : bool
        ``False`` reads template and landmarks only; ``refs`` still lists the sequences (load
        them later with :func:`load_sequence` and ``template=``).

    Returns
    -------
    GenericDataset
        ``sequences`` hold ``(T, V, 3) float32`` frames sharing the template's faces.

    Raises
    ------
    core.errors.DatasetError
        Missing files/folders, bad landmarks, unreadable frames, topology different from the
        template (the file is named).
    """
    root = Path(root)
    template, landmarks, refs = _scan_generic(root)
    sequences = (
        tuple(load_sequence(ref, template=template) for ref in refs) if load_sequences else ()
    )
    return GenericDataset(root, template, landmarks, sequences, tuple(refs))
