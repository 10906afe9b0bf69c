"""Open any face mesh: OBJ/PLY through :mod:`core.io.mesh_io`, GLB/glTF/STL through trimesh.

The file's vertex order is kept (``process=False``); polygons are fan-triangulated; all pieces of
a glTF scene are concatenated in node order (the first mesh only with ``mesh_index=0``). STL has no
shared vertices, so its "vertices" are the triangle corners (outputs keep that layout).
A glTF/GLB piece's material (base colour, base-colour texture) is kept in ``MeshData.layout``
(one ``usemtl`` mark per piece), so GLB exports carry it.
A mesh larger than :data:`MAX_VERTICES` is refused with a message to decimate it first.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, MeshFormatError
from core.io.mesh_io import MAX_MESH_BYTES, MeshData, load_mesh, mesh_warnings
from core.io.obj_layout import MtlMaterial, ObjLayout
from core.io.safe_input import open_regular

__all__ = ["load_any_mesh", "MAX_VERTICES", "SUPPORTED"]

#: Meshes with more vertices are refused (fitting decimates internally; output keeps all).
MAX_VERTICES = 2_000_000
SUPPORTED = (".obj", ".ply", ".glb", ".gltf", ".stl")


def load_any_mesh(path: str | os.PathLike[str], *, mesh_index: int | None = None) -> MeshData:
    """Read a face mesh of any topology.

    Parameters
    ----------
    path : .obj, .ply, .glb, .gltf or .stl file
    mesh_index : int or None
        For glTF: take only this mesh of the scene (None = all meshes, concatenated).

    Returns
    -------
    MeshData with ``vertices (V, 3) float64`` in the file's order, ``faces (F, 3) int64``,
    UVs where the format has them, and notes.

    Raises
    ------
    MeshFormatError
        Unknown extension, unreadable file, NaN coordinates, no faces, more than
        :data:`MAX_VERTICES` vertices.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise MeshFormatError(
            f"{p}: expected a face mesh ({', '.join(SUPPORTED)}), found a "
            f"'{suffix or 'no'}' extension; convert the mesh to one of these formats"
        )
    try:  # a regular file only: a FIFO or device would block the readers below
        open_regular(p, MAX_MESH_BYTES * 2, "mesh file").close()
    except InvalidInputError as exc:
        raise MeshFormatError(str(exc)) from exc
    size = p.stat().st_size
    if size > MAX_MESH_BYTES * 2:
        raise MeshFormatError(
            f"{p}: {size / 2**20:.0f} MB is too large (at most {2 * MAX_MESH_BYTES // 2**20} MB);"
            " decimate the scan to under 2 million vertices first"
        )
    n_quick = _quick_vertex_count(p, suffix)
    if n_quick is not None and n_quick > MAX_VERTICES:
        _too_many(p, n_quick)
    if suffix in (".obj", ".ply"):
        mesh = load_mesh(p, max_bytes=MAX_MESH_BYTES * 2, max_vertices=MAX_VERTICES)
    else:
        mesh = _load_trimesh(p, suffix, mesh_index)
    if mesh.n_vertices > MAX_VERTICES:
        _too_many(p, mesh.n_vertices)
    return mesh


def _too_many(p: Path, n: int) -> None:
    raise MeshFormatError(
        f"{p} has {n:,} vertices; at most {MAX_VERTICES:,} are supported — decimate the scan "
        "first (e.g. Blender's Decimate modifier or MeshLab quadric edge collapse)"
    )


def _quick_vertex_count(p: Path, suffix: str) -> int | None:
    """Vertex count read cheaply before parsing (OBJ: 'v ' lines; PLY: its header), or None."""
    try:
        if suffix == ".obj":
            data = p.read_bytes()
            return data.count(b"\nv ") + data.startswith(b"v ")
        if suffix == ".ply":
            with open(p, "rb") as fh:
                for _ in range(64):
                    line = fh.readline()
                    if line.startswith(b"element vertex"):
                        return int(line.split()[2])
                    if line.strip() == b"end_header":
                        break
    except (OSError, ValueError, IndexError):
        return None
    return None


