"""A tiny orthographic z-buffer rasteriser (numpy only) used to place landmarks on a mesh.

The camera looks along +y (the anny head faces -y, z is up). Pixel (row, col) covers
x = x0 + col * res, z = z1 - row * res.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrontalRaster", "rasterize_front"]


@dataclass(frozen=True)
class FrontalRaster:
    """Result of :func:`rasterize_front`.

    Attributes
    ----------
    depth : (H, W) float64, y of the nearest surface (inf where empty).
    tri : (H, W) int64, index of the visible triangle (-1 where empty).
    x0, z1, res : grid origin (left, top) and pixel size in mesh units.
    """

    depth: np.ndarray
    tri: np.ndarray
    x0: float
    z1: float
    res: float

    def to_pixel(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns (int) of points given by x and z."""
        col = np.round((np.asarray(x) - self.x0) / self.res).astype(int)
        row = np.round((self.z1 - np.asarray(z)) / self.res).astype(int)
        return row, col

    def to_xz(self, row, col) -> tuple[np.ndarray, np.ndarray]:
        """Centres (x, z) of pixels."""
        return self.x0 + np.asarray(col) * self.res, self.z1 - np.asarray(row) * self.res


def rasterize_front(
    vertices: np.ndarray, faces: np.ndarray, res: float = 5e-4, margin: float = 2e-3
) -> FrontalRaster:
    """Rasterise a triangle mesh orthographically along +y.

    Parameters
    ----------
    vertices : (V, 3) float, faces : (F, 3) int.
    res : pixel size in mesh units.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    x0, z0 = v[:, 0].min() - margin, v[:, 2].min() - margin
    x1, z1 = v[:, 0].max() + margin, v[:, 2].max() + margin
    w = int(np.ceil((x1 - x0) / res)) + 1
    h = int(np.ceil((z1 - z0) / res)) + 1
    depth = np.full((h, w), np.inf)
    tri = np.full((h, w), -1, dtype=np.int64)
    px = (v[:, 0] - x0) / res  # column coordinate
    pz = (z1 - v[:, 2]) / res  # row coordinate
    for t, (a, b, c) in enumerate(f):
        xs = np.array([px[a], px[b], px[c]])
        zs = np.array([pz[a], pz[b], pz[c]])
        c0, c1 = int(np.floor(xs.min())), int(np.ceil(xs.max()))
        r0, r1 = int(np.floor(zs.min())), int(np.ceil(zs.max()))
        cols, rows = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
        det = (zs[1] - zs[2]) * (xs[0] - xs[2]) + (xs[2] - xs[1]) * (zs[0] - zs[2])
        if abs(det) < 1e-12:
            continue
        l0 = ((zs[1] - zs[2]) * (cols - xs[2]) + (xs[2] - xs[1]) * (rows - zs[2])) / det
        l1 = ((zs[2] - zs[0]) * (cols - xs[2]) + (xs[0] - xs[2]) * (rows - zs[2])) / det
        l2 = 1.0 - l0 - l1
        inside = (l0 >= -1e-9) & (l1 >= -1e-9) & (l2 >= -1e-9)
        if not inside.any():
            continue
        d = l0 * v[a, 1] + l1 * v[b, 1] + l2 * v[c, 1]
        rr, cc, dd = rows[inside], cols[inside], d[inside]
        closer = dd < depth[rr, cc]
        depth[rr[closer], cc[closer]] = dd[closer]
        tri[rr[closer], cc[closer]] = t
    return FrontalRaster(depth=depth, tri=tri, x0=x0, z1=z1, res=res)
