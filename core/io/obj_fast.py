"""Vectorised Wavefront OBJ parsing for large regular files (scans of 100k-2M vertices).

:func:`read_obj_fast` parses the whole text with numpy: lines are classified by their first
bytes, every ``v`` (``vt``) line must have the same number of values and every ``f`` corner the
same form (``a``, ``a/b``, ``a/b/c`` or ``a//c``), so each kind of line is converted by one
``np.fromstring`` call over the runs of such lines (a sentinel marks where each line starts). It gives exactly what :func:`core.io.obj_reader.read_obj` gives (same
arrays, notes and layout) and returns None for anything it does not handle the same way —
continued lines, indented tags, relative or zero indices, mixed corner forms, non-numeric fields,
too many vertices — so the streaming reader then parses the file (and words its errors).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from core.io.obj_layout import ObjLayout

__all__ = ["read_obj_fast", "MIN_FAST_BYTES"]

#: Smaller files are read by the streaming parser (the fast path pays off above ~1 MB).
MIN_FAST_BYTES = 1 << 20
_MARK_TAGS = (b"usemtl", b"g", b"o", b"s")


def _parse(text: bytes, dtype) -> np.ndarray | None:
    """Whitespace-separated numbers -> 1-D array, or None when any field is not a number."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (and stops) at the first bad field
        try:
            return np.fromstring(text, dtype=dtype, sep=" ")
        except (ValueError, DeprecationWarning):
            return None


def _runs(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray, data: bytes) -> bytes:
    """The text of the lines where ``mask (L,)`` holds, runs of neighbouring lines sliced at once,
    joined by newlines."""
    m = mask.astype(np.int8)
    edge = np.diff(m, prepend=0, append=0)  # (L + 1,)
    first, last = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1) - 1
    return b"\n".join([data[starts[i] : ends[j]] for i, j in zip(first, last, strict=True)])


def _vertex_rows(vtext: bytes, n_v: int) -> np.ndarray | None:
    """``v`` lines -> (V, 3) float64: x y z of lines that all have the same number (>= 3) of
    values (``w`` or vertex colours after them are ignored, as the streaming reader does)."""
    values = _parse(vtext.replace(b"v", b" -inf "), np.float64)  # -inf marks each line's start
    if values is None:
        return None
    heads = np.flatnonzero(np.isneginf(values))
    if len(heads) != n_v or heads[0] != 0:
        return None
    widths = np.diff(heads, append=len(values)) - 1  # (V,) values per line
    if widths[0] < 3 or (widths != widths[0]).any():
        return None
    return np.delete(values, heads).reshape(n_v, int(widths[0]))[:, :3].copy()


def _face_corners(ftext: bytes, n_lines: int):
    """``f`` lines' text -> (sizes (P,), vertex ids (C,), uv ids (C,) or None), 1-based; or None."""
    if b"-" in ftext or b"#" in ftext:
        return None  # relative indices or comments: the streaming reader handles them
    first = ftext[: ftext.find(b"\n") % (len(ftext) + 1)].split()[1]
    slashes, double = first.count(b"/"), b"//" in first
    k = 1 + slashes - double  # fields per corner
    text = ftext.replace(b"//", b" ").replace(b"/", b" ").replace(b"f", b" -1 ")
    values = _parse(text, np.int64)
    if values is None:
        return None
    heads = np.flatnonzero(values == -1)  # (P,) one sentinel before each line
    if len(heads) != n_lines or (n_lines and heads[0] != 0):
        return None
    n_fields = np.diff(heads, append=len(values)) - 1  # (P,)
    sizes = n_fields // k
    n_corners = int(sizes.sum())
    if (sizes * k != n_fields).any() or (sizes < 3).any():
        return None
    if ftext.count(b"/") != slashes * n_corners or ftext.count(b"//") != double * n_corners:
        return None  # mixed corner forms
    idx = np.delete(values, heads)
    if (idx <= 0).any():
        return None  # zero indices: the streaming reader words the error
    idx = idx.reshape(n_corners, k)
    return sizes, idx[:, 0], (idx[:, 1] if k >= 2 and not double else None)


