"""Binary PLY with polygons of mixed sizes (quads and triangles, as Blender writes them).

trimesh reads binary PLY only when every face list has the same length, so :func:`read_ply_polygons`
is the fallback :func:`core.io.mesh_io.load_mesh` uses: it reads the header, the vertex element
(scalar properties, as one numpy record array) and the face element record by record (its vertex
index list plus any scalar properties), and stops there. Vertex order and face order are the
file's.
"""

from __future__ import annotations

import struct

import numpy as np

from core.io.obj_layout import ObjLayout

__all__ = ["read_ply_polygons", "read_mixed_ply"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_UV_NAMES = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"))


def _header(data: bytes):
    """-> (byte order '<' or '>', [(element, count, [(name, type, list count type)])], body start)."""
    end = data.find(b"end_header")
    if end < 0:
        return None
    body = data.find(b"\n", end) + 1
    order, elements = None, []
    for raw in data[:end].decode("ascii", "replace").splitlines():
        p = raw.split()
        if not p:
            continue
        if p[0] == "format" and len(p) >= 2:
            order = {"binary_little_endian": "<", "binary_big_endian": ">"}.get(p[1])
        elif p[0] == "element" and len(p) == 3:
            elements.append((p[1], int(p[2]), []))
        elif p[0] == "property" and elements:
            if p[1] == "list" and len(p) == 5:
                elements[-1][2].append((p[4], _TYPES[p[3]], _TYPES[p[2]]))
            elif len(p) == 3:
                elements[-1][2].append((p[2], _TYPES[p[1]], None))
    return (order, elements, body) if order and body > 0 else None


def read_ply_polygons(data: bytes):
    """Binary PLY bytes -> (vertices (V, 3) float64, polygons list of index lists, uv (V, 2) or
    None), or None when the file is not a binary PLY this reader understands.

    Raises ValueError/KeyError/struct.error on damaged data (the caller words the message).
    """
    head = _header(data)
    if head is None:
        return None
    order, elements, pos = head
    vertices = uv = polygons = None
    for name, count, props in elements:
        if name == "vertex":
            if any(c is not None for _, _, c in props):
                return None
            dtype = np.dtype([(n, order + t) for n, t, _ in props])
            rec = np.frombuffer(data, dtype, count, pos)
            pos += dtype.itemsize * count
            vertices = np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float64)
            for a, b in _UV_NAMES:
                if a in rec.dtype.names and b in rec.dtype.names:
                    uv = np.stack([rec[a], rec[b]], axis=1).astype(np.float64)
                    break
        elif name == "face":
            polygons, pos = _faces(data, pos, count, props, order)
            break
        else:
            return None  # an element before the faces whose size is unknown here
    if vertices is None or polygons is None:
        return None
    return vertices, polygons, uv


def _faces(data: bytes, pos: int, count: int, props, order: str):
    """Face records from ``pos``: (list of index lists, position after the last record)."""
    lists = [p for p in props if p[2] is not None]
    if len(lists) != 1 or lists[0][0] not in ("vertex_indices", "vertex_index"):
        raise ValueError("expected one vertex_indices list per face")
    steps = []  # per property: ("list", count struct, item dtype) or ("skip", size)
    for _, t, c in props:
        if c is None:
            steps.append(("skip", np.dtype(t).itemsize))
        else:
            steps.append(("list", struct.Struct(order + np.dtype(c).char), np.dtype(order + t)))
    polygons = []
    for _ in range(count):
        for step in steps:
            if step[0] == "skip":
                pos += step[1]
                continue
            (n,) = step[1].unpack_from(data, pos)
            pos += step[1].size
            idx = np.frombuffer(data, step[2], n, pos)
            pos += n * step[2].itemsize
            polygons.append(idx.tolist())
    return polygons, pos


def read_mixed_ply(data: bytes):
    """:func:`read_ply_polygons` in :func:`core.io.mesh_io.load_mesh`'s terms: (vertices, fan
    triangles (F, 3), uv, face_uv, notes, ObjLayout), or None when this reader cannot read it."""
    try:
        read = read_ply_polygons(data)
    except (ValueError, KeyError, IndexError, struct.error):
        return None
    if read is None:
        return None
    vertices, polys, uv = read
    polys = [p for p in polys if len(p) >= 3]
    tris = np.array(
        [(p[0], p[i], p[i + 1]) for p in polys for i in range(1, len(p) - 1)], np.int64
    ).reshape(-1, 3)
    sizes = np.array([len(p) for p in polys], np.int64)
    n_polygons = int((sizes > 3).sum())
    notes = [f"{n_polygons} polygon(s) with more than 3 corners were split into triangles"]
    face_uv = None if uv is None else tris.copy()
    return vertices, tris, uv, face_uv, notes[: bool(n_polygons)], ObjLayout(sizes)
