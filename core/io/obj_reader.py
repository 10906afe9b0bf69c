"""Streaming Wavefront OBJ reader: ``v``, ``vt`` and ``f`` lines, vertex order kept exactly.

The file is read line by line from an open binary handle; coordinates go straight into compact
``array('d')`` / ``array('q')`` buffers (8 bytes per number, no per-line Python objects kept), so
memory grows with the mesh, not with the text. ``max_vertices`` stops the read at the first
vertex beyond the limit: a 1,000,000-vertex file offered where a 4,312-vertex face is expected is
refused after reading a few hundred kilobytes. Polygons are fan-triangulated in file order:
``(p0, p1, p2), (p0, p2, p3), ...``.
"""

from __future__ import annotations

import io
import os
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.errors import MeshFormatError
from core.io.obj_fast import MIN_FAST_BYTES, read_obj_fast
from core.io.obj_layout import ObjLayout

__all__ = ["read_obj", "MAX_TRIANGLES_PER_VERTEX"]

#: With ``max_vertices`` set, more triangles than this many per allowed vertex are refused too
#: (a closed triangle mesh has about 2 per vertex; 8 leaves room for polygons and duplicates).
MAX_TRIANGLES_PER_VERTEX = 8
#: Lines kept in their place between the faces (materials, groups, objects, smoothing).
_MARKS = (b"usemtl", b"g", b"o", b"s")