def _fan(corners: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Polygons (corners (C,), sizes (P,)) -> fan triangles (F, 3) in file order."""
    n_tri = sizes - 2
    owner = np.repeat(np.arange(len(sizes)), n_tri)  # (F,)
    j = np.arange(int(n_tri.sum())) - np.repeat(np.cumsum(n_tri) - n_tri, n_tri) + 1
    start = (np.cumsum(sizes) - sizes)[owner]
    return np.stack([corners[start], corners[start + j], corners[start + j + 1]], axis=1)


def read_obj_fast(path: Path, data: bytes, max_vertices: int | None, max_tris: int | None):
    """Parse OBJ bytes like :func:`core.io.obj_reader.read_obj`, or None (see module docstring)."""
    if b"\x00" in data[:4096] or b"\\\n" in data or b"\\\r" in data:
        return None
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
        if b"\r" in data:
            return None  # old Mac line ends
    if data[:1] in (b" ", b"\t") or b"\n " in data or b"\n\t" in data:
        return None  # indented tags
    arr = np.frombuffer(data + b"\n\n\n", np.uint8)
    nl = np.flatnonzero(arr[: len(data)] == 10)
    starts = np.concatenate([[0], nl + 1])  # (L,) line starts
    ends = np.concatenate([nl, [len(data)]])  # (L,) line ends (exclusive)
    c0, c1, c2 = arr[starts], arr[starts + 1], arr[starts + 2]
    blank1, blank2 = (c1 == 32) | (c1 == 9), (c2 == 32) | (c2 == 9)
    is_v = (c0 == ord("v")) & blank1
    is_vt = (c0 == ord("v")) & (c1 == ord("t")) & blank2
    is_f = (c0 == ord("f")) & blank1
    n_v, n_vt, n_f = int(is_v.sum()), int(is_vt.sum()), int(is_f.sum())
    if not n_v or (max_vertices is not None and n_v > max_vertices):
        return None
    vertices = _vertex_rows(_runs(is_v, starts, ends, data), n_v)
    if vertices is None:
        return None  # short lines, comments, -inf: the streaming reader handles them
    uv_all = None
    if n_vt:
        uv_all = _parse(_runs(is_vt, starts, ends, data).replace(b"vt", b"  "), np.float64)
        if uv_all is None or len(uv_all) != 2 * n_vt or not np.isfinite(uv_all).all():
            return None  # 'vt u' or 'vt u v w', or damaged UVs: streamed, filled or dropped
        uv_all = uv_all.reshape(n_vt, 2)
    uv = face_uv = None
    if not n_f:
        faces, sizes = np.zeros((0, 3), np.int64), np.zeros(0, np.int64)
    else:
        parsed = _face_corners(_runs(is_f, starts, ends, data), n_f)
        if parsed is None:
            return None
        sizes, corners, uv_corners = parsed
        faces = _fan(corners - 1, sizes)
        if max_tris is not None and len(faces) > max_tris:
            return None
        if uv_corners is not None:
            if uv_all is None:
                return None
            uv, face_uv = uv_all, _fan(uv_corners - 1, sizes)
    notes: list[str] = []
    n_polygons = int((sizes > 3).sum())
    if n_polygons:
        notes.append(f"{n_polygons} polygon(s) with more than 3 corners were split into triangles")
    layout = _layout(path, data, starts, ends, c0, is_f, sizes)
    return vertices, faces, uv, face_uv, notes, layout


def _layout(path, data, starts, ends, c0, is_f, sizes) -> ObjLayout:
    """``mtllib`` names and the ``usemtl``/``g``/``o``/``s`` lines with their polygon index."""
    mtllib, marks = [], []
    f_before = np.cumsum(is_f)  # f lines up to and including each line
    maybe = np.flatnonzero(np.isin(c0, np.frombuffer(b"mugos", np.uint8)))
    for i in maybe:
        parts = data[starts[i] : ends[i]].split()
        if parts[0] == b"mtllib":
            mtllib.extend(x.decode("utf-8", "replace") for x in parts[1:])
        elif parts[0] in _MARK_TAGS:
            marks.append((int(f_before[i]), b" ".join(parts).decode("utf-8", "replace")))
    return ObjLayout(sizes, tuple(mtllib), tuple(marks), str(path.absolute().parent))