def _load_trimesh(p: Path, suffix: str, mesh_index: int | None) -> MeshData:
    import trimesh

    try:
        loaded = trimesh.load(str(p), process=False, maintain_order=True)
    except Exception as exc:  # trimesh raises many types on damaged input; all mean "damaged"
        raise MeshFormatError(
            f"{p}: cannot read it ({type(exc).__name__}: {exc}); re-export the mesh"
        ) from exc
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
    elif isinstance(loaded, trimesh.Trimesh):
        geoms = [loaded]
    else:
        geoms = []
    if not geoms:
        raise MeshFormatError(f"{p}: expected a triangle mesh, found none; choose a surface mesh")
    notes = []
    if mesh_index is not None:
        if not 0 <= mesh_index < len(geoms):
            raise MeshFormatError(
                f"{p} holds {len(geoms)} mesh(es); --mesh-index must be 0..{len(geoms) - 1}"
            )
        geoms = [geoms[mesh_index]]
    elif len(geoms) > 1:
        notes.append(f"{len(geoms)} meshes in the file were combined (pieces kept separate)")
    verts, faces, uvs, offset = [], [], [], 0
    for g in geoms:
        verts.append(np.asarray(g.vertices, float))
        faces.append(np.asarray(g.faces, np.int64) + offset)
        uv = getattr(g.visual, "uv", None)
        uvs.append(None if uv is None or len(uv) != len(g.vertices) else np.asarray(uv, float))
        offset += len(g.vertices)
    v = np.concatenate(verts)
    f = np.concatenate(faces)
    if not np.isfinite(v).all():
        bad = int((~np.isfinite(v).all(axis=1)).sum())
        raise MeshFormatError(
            f"{p}: expected finite coordinates, found {bad} vertex/vertices with NaN or inf; "
            "repair or re-export the mesh"
        )
    if len(v) < 3 or len(f) < 1:
        raise MeshFormatError(
            f"{p}: expected a surface mesh, found {len(v)} vertices and "
            f"{len(f)} faces; choose a surface mesh"
        )
    uv = face_uv = None
    if all(u is not None for u in uvs):
        uv, face_uv = np.concatenate(uvs), f.copy()
    notes.extend(mesh_warnings(v, f))
    return MeshData(v, f, uv, face_uv, tuple(notes), _gltf_layout(geoms, len(f)))


def _gltf_layout(geoms: list, n_faces: int) -> ObjLayout | None:
    """The pieces' materials (base colour and base-colour texture) as an :class:`ObjLayout`
    with one ``usemtl`` mark per piece, so GLB exports keep them; None without materials."""
    mats, marks, start, names = [], [], 0, set()
    for k, g in enumerate(geoms):
        m = getattr(g.visual, "material", None)
        if m is not None:
            name = str(getattr(m, "name", None) or f"material_{k}")
            while name in names:  # two pieces with different materials of one name
                name += f"_{k}"
            names.add(name)
            mats.append(MtlMaterial(name, _base_color(m), _base_texture(m)))
            marks.append((start, f"usemtl {name}"))
        start += len(g.faces)
    if not mats:
        return None
    return ObjLayout(np.full(n_faces, 3, np.int64), marks=tuple(marks), embedded=tuple(mats))


def _base_color(m) -> tuple[float, float, float] | None:
    """RGB in [0, 1] of a trimesh PBR material (baseColorFactor) or simple one (diffuse)."""
    c = getattr(m, "baseColorFactor", None)
    if c is None:
        c = getattr(m, "diffuse", None)
    if c is None:
        return None
    c = np.asarray(c, float).ravel()[:3]
    if c.max() > 1.0:  # trimesh keeps uint8 colours
        c = c / 255.0
    return tuple(float(x) for x in np.clip(c, 0.0, 1.0))


def _base_texture(m) -> tuple[bytes, str] | None:
    """The base-colour image as PNG bytes (re-encoded from the decoded image), or None."""
    img = getattr(m, "baseColorTexture", None)
    if img is None:
        img = getattr(m, "image", None)
    if img is None or not hasattr(img, "save"):
        return None
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue(), "image/png"
