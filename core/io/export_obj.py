"""Low-level per-frame mesh encoders: Wavefront OBJ text and binary PLY.

These functions trust their inputs (shapes, dtypes, finiteness and index ranges are checked by
the callers in :mod:`core.io.mesh_io` and :mod:`core.io.export`). Vertex order is written exactly as
given and never merged or reordered, so a frame written here reloads with identical indices.
``per_vertex_uv`` turns per-corner UVs into PLY's one-UV-per-vertex form (refusing UV seams).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import InvalidInputError
from core.io.obj_layout import ObjLayout, polygon_block, polygon_corners
from core.mesh.normals import vertex_normals

__all__ = ["ObjEncoder", "encode_ply", "per_vertex_uv"]


class ObjEncoder:
    """Encode frames that share one topology as OBJ bytes; the face block is built once.

    Parameters
    ----------
    faces : (F, 3) int64
        0-based triangle indices (written 1-based).
    uv : (N_uv, 2) float or None
        Texture coordinates, written as ``vt`` lines.
    face_uv : (F, 3) int64 or None
        0-based per-corner indices into ``uv``; with ``uv`` the faces are ``f a/ta b/tb c/tc``.
    decimals : int
        Digits after the decimal point of ``v``/``vt`` values (6 = micrometres for metres).
    normals : bool
        Also write one unit ``vn`` per vertex (area-weighted, :func:`core.mesh.normals.vertex_normals`), in vertex
        order, referenced by every corner (``f a//a`` or ``f a/ta/a``).
    layout : ObjLayout or None
        The user's polygons behind ``faces`` (:mod:`core.io.obj_layout`): written as those
        polygons, with their ``usemtl``/``g``/``o``/``s`` lines in place.
    mtllib : sequence of str
        ``mtllib`` names written at the top of every frame.
    """

    def __init__(
        self,
        faces: np.ndarray,
        uv: np.ndarray | None = None,
        face_uv: np.ndarray | None = None,
        *,
        decimals: int = 6,
        normals: bool = False,
        layout: ObjLayout | None = None,
        mtllib: Sequence[str] = (),
    ) -> None:
        self._v_fmt = f"v %.{decimals}f %.{decimals}f %.{decimals}f\n"
        self._faces = faces
        self._normals = normals
        self._mtl = "".join(f"mtllib {name}\n" for name in mtllib)
        tail = []
        has_uv = uv is not None and face_uv is not None
        if has_uv:
            tail.append(_rows(f"vt %.{decimals}f %.{decimals}f\n", uv))
        if layout is not None:
            tail.append(polygon_block(layout, faces, face_uv if has_uv else None, normals))
        elif has_uv and normals:  # vn i belongs to v i: f v/vt/vn with vn = v
            corners = np.stack([faces + 1, face_uv + 1, faces + 1], axis=-1)  # (F, 3, 3)
            tail.append(_rows("f %d/%d/%d %d/%d/%d %d/%d/%d\n", corners.reshape(len(faces), 9)))
        elif has_uv:
            corners = np.stack([faces + 1, face_uv + 1], axis=-1)  # (F, 3, 2)
            tail.append(_rows("f %d/%d %d/%d %d/%d\n", corners.reshape(len(faces), 6)))
        elif normals:
            corners = np.stack([faces + 1, faces + 1], axis=-1)  # (F, 3, 2)
            tail.append(_rows("f %d//%d %d//%d %d//%d\n", corners.reshape(len(faces), 6)))
        else:
            tail.append(_rows("f %d %d %d\n", faces + 1))
        self._tail = "".join(tail).encode("ascii")

    def encode(self, vertices: np.ndarray, comment: str | None = None) -> bytes:
        """OBJ bytes of one frame: optional comment, ``v`` lines (in order), then the face block.

        Parameters
        ----------
        vertices : (V, 3) float
            Positions in metres, in the template's vertex order.
        comment : str or None
            One line written as ``# comment`` at the top.
        """
        head = (f"# {comment}\n" if comment else "") + self._mtl
        v_block = _rows(self._v_fmt, vertices)
        if self._normals:
            n = vertex_normals(np.asarray(vertices)[None], self._faces)[0]  # (V, 3)
            v_block += _rows("vn %.6f %.6f %.6f\n", n)
        return (head + v_block).encode("ascii") + self._tail


def _rows(fmt: str, array: np.ndarray) -> str:
    """Format every row of a 2-D array with ``fmt`` (one ``%`` operation for the whole block)."""
    array = np.asarray(array)
    if len(array) == 0:
        return ""
    return (fmt * len(array)) % tuple(array.ravel().tolist())


def encode_ply(
    vertices: np.ndarray,
    faces: np.ndarray,
    uv: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
) -> bytes:
    """Binary little-endian PLY bytes of one triangle mesh.

    Parameters
    ----------
    vertices : (V, 3) float32 or float64
        Written as ``float`` for float32 input and ``double`` otherwise (exact round trip).
    faces : (F, 3) int64
        Written as ``list uchar int vertex_indices``.
    uv : (V, 2) float or None
        Per-vertex texture coordinates, written as ``s``/``t`` (PLY has no per-corner UVs).
    sizes : (P,) int or None
        Corner counts when ``faces`` are the fan triangulation of polygons
        (:func:`core.io.obj_layout.polygon_corners`): the polygons are written instead (up to
        255 corners each). trimesh cannot read mixed sizes back; :mod:`core.io.ply_binary` does.
    """
    real = "float" if vertices.dtype == np.float32 else "double"
    kind = "<f4" if real == "float" else "<f8"
    v_dtype = [("x", kind), ("y", kind), ("z", kind)]
    if uv is not None:
        v_dtype += [("s", "<f4"), ("t", "<f4")]
    v_rec = np.empty(len(vertices), dtype=v_dtype)
    v_rec["x"], v_rec["y"], v_rec["z"] = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    if uv is not None:
        v_rec["s"], v_rec["t"] = uv[:, 0], uv[:, 1]
    if sizes is None or (np.asarray(sizes) == 3).all() or np.max(sizes) > 255:
        f_rec = np.empty(len(faces), dtype=[("n", "u1"), ("idx", "<i4", (3,))])
        f_rec["n"] = 3
        f_rec["idx"] = faces
        face_bytes, n_faces = f_rec.tobytes(), len(faces)
    else:
        face_bytes, n_faces = _ply_polygons(faces, np.asarray(sizes, np.int64)), len(sizes)
    header = [
        "ply",
        "format binary_little_endian 1.0",
        "comment Sparse2Dense Studio (units and up axis: see manifest.json)",
        f"element vertex {len(vertices)}",
        f"property {real} x",
        f"property {real} y",
        f"property {real} z",
    ]
    if uv is not None:
        header += ["property float s", "property float t"]
    header += [
        f"element face {n_faces}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    return ("\n".join(header) + "\n").encode("ascii") + v_rec.tobytes() + face_bytes


def _ply_polygons(faces: np.ndarray, sizes: np.ndarray) -> bytes:
    """``list uchar int`` records of polygons of ``sizes`` (P,) (each at most 255 corners)."""
    corners = polygon_corners(faces, sizes).astype("<i4")  # (C,)
    rec_start = np.cumsum(1 + 4 * sizes) - (1 + 4 * sizes)  # (P,) byte offset of each record
    out = np.empty(int(len(sizes) + 4 * len(corners)), np.uint8)
    out[rec_start] = np.minimum(sizes, 255).astype(np.uint8)
    j = np.arange(len(corners)) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # corner in polygon
    pos = np.repeat(rec_start, sizes) + 1 + 4 * j  # (C,) byte offset of each index
    out[pos[:, None] + np.arange(4)] = corners.view(np.uint8).reshape(-1, 4)
    return out.tobytes()


def per_vertex_uv(
    uv: np.ndarray | None, face_uv: np.ndarray | None, faces: np.ndarray, n_vertices: int
) -> np.ndarray | None:
    """UVs as one row per vertex ``(V, 2)`` for PLY, or raise if the UVs have seams.

    Vertices used by no face get ``(0, 0)``.
    """
    if uv is None or face_uv is None:
        return None
    out = np.zeros((n_vertices, 2), dtype=np.float64)
    out[faces.ravel()] = uv[face_uv.ravel()]
    if not np.array_equal(out[faces], uv[face_uv]):
        raise InvalidInputError(
            "PLY stores one texture coordinate per vertex, but these UVs have seams (a vertex "
            "has different UVs in different faces); export as OBJ to keep them, or pass uv=None"
        )
    return out
