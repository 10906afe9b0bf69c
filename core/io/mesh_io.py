"""Robust triangle-mesh input (OBJ, PLY), topology checks and atomic single-mesh output.

Reading never merges, drops or reorders vertices: vertex ``i`` of the file is row ``i`` of
``MeshData.vertices``, because landmarks, morphs and the model's topology are defined by index.

* **OBJ** is parsed here (``v``, ``vt``, ``f`` lines; everything else is ignored). trimesh keeps the
  vertex order only with ``maintain_order=True`` and even then loses UVs on texture seams, so an
  own parser is both simpler and exact: UVs come back per face corner (``face_uv``).
* **PLY** is parsed by trimesh with ``force="mesh", process=False, maintain_order=True`` after a
  magic-number check; any exception it raises becomes :class:`core.errors.MeshFormatError`.
* Polygons (quads, n-gons) are fan-triangulated the same way for both formats, in file order:
  ``(p0, p1, p2), (p0, p2, p3), ...``.

Every file is then validated (finite coordinates, 3-D vertices, face indices in range, at least
3 vertices and 1 face); the silent failure modes of trimesh/VTK (faces indexing
missing vertices handed to VTK, NaN coordinates, a PLY whose faces were dropped, ``f 0`` lines,
non-3-D vertices) all end in a ``MeshFormatError`` that names the file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.arrays import as_faces, as_uv, as_vertices
from core.errors import InvalidInputError, MeshFormatError, TopologyMismatchError
from core.io.atomic import atomic_write_bytes
from core.io.export_obj import ObjEncoder, encode_ply, per_vertex_uv
from core.io.obj_layout import ObjLayout
from core.io.obj_reader import read_obj
from core.io.ply_binary import read_mixed_ply
from core.io.safe_input import open_regular

__all__ = [
    "MAX_MESH_BYTES",
    "MeshData",
    "load_mesh",
    "save_mesh",
    "check_topology",
    "mesh_warnings",
]

#: Files larger than this are refused before reading (a face mesh is < 5 MB; 200 MB is a scan).
MAX_MESH_BYTES = 200 * 1024 * 1024

#: A bounding-box diagonal above this many "metres" almost surely means millimetres/centimetres.
_MAX_PLAUSIBLE_DIAGONAL_M = 10.0

_SUPPORTED = (".obj", ".ply")


@dataclass(frozen=True, eq=False)
class MeshData:
    """A triangle mesh as read from a file. Treat the arrays as read-only.

    Attributes
    ----------
    vertices : (V, 3) float64 (or float32)
        Positions in file order (metres by project convention).
    faces : (F, 3) int64
        0-based vertex indices; polygons fan-triangulated in file order.
    uv : (N_uv, 2) float64 or None
        Texture coordinates.
    face_uv : (F, 3) int64 or None
        Per-corner indices into ``uv`` (present exactly when ``uv`` is).
    notes : tuple of str
        Non-fatal observations for the user (triangulated polygons, unreferenced vertices, ...).
    layout : ObjLayout or None
        The file's own polygons (and, for OBJ, materials and groups) behind ``faces``
        (:mod:`core.io.obj_layout`); None when unknown.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None = None
    face_uv: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    layout: ObjLayout | None = None

    @property
    def n_vertices(self) -> int:
        """Number of vertices V."""
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        """Number of triangles F."""
        return int(self.faces.shape[0])