def _lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of an OBJ, joining ``\\``-continued lines; CR, LF or CRLF endings."""
    pending = b""
    start = 0
    lineno = 0
    for chunk in fh:
        for line in chunk.splitlines():
            lineno += 1
            if not pending:
                start = lineno
            if line.endswith(b"\\"):
                pending += line[:-1] + b" "
                continue
            yield start, pending + line
            pending = b""
    if pending:
        yield start, pending


def read_obj(path: Path, fh: BinaryIO, max_vertices: int | None = None):
    """Parse an OBJ from ``fh`` -> (vertices (V, 3) float64, faces (F, 3) int64, uv (N, 2) or None,
    face_uv (F, 3) or None, notes list of str,
    layout :class:`~core.io.obj_layout.ObjLayout`: polygons, ``mtllib`` and ``usemtl`` lines).

    Raises
    ------
    MeshFormatError
        Binary data, bad vertex/face lines, 0-based indices, or more than ``max_vertices``
        vertices (checked while reading, before the rest of the file is parsed).
    """
    head = fh.peek(4096)[:4096] if hasattr(fh, "peek") else b""
    if b"\x00" in head:
        raise MeshFormatError(
            f"{path}: expected a text Wavefront OBJ, found binary data; the file is damaged or "
            "not an OBJ — choose an OBJ or PLY mesh"
        )
    max_tris = None if max_vertices is None else MAX_TRIANGLES_PER_VERTEX * max_vertices + 16
    size = _size(fh)
    if size is not None and size >= MIN_FAST_BYTES and hasattr(fh, "read"):
        data = fh.read()  # a large file: parse it vectorised, else stream it (same result)
        fast = read_obj_fast(path, data, max_vertices, max_tris)
        if fast is not None:
            return fast
        fh = io.BytesIO(data)
    pos, tex = array("d"), array("d")
    tris, tri_uv, sizes = array("q"), array("q"), array("q")
    mtllib: list[str] = []
    marks: list[tuple[int, str]] = []
    n_v = n_vt = n_uv_faces = n_polygons = n_tris = 0
    for lineno, line in _lines(fh):
        parts = line.split()
        if not parts:
            continue
        tag = parts[0]
        if tag == b"v":
            if len(parts) < 4:
                raise MeshFormatError(
                    f"{path}, line {lineno}: expected a vertex 'v x y z', found "
                    f"{len(parts) - 1} coordinate(s) ('{_show(line)}'); re-export the mesh with "
                    "3-D vertex positions"
                )
            try:
                pos.extend((float(parts[1]), float(parts[2]), float(parts[3])))
            except ValueError as exc:
                raise MeshFormatError(
                    f"{path}: expected numeric vertex coordinates, found "
                    f"'v {_show(b' '.join(parts[1:4]))}'; the file is damaged — re-export it"
                ) from exc
            n_v += 1
            if max_vertices is not None and n_v > max_vertices:
                raise MeshFormatError(
                    f"{path}: expected at most {max_vertices} vertices, found more (stopped "
                    f"reading at line {lineno}); use a mesh of the model's topology or "
                    "decimate the scan first"
                )
        elif tag == b"vt":
            uv = (parts[1:3] + [b"0", b"0"])[:2]
            try:
                tex.extend((float(uv[0]), float(uv[1])))
            except ValueError:
                tex.extend((np.nan, np.nan))  # damaged UVs are dropped after reading
            n_vt += 1
        elif tag == b"f":
            verts, uvs = _parse_face(path, lineno, parts[1:], n_v, n_vt)
            if len(verts) > 3:
                n_polygons += 1
            sizes.append(len(verts))
            for a, b in zip(verts[1:-1], verts[2:], strict=True):
                tris.extend((verts[0], a, b))
            n_tris += len(verts) - 2
            if max_tris is not None and n_tris > max_tris:
                raise MeshFormatError(
                    f"{path}: expected at most {max_tris} triangles for {max_vertices} vertices, "
                    f"found more (stopped reading at line {lineno}); the file is damaged"
                )
            if uvs is not None:
                n_uv_faces += 1
                for a, b in zip(uvs[1:-1], uvs[2:], strict=True):
                    tri_uv.extend((uvs[0], a, b))
        elif tag == b"mtllib":
            mtllib.extend(_text(x) for x in parts[1:])
        elif tag in _MARKS:
            marks.append((len(sizes), _text(b" ".join(parts))))
    if not n_v:
        raise MeshFormatError(
            f"{path}: expected Wavefront OBJ vertex lines ('v x y z'), found none; the file is "
            "empty or not an OBJ mesh — choose another file"
        )
    vertices = np.frombuffer(pos, dtype=np.float64).reshape(-1, 3).copy()
    faces = np.frombuffer(tris, dtype=np.int64).reshape(-1, 3).copy()
    notes = []
    if n_polygons:
        notes.append(f"{n_polygons} polygon(s) with more than 3 corners were split into triangles")
    uv = face_uv = None
    if len(tri_uv) and len(tri_uv) == len(tris):
        uv = np.frombuffer(tex, dtype=np.float64).reshape(-1, 2).copy()
        face_uv = np.frombuffer(tri_uv, dtype=np.int64).reshape(-1, 3).copy()
        if not np.isfinite(uv).all():
            uv = face_uv = None
            notes.append("texture coordinates are not numeric and have been ignored")
    elif n_uv_faces:
        notes.append("only some faces have texture coordinates; UVs have been ignored")
    layout = ObjLayout(
        np.frombuffer(sizes, dtype=np.int64).copy(),
        tuple(mtllib),
        tuple(marks),
        str(path.absolute().parent),
    )
    return vertices, faces, uv, face_uv, notes, layout


def _size(fh: BinaryIO) -> int | None:
    """Bytes left in ``fh`` (a regular file), or None when unknown."""
    try:
        return os.fstat(fh.fileno()).st_size - fh.tell()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _show(text: bytes) -> str:
    return text.decode("latin-1").strip()[:60]


def _parse_face(path: Path, lineno: int, tokens: list[bytes], n_v: int, n_vt: int):
    """One ``f`` line -> 0-based vertex indices and (if every corner has one) UV indices."""
    if len(tokens) < 3:
        raise MeshFormatError(
            f"{path}, line {lineno}: expected a face with at least 3 corners, found "
            f"{len(tokens)}; the file is damaged — re-export it"
        )
    verts, uvs = [], []
    for token in tokens:
        fields = token.split(b"/")
        try:
            vi = int(fields[0])
            ti = int(fields[1]) if len(fields) > 1 and fields[1] else None
        except ValueError as exc:
            raise MeshFormatError(
                f"{path}, line {lineno}: expected face corners like '3', '3/7' or '3/7/2', found "
                f"'{_show(token)}'; the file is damaged — re-export it"
            ) from exc
        verts.append(_resolve(path, lineno, vi, n_v, "vertex"))
        if ti is not None:
            uvs.append(_resolve(path, lineno, ti, n_vt, "texture coordinate"))
    return verts, (uvs if len(uvs) == len(verts) else None)


def _resolve(path: Path, lineno: int, index: int, count: int, what: str) -> int:
    """OBJ index (1-based, or negative = relative to the items read so far) -> 0-based."""
    if index > 0:
        return index - 1
    if index < 0:
        return count + index  # out-of-range results are caught by the range checks
    raise MeshFormatError(
        f"{path}, line {lineno}: expected {what} indices starting at 1 (OBJ is 1-based), found "
        "0; the file was written by a broken exporter — re-export it"
    )
