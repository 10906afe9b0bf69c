"""A re-meshed copy of our template written as an OBJ of quads, pentagons and triangles with UVs,
two materials (``.mtl``) and a texture, for the tests of exports in the user's own layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_polygon_face", "f_lines", "tiny_png"]


def tiny_png() -> bytes:
    """A valid 2 x 2 RGB PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes([200, 150, 120] * 2) for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write_polygon_face(folder: Path, vertices: np.ndarray, faces: np.ndarray) -> list[list[int]]:
    """``folder/face.obj`` (+ ``face.mtl``, ``tex/skin.png``) from a :func:`core.fit.remesh.
    remesh_template` mesh; returns its polygons (0-based, file order).

    Every subdivided template triangle (a, b, c) with edge midpoints m0 (ab), m1 (bc), m2 (ca)
    becomes a pentagon (m0, b, m1, c, m2) + triangle (a, m0, m2) for every third triangle, else
    a quad (a, m0, m1, m2) + triangles (m0, b, m1) and (m2, m1, c); the surface is unchanged.
    """
    n = len(faces) // 4
    corner_a, corner_b, corner_c = faces[:n], faces[n : 2 * n], faces[2 * n : 3 * n]
    a, m0, m2 = corner_a.T
    b, m1, c = corner_b[:, 1], corner_b[:, 2], corner_c[:, 2]
    polys = []
    for k in range(n):
        if k % 3 == 0:
            polys += [[m0[k], b[k], m1[k], c[k], m2[k]], [a[k], m0[k], m2[k]]]
        else:
            polys += [[a[k], m0[k], m1[k], m2[k]], [m0[k], b[k], m1[k]], [m2[k], m1[k], c[k]]]
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    uv = (vertices[:, :2] - lo[:2]) / (hi[:2] - lo[:2])  # (V, 2) one vt per vertex
    lines = ["# test face", "mtllib face.mtl", "o scan"]
    lines += [f"v {x:.9f} {y:.9f} {z:.9f}" for x, y, z in vertices]
    lines += [f"vt {s:.6f} {t:.6f}" for s, t in uv]
    lines += ["g skin", "usemtl skin"]
    for k, p in enumerate(polys):
        if k == len(polys) // 2:
            lines.append("usemtl lips")
        lines.append("f " + " ".join(f"{i + 1}/{i + 1}" for i in p))
    (folder / "face.obj").write_text("\n".join(lines) + "\n")
    (folder / "tex").mkdir(exist_ok=True)
    (folder / "tex" / "skin.png").write_bytes(tiny_png())
    (folder / "face.mtl").write_text(
        "newmtl skin\nKd 0.8 0.6 0.5\nmap_Kd tex/skin.png\nnewmtl lips\nKd 0.7 0.3 0.3\n"
    )
    return [[int(i) for i in p] for p in polys]


def f_lines(text: str) -> list[list[int]]:
    """0-based vertex ids of every ``f`` line of an OBJ text."""
    return [
        [int(c.split("/")[0]) - 1 for c in line.split()[1:]]
        for line in text.splitlines()
        if line.startswith("f ")
    ]
