"""The vectorised OBJ parser (:mod:`core.io.obj_fast`) gives exactly what the streaming reader
gives (vertices, faces, UVs, notes, polygons, materials), and hands back (None) every file it does
not parse the same way, so the streaming reader reads it and words its errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from core.errors import MeshFormatError
from core.io.mesh_io import load_mesh
from core.io.obj_fast import MIN_FAST_BYTES, read_obj_fast
from core.io.obj_reader import read_obj

P = Path("face.obj")


def _stream(text: bytes, max_vertices=None):
    return read_obj(P, io.BufferedReader(io.BytesIO(text)), max_vertices)


def _assert_same(a, b):
    for x, y in zip(a[:4], b[:4], strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    assert a[4] == b[4]  # notes
    la, lb = a[5], b[5]
    np.testing.assert_array_equal(la.sizes, lb.sizes)
    assert (la.mtllib, la.marks, la.folder) == (lb.mtllib, lb.marks, lb.folder)


def _obj(corner: str, rng, n=30, crlf=False) -> bytes:
    v = rng.normal(size=(n, 3)) * 10 ** rng.uniform(-3, 2, (n, 1))
    lines = ["# random", "mtllib a.mtl b.mtl", "o thing"]
    lines += ["v " + " ".join(repr(float(x)) for x in row) for row in v]  # 17 digits
    lines += [f"vt {s:.7f}\t{t:.7f}" for s, t in rng.uniform(size=(n, 2))]
    lines += ["vn 0 0 1", "g part one", "usemtl skin", "s 1"]
    for k in range(40):
        if k == 25:
            lines += ["usemtl eye", "", "# comment"]
        ids = rng.choice(n, rng.integers(3, 7), replace=False) + 1
        uvs = rng.integers(1, n + 1, len(ids))
        lines.append(
            "f\t" + " ".join(corner.format(v=a, t=b) for a, b in zip(ids, uvs, strict=True))
        )
    lines.append("g")
    return ("\r\n" if crlf else "\n").join(lines).encode() + b"\n"


@pytest.mark.parametrize("corner", ["{v}", "{v}/{t}", "{v}/{t}/{v}", "{v}//{v}"])
def test_fast_parse_equals_the_streaming_reader(corner):
    rng = np.random.default_rng(len(corner))
    for crlf in (False, True):
        text = _obj(corner, rng, crlf=crlf)
        fast = read_obj_fast(P, text, None, None)
        assert fast is not None
        _assert_same(fast, _stream(text))
    assert fast[3] is None if "{t}" not in corner else fast[3].shape == fast[1].shape


def test_vertex_colours_or_w_on_every_line_stay_on_the_fast_path():
    text = _obj("{v}/{t}", np.random.default_rng(1))
    lines = [ln + (b" 0.5 0.25 1" if ln.startswith(b"v ") else b"") for ln in text.split(b"\n")]
    coloured = b"\n".join(lines)
    fast = read_obj_fast(P, coloured, None, None)
    assert fast is not None
    _assert_same(fast, _stream(coloured))
    _assert_same(fast, _stream(text))  # the colours are not part of the positions


@pytest.mark.parametrize(
    "change",
    [
        (b"f\t", b"f -1 "),  # relative index
        (b"usemtl eye", b"f 0 1 2"),  # zero index (an error, worded by the streaming reader)
        (b"o thing", b"f 1/1 2/2 3/3\nf 1 2 3"),  # mixed corner forms
        (b"o thing", b"v 1 2 3 1"),  # one line with w, the others without
        (b"o thing", b"v 1 2 3 # a comment"),
        (b"o thing", b" v 1 2 3"),  # indented
        (b"o thing", b"v 1 2 \\\n3"),  # continued line
        (b"o thing", b"vt 0.5"),  # one UV value
        (b"o thing", b"vt nan 0"),  # damaged UVs are dropped by the streaming reader
        (b"o thing", b"v 1 2 x"),
        (b"\n", b"\r"),  # old Mac line ends
    ],
)
def test_what_the_fast_parser_does_not_handle_is_left_to_the_streaming_reader(change):
    text = _obj("{v}/{t}", np.random.default_rng(0)).replace(*change, 1)
    assert read_obj_fast(P, text, None, None) is None
    assert read_obj_fast(P, _obj("{v}", np.random.default_rng(0)), 10, None) is None  # > max


def test_a_large_file_loads_the_same_through_either_parser(tmp_path):
    n = 160  # a 160 x 160 grid of quads with UVs: about 2 MB
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    v = np.stack([x, y, np.sin(x * 3) * 0.1], -1).reshape(-1, 3)
    i = np.arange(n * n).reshape(n, n) + 1
    q = np.stack([i[:-1, :-1], i[:-1, 1:], i[1:, 1:], i[1:, :-1]], -1).reshape(-1, 4)
    text = "".join(f"v {a:.6f} {b:.6f} {c:.6f}\n" for a, b, c in v)
    text += "".join(f"vt {a:.6f} {b:.6f}\n" for a, b, _ in v)
    text += "usemtl skin\n" + "".join("f " + " ".join(f"{k}/{k}" for k in r) + "\n" for r in q)
    path = tmp_path / "grid.obj"
    path.write_text(text)
    assert path.stat().st_size > MIN_FAST_BYTES
    mesh = load_mesh(path)  # the fast path
    ref = _stream(text.encode())
    np.testing.assert_array_equal(mesh.vertices, ref[0])
    np.testing.assert_array_equal(mesh.faces, ref[1])
    np.testing.assert_array_equal(mesh.face_uv, ref[3])
    assert mesh.layout.marks == ((0, "usemtl skin"),) and mesh.n_faces == 2 * (n - 1) ** 2
    path.write_text(text + "f 1 2 0\n")  # a large damaged file: the streaming reader's message
    with pytest.raises(MeshFormatError, match="OBJ is 1-based"):
        load_mesh(path)