# --------------------------------------------------------------------------------- validation
def _validate_file_mesh(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """(V, 3) vertices, (F, 3) integer faces, >= 3 vertices and >= 1 face, finite coordinates,
    face indices in [0, V) (never hand out-of-range faces to VTK): MeshFormatError naming the
    file otherwise."""
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise MeshFormatError(
            f"{path}: expected 3-D vertices (x y z), found coordinates of shape "
            f"{vertices.shape}; re-export the mesh with 3-D positions"
        )
    if len(vertices) < 3 or len(faces) < 1:
        raise MeshFormatError(
            f"{path}: expected a triangle mesh (at least 3 vertices and 1 face), found "
            f"{len(vertices)} vertices and {len(faces)} faces; the file is empty, a point "
            "cloud or truncated — choose a surface mesh"
        )
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        raise MeshFormatError(
            f"{path}: expected finite coordinates, found {int(bad.sum())} vertex/vertices with "
            f"NaN or inf (first: vertex {int(np.argmax(bad))}); repair or re-export the mesh"
        )
    lo, hi = int(faces.min()), int(faces.max())
    if lo < 0 or hi >= len(vertices):
        raise MeshFormatError(
            f"{path}: expected face indices between 0 and {len(vertices) - 1} (0-based), found "
            f"{lo}..{hi}; the file is damaged (a face refers to a vertex that does not exist)"
        )


def mesh_warnings(vertices: np.ndarray, faces: np.ndarray) -> list[str]:
    """Non-fatal quality remarks about a valid mesh (empty list when all is well).

    Parameters
    ----------
    vertices : (V, 3) float
    faces : (F, 3) int64

    Reports degenerate (repeated index or zero-area) faces, duplicate faces, unreferenced
    vertices and a bounding box too large to be in metres.
    """
    notes = []
    repeated = (
        (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    )
    v = np.asarray(vertices, dtype=np.float64)
    cross = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    zero_area = ~repeated & (np.linalg.norm(cross, axis=1) == 0.0)
    if repeated.any() or zero_area.any():
        notes.append(f"{int(repeated.sum() + zero_area.sum())} degenerate (zero-area) face(s)")
    n_dup = len(faces) - _n_unique_rows(np.sort(faces, axis=1), len(v))
    if n_dup:
        notes.append(f"{n_dup} duplicate face(s)")
    used = np.zeros(len(v), bool)
    used[faces.ravel()] = True
    n_unref = len(v) - int(used.sum())
    if n_unref:
        notes.append(f"{n_unref} vertex/vertices not used by any face")
    diagonal = float(np.linalg.norm(v.max(axis=0) - v.min(axis=0)))
    if diagonal > _MAX_PLAUSIBLE_DIAGONAL_M:
        notes.append(
            f"the mesh is {diagonal:.3g} units across; meshes are expected in metres "
            "(a face is about 0.2 m) — if it is in millimetres, scale it by 0.001"
        )
    return notes


def _n_unique_rows(rows: np.ndarray, n: int) -> int:
    """Distinct rows of ``rows (F, 3)`` with entries in [0, n): one int64 key per row when
    n**3 fits (2 M vertices do), else ``np.unique(axis=0)``."""
    if n <= 2_097_151:  # 21 bits per index, 63 bits per key
        rows = rows.astype(np.int64)
        keys = np.sort((rows[:, 0] * n + rows[:, 1]) * n + rows[:, 2])  # (F,)
        return int(len(keys) > 0) + int(np.count_nonzero(np.diff(keys)))
    return len(np.unique(rows, axis=0))


# ---------------------------------------------------------------------------------- reading
def load_mesh(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = MAX_MESH_BYTES,
    inspect: bool = True,
    max_vertices: int | None = None,
) -> MeshData:
    """Read an OBJ or PLY triangle mesh without changing its vertex order.

    Parameters
    ----------
    path : str or PathLike
        ``.obj`` or ``.ply`` file.
    max_bytes : int
        Larger files are refused before reading (size from ``fstat`` of the open file; only
        regular files are opened, so a FIFO or device never blocks).
    max_vertices : int or None
        Refuse a mesh with more vertices as soon as the PLY header or the OBJ line that
        exceeds it is read (bounded time and memory for a huge file offered as a face).
    inspect : bool
        Add :func:`mesh_warnings` to ``notes`` (about 8 ms for a 5k-vertex face; dataset
        loaders turn it off).

    Returns
    -------
    MeshData
        ``vertices (V, 3) float64``, ``faces (F, 3) int64``, optional ``uv``/``face_uv``.

    Raises
    ------
    core.errors.MeshFormatError
        Missing, too large, unreadable, damaged or not a valid triangle mesh; the message names
        the file, what was expected, what was found and what to do.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SUPPORTED:
        raise MeshFormatError(
            f"{path}: expected a .obj or .ply mesh, found a '{suffix or 'no'}' extension; "
            "convert the mesh to OBJ or PLY"
        )
    try:
        fh = open_regular(path, max_bytes, "mesh file")  # never blocks on a FIFO or device
    except InvalidInputError as exc:
        raise MeshFormatError(str(exc)) from exc
    with fh:
        try:
            if suffix == ".obj":
                vertices, faces, uv, face_uv, notes, layout = read_obj(path, fh, max_vertices)
            else:
                vertices, faces, uv, face_uv, notes, layout = _parse_ply(
                    path, fh.read(max_bytes + 1), max_vertices
                )
        except OSError as exc:
            raise MeshFormatError(
                f"{path} cannot be read ({exc.strerror or exc}); check the file and its disk"
            ) from exc
    _validate_file_mesh(path, vertices, faces)
    if uv is not None and face_uv is not None:
        if (
            not np.isfinite(uv).all()
            or len(uv) == 0
            or face_uv.min() < 0
            or face_uv.max() >= len(uv)
        ):
            uv, face_uv = None, None
            notes.append("texture coordinates were damaged and have been ignored")
    if inspect:
        notes.extend(mesh_warnings(vertices, faces))
    return MeshData(vertices, faces, uv, face_uv, tuple(notes), layout)


def _fan(polygon: list[int]) -> list[tuple[int, int, int]]:
    """Fan-triangulate one polygon in order: (p0, p1, p2), (p0, p2, p3), ..."""
    return [(polygon[0], polygon[i], polygon[i + 1]) for i in range(1, len(polygon) - 1)]


def _parse_ply(path: Path, data: bytes, max_vertices: int | None = None):
    if not (data[:3] == b"ply" and data[3:4] in (b"\n", b"\r")):
        raise MeshFormatError(
            f"{path}: expected a PLY file starting with the line 'ply', found "
            f"{data[:16]!r}; the file is damaged or not a PLY mesh — choose another file"
        )
    if max_vertices is not None:
        declared = _ply_vertex_count(data)
        if declared is not None and declared > max_vertices:
            raise MeshFormatError(
                f"{path}: expected at most {max_vertices} vertices, found {declared} in the PLY "
                "header; use a mesh of the model's topology or decimate the scan first"
            )
    import trimesh  # lazy: trimesh is only needed for PLY input

    try:
        mesh = trimesh.load(
            io.BytesIO(data), file_type="ply", force="mesh", process=False, maintain_order=True
        )
    except Exception as exc:  # trimesh raises many types on damaged input; all mean "damaged"
        mixed = read_mixed_ply(data)  # unless it is a binary PLY of mixed polygon sizes
        if mixed is not None:
            return mixed
        raise MeshFormatError(
            f"{path}: expected a readable PLY mesh, found damaged or truncated data "
            f"({type(exc).__name__}: {exc}); re-export or re-download the file"
        ) from exc
    if not isinstance(mesh, trimesh.Trimesh):
        raise MeshFormatError(
            f"{path}: expected a triangle mesh, found a {type(mesh).__name__}; choose a surface mesh"
        )
    if _lengths_misread(mesh):  # mixed sizes whose bytes happened to fit one list length
        mixed = read_mixed_ply(data)
        if mixed is not None:
            return mixed
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces, sizes = _ply_faces_in_file_order(mesh)
    n_polygons = int((sizes > 3).sum())
    notes = []
    if n_polygons:
        notes.append(f"{n_polygons} polygon(s) with more than 3 corners were split into triangles")
    uv = face_uv = None
    visual_uv = getattr(mesh.visual, "uv", None)
    if visual_uv is not None and len(visual_uv) == len(vertices):
        uv = np.asarray(visual_uv, dtype=np.float64)
        face_uv = faces.copy()
    return vertices, faces, uv, face_uv, notes, ObjLayout(sizes)


def _ply_vertex_count(data: bytes) -> int | None:
    """``N`` of the header line ``element vertex N`` (None when absent or unreadable)."""
    end = data.find(b"end_header", 0, 65536)
    for line in data[: end if end > 0 else 65536].splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == b"element" and parts[1] == b"vertex":
            try:
                return int(parts[2])
            except ValueError:
                return None
    return None


def _ply_faces_in_file_order(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Faces as listed in the file, polygons fan-triangulated like OBJ, and the corner count
    of each polygon (P,).

    trimesh moves triangles before triangulated polygons when a PLY mixes them, so the raw face
    lists it keeps in ``metadata['_ply_raw']`` are used when present (falls back to ``faces``).
    """
    lists = _raw_face_lists(mesh)
    if lists is None or (lists.dtype != object and lists.ndim == 2 and lists.shape[1] == 3):
        tris = np.asarray(mesh.faces if lists is None else lists, dtype=np.int64).reshape(-1, 3)
        return tris, np.full(len(tris), 3, np.int64)
    if lists.dtype != object and lists.ndim == 2:
        polys = [list(row) for row in lists]
    else:
        polys = [list(np.ravel(row)) for row in lists]
    polys = [p for p in polys if len(p) >= 3]
    tris = [t for poly in polys for t in _fan([int(i) for i in poly])]
    sizes = np.array([len(p) for p in polys], np.int64)
    return np.array(tris, dtype=np.int64).reshape(-1, 3), sizes


def _lengths_misread(mesh) -> bool:
    """True when trimesh read a binary PLY's face lists with one length but their own counts
    differ (it takes the first face's count for all when the byte total allows it)."""
    try:
        raw = mesh.metadata["_ply_raw"]["face"]["data"]
        name = "vertex_indices" if "vertex_indices" in raw.dtype.names else "vertex_index"
        rec = raw[name]
        if not rec.dtype.names or len(rec.dtype.names) < 2:
            return False
        counts, lists = rec[rec.dtype.names[0]], rec[rec.dtype.names[-1]]
        return bool((np.asarray(counts) != np.asarray(lists).shape[1]).any())
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        return False


def _raw_face_lists(mesh) -> np.ndarray | None:
    """The per-face index lists trimesh read from the PLY, or None if its layout is unknown."""
    try:
        raw = mesh.metadata["_ply_raw"]["face"]["data"]
        if isinstance(raw, dict):  # ASCII or variable-length binary: {"vertex_indices": lists}
            lists = raw.get("vertex_indices", raw.get("vertex_index"))
        else:  # fixed-length binary: structured array with (count, indices) records
            name = "vertex_indices" if "vertex_indices" in raw.dtype.names else "vertex_index"
            lists = raw[name]
            if lists.dtype.names:
                lists = lists[lists.dtype.names[-1]]
        lists = np.asarray(lists)
        if lists.dtype == object or (lists.ndim == 2 and lists.dtype.kind in "iu"):
            return lists
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        pass
    return None


# ---------------------------------------------------------------------------------- topology
def check_topology(
    mesh_or_vertices: MeshData | np.ndarray,
    template_faces: np.ndarray | None,
    n_vertices: int,
    *,
    template_name: str = "the model's template",
) -> None:
    """Raise :class:`core.errors.TopologyMismatchError` unless a mesh has the model's topology.

    Parameters
    ----------
    mesh_or_vertices : MeshData or (V, 3) array
        A loaded mesh (vertex count and faces are checked) or bare vertices (count only).
    template_faces : (F, 3) int or None
        The model's faces; ``None`` checks the vertex count only. A triangle whose corners are a
        cyclic rotation of the template's (same orientation) counts as equal.
    n_vertices : int
        The model's vertex count V.
    template_name : str
        How the message names the expected source, e.g. ``"the FLAME/CoMA template"``.
    """
    if isinstance(mesh_or_vertices, MeshData):
        vertices, faces = mesh_or_vertices.vertices, mesh_or_vertices.faces
    else:
        vertices, faces = np.asarray(mesh_or_vertices), None
    hint = f"load a mesh exported from {template_name} (same vertices, same order)"
    if vertices.ndim != 2 or vertices.shape[0] != n_vertices:
        found = vertices.shape[0] if vertices.ndim == 2 else f"shape {vertices.shape}"
        raise TopologyMismatchError(
            f"this face has {found} vertices but the model's topology has {n_vertices}; {hint}"
        )
    if faces is None or template_faces is None:
        return
    template_faces = np.asarray(template_faces)
    if faces.shape != template_faces.shape:
        raise TopologyMismatchError(
            f"this face has {len(faces)} triangles but the model's topology has "
            f"{len(template_faces)}; {hint}"
        )
    if np.array_equal(faces, template_faces):
        return
    same = (_canonical(faces) == _canonical(template_faces)).all(axis=1)
    if not same.all():
        k = int(np.argmin(same))
        raise TopologyMismatchError(
            f"this face has the model's {n_vertices} vertices but different triangles (first at "
            f"triangle {k}: {faces[k].tolist()} instead of {template_faces[k].tolist()}), so its "
            f"vertices were probably reordered by the program that saved it; {hint}, with vertex "
            "merging/reordering turned off"
        )


def _canonical(faces: np.ndarray) -> np.ndarray:
    """Rotate each triangle's corners so the smallest index comes first (orientation kept)."""
    shift = np.argmin(faces, axis=1)
    cols = (shift[:, None] + np.arange(3)[None, :]) % 3
    return np.take_along_axis(faces, cols, axis=1)


# ---------------------------------------------------------------------------------- writing
def save_mesh(
    path: str | os.PathLike[str],
    vertices: np.ndarray,
    faces: np.ndarray,
    uv: np.ndarray | None = None,
    face_uv: np.ndarray | None = None,
    *,
    decimals: int = 6,
    layout: ObjLayout | None = None,
) -> None:
    """Write one mesh atomically as ``.obj`` (text, per-corner UVs) or ``.ply`` (binary).

    Parameters
    ----------
    path : str or PathLike
        Destination; the extension picks the format. An existing file is replaced atomically.
    vertices : (V, 3) float32 or float64
        Written in the given order (PLY keeps the dtype exactly; OBJ uses ``decimals``).
    faces : (F, 3) int
    uv, face_uv : (N_uv, 2) float and (F, 3) int, or None
        PLY stores one UV per vertex, so it needs ``face_uv == faces``; use OBJ for seams.
    decimals : int
        Digits after the decimal point in OBJ files.
    layout : ObjLayout or None
        The polygons behind ``faces`` (``MeshData.layout``): OBJ writes them with their
        ``usemtl``/``g``/``o``/``s`` lines (no ``mtllib``: materials are not copied), PLY a
        single-size polygon mesh (:func:`core.io.export_obj.encode_ply`).

    Raises
    ------
    core.errors.InvalidInputError
        Bad shapes, NaN/inf, out-of-range indices, unknown extension.
    core.errors.ExportError
        The file cannot be written (nothing is left behind).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SUPPORTED:
        raise InvalidInputError(
            f"cannot save {path}: expected a .obj or .ply file name, found '{suffix or 'none'}'; "
            "add one of these extensions"
        )
    vertices = as_vertices(vertices)
    faces = as_faces(faces, len(vertices))
    uv, face_uv = as_uv(uv, face_uv, len(faces))
    if layout is not None and (not layout.fits(faces) or layout.trivial):
        layout = None
    if suffix == ".obj":
        data = ObjEncoder(faces, uv, face_uv, decimals=decimals, layout=layout).encode(vertices)
    else:
        sizes = None if layout is None else layout.sizes
        data = encode_ply(vertices, faces, per_vertex_uv(uv, face_uv, faces, len(vertices)), sizes)
    atomic_write_bytes(path, data)
