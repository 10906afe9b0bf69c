"""A vectorised orthographic z-buffer rasteriser (numpy only) for face detection renders.

A :class:`View` is an orthographic camera: it looks along ``forward`` with ``up`` pointing to the
top of the image; image x (columns) runs along ``right = forward x up``, image y (rows) runs
down. :func:`render` returns the shaded grey image together with the visible triangle and its
barycentric coordinates per pixel, so a 2-D point found in the image can be lifted exactly onto
the surface (:func:`lift`): for an orthographic camera, that *is* ray casting.

Triangles are processed in chunks grouped by bounding-box size, all candidate pixels of a chunk at
once; the nearest candidate per pixel wins (``np.lexsort``), so there is no per-triangle loop.
Shapes: V vertices, F faces, H x W pixels, N query points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["View", "Render", "render", "lift", "vertex_normals"]

#: Candidate pixels evaluated per chunk (memory ~ 100 bytes each).
_CHUNK_CANDIDATES = 1_500_000
#: A pixel centre counts as inside a triangle down to this barycentric coordinate (closes seams).
_INSIDE_EPS = -1e-7


@dataclass(frozen=True)
class View:
    """An orthographic camera.

    Attributes
    ----------
    forward, up : (3,) float
        Viewing direction and image-up direction in mesh coordinates (orthonormalised on use).
    center : (3,) float
        Point imaged at the centre of the picture.
    extent : float
        Mesh units covered by the image width and height.
    size : int
        Image width = height in pixels.
    """

    forward: np.ndarray
    up: np.ndarray
    center: np.ndarray
    extent: float
    size: int = 384

    def axes(self) -> np.ndarray:
        """(3, 3) rows: right, up, forward (orthonormal, right-handed)."""
        f = np.asarray(self.forward, float)
        f = f / np.linalg.norm(f)
        u = np.asarray(self.up, float)
        u = u - f * (u @ f)
        u = u / np.linalg.norm(u)
        return np.stack([np.cross(f, u), u, f])

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (N, 3) -> pixel coordinates (N, 2) as (x right, y down) and depth (N,)."""
        local = (np.asarray(points, float) - self.center) @ self.axes().T  # (N, 3)
        scale = self.size / self.extent
        px = np.empty((len(local), 2))
        px[:, 0] = local[:, 0] * scale + self.size / 2
        px[:, 1] = -local[:, 1] * scale + self.size / 2
        return px, local[:, 2]


@dataclass(frozen=True)
class Render:
    """Result of :func:`render`.

    Attributes
    ----------
    image : (H, W, 3) uint8 RGB, tri : (H, W) int64 visible face (-1 = background),
    bary : (H, W, 3) float32 barycentric coordinates of the pixel centre, depth : (H, W)
    float32 distance along ``forward`` (inf = background), view : the camera.
    """

    image: np.ndarray
    tri: np.ndarray
    bary: np.ndarray
    depth: np.ndarray
    view: View

    @property
    def coverage(self) -> float:
        """Fraction of pixels showing the mesh."""
        return float((self.tri >= 0).mean())


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3) (zero for unreferenced vertices)."""
    v = np.asarray(vertices, float)
    tri = v[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (F, 3), length = 2 * area
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, norm, out=np.zeros_like(n), where=norm > 0)


def _rasterize(px: np.ndarray, depth: np.ndarray, faces: np.ndarray, size: int):
    """Z-buffer: tri (H, W) int64, bary (H, W, 3), depth (H, W) for projected vertices px (V, 2)."""
    corners = px[faces]  # (F, 3, 2)
    lo = np.floor(corners.min(axis=1) - 0.5).astype(np.int64) + 1  # first pixel centre inside
    hi = np.floor(corners.max(axis=1) - 0.5).astype(np.int64)
    lo, hi = np.clip(lo, 0, size - 1), np.clip(hi, 0, size - 1)
    span = hi - lo + 1  # (F, 2)
    x0, y0 = corners[:, 0, 0], corners[:, 0, 1]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = (span > 0).all(axis=1) & (np.abs(det) > 1e-12)
    ok &= (corners.max(axis=1) >= 0).all(axis=1) & (corners.min(axis=1) < size).all(axis=1)
    ids = np.flatnonzero(ok)
    ids = ids[np.argsort(span[ids, 0] * span[ids, 1], kind="stable")]
    pix_all, dep_all, tri_all, b_all = [], [], [], []
    start = 0
    while start < len(ids):
        # grow the chunk while the largest box times the count stays under the budget
        stop = start + 1
        while stop < len(ids):
            nxt = min(len(ids), stop + max(1, (stop - start)))
            big = int(span[ids[nxt - 1], 0] * span[ids[nxt - 1], 1])
            if big * (nxt - start) > _CHUNK_CANDIDATES:
                break
            stop = nxt
        chunk = ids[start:stop]
        wmax, hmax = int(span[chunk, 0].max()), int(span[chunk, 1].max())
        gx, gy = np.meshgrid(np.arange(wmax), np.arange(hmax))
        cx = lo[chunk, 0, None] + gx.ravel()[None]  # (n, wmax*hmax) pixel columns
        cy = lo[chunk, 1, None] + gy.ravel()[None]
        valid = (cx <= hi[chunk, 0, None]) & (cy <= hi[chunk, 1, None])
        dx, dy = cx + 0.5 - x0[chunk, None], cy + 0.5 - y0[chunk, None]
        d = det[chunk, None]
        b1 = (dx * e2[chunk, 1, None] - dy * e2[chunk, 0, None]) / d
        b2 = (e1[chunk, 0, None] * dy - e1[chunk, 1, None] * dx) / d
        b0 = 1.0 - b1 - b2
        inside = valid & (b0 >= _INSIDE_EPS) & (b1 >= _INSIDE_EPS) & (b2 >= _INSIDE_EPS)
        r, c = np.nonzero(inside)
        t = chunk[r]
        bb = np.stack([b0[r, c], b1[r, c], b2[r, c]], axis=1)
        dep_all.append((bb * depth[faces[t]]).sum(axis=1))
        pix_all.append(cy[r, c] * size + cx[r, c])
        tri_all.append(t)
        b_all.append(bb)
        start = stop
    tri = np.full(size * size, -1, dtype=np.int64)
    bary = np.zeros((size * size, 3), dtype=np.float32)
    zbuf = np.full(size * size, np.inf, dtype=np.float32)
    if pix_all:
        pix, dep = np.concatenate(pix_all), np.concatenate(dep_all)
        t, bb = np.concatenate(tri_all), np.concatenate(b_all)
        order = np.lexsort((dep, pix))
        first = order[np.r_[True, pix[order][1:] != pix[order][:-1]]]
        tri[pix[first]] = t[first]
        bary[pix[first]] = bb[first]
        zbuf[pix[first]] = dep[first]
    return tri.reshape(size, size), bary.reshape(size, size, 3), zbuf.reshape(size, size)


def render(
    vertices: np.ndarray,
    faces: np.ndarray,
    view: View,
    normals: np.ndarray | None = None,
    albedo: tuple[float, float, float] = (0.80, 0.66, 0.58),
    colors: np.ndarray | None = None,
) -> Render:
    """Shade a mesh seen by ``view``: two-sided Lambert lighting from the camera, smooth normals.

    Parameters
    ----------
    vertices : (V, 3) float, faces : (F, 3) int
    view : View
    normals : (V, 3) float or None
        Vertex normals (computed when None).
    albedo : RGB in [0, 1] of the surface.
    colors : (V, 3) float in [0, 1] or None
        Per-vertex colours (e.g. a heat map), interpolated over the triangles; replace albedo.
    """
    v = np.asarray(vertices, float)
    f = np.asarray(faces, np.int64)
    px, depth = view.project(v)
    tri, bary, zbuf = _rasterize(px, depth, f, view.size)
    n = vertex_normals(v, f) if normals is None else np.asarray(normals, float)
    axes = view.axes()
    light = -axes[2] + 0.35 * axes[1]  # from the camera, slightly from above
    light /= np.linalg.norm(light)
    hit = tri >= 0
    pn = (bary[hit, :, None] * n[f[tri[hit]]]).sum(axis=1)  # (P, 3)
    pn /= np.maximum(np.linalg.norm(pn, axis=1, keepdims=True), 1e-12)
    shade = 0.25 + 0.75 * np.abs(pn @ light)
    image = np.full((view.size, view.size, 3), 0.12)
    if colors is None:
        image[hit] = shade[:, None] * np.asarray(albedo)[None]
    else:
        col = (bary[hit, :, None] * np.asarray(colors, float)[f[tri[hit]]]).sum(axis=1)
        image[hit] = shade[:, None] * col
    return Render((image * 255).round().astype(np.uint8), tri, bary, zbuf, view)


def lift(
    rend: Render,
    vertices: np.ndarray,
    faces: np.ndarray,
    points: np.ndarray,
    depth_hint: np.ndarray | None = None,
):
    """Lift image points onto the surface along the viewing rays.

    A ray through a thin slit (a closed mouth, an eyelid crease) can pass the front surface and
    hit the inside of the head. With ``depth_hint`` (the detector's own relative depths, in units
    of the image width, smaller = nearer) such hits are found (their depth disagrees with the
    hint by more than ``max(4 MAD, 5 % of the view)`` after a robust offset) and replaced by the
    nearest pixel within 8 px whose depth agrees.

    Parameters
    ----------
    rend : Render of (vertices, faces)
    points : (N, 2) float pixel coordinates (x right, y down)
    depth_hint : (N,) float or None

    Returns
    -------
    xyz : (N, 3) float64 surface points (NaN where the ray misses the mesh)
    face : (N,) int64 hit face (-1 on a miss)
    """
    v = np.asarray(vertices, float)
    pts = np.asarray(points, float)
    px, _ = rend.view.project(v)
    size = rend.view.size
    xyz = np.full((len(pts), 3), np.nan)
    hit_face = np.full(len(pts), -1, dtype=np.int64)
    base = np.floor(pts).astype(np.int64)
    for i, (x, y) in enumerate(pts):
        best, best_out = None, np.inf
        for dy in (0, -1, 1, -2, 2):  # the pixel itself first, then its neighbourhood
            for dx in (0, -1, 1, -2, 2):
                r, c = base[i, 1] + dy, base[i, 0] + dx
                if not (0 <= r < size and 0 <= c < size) or rend.tri[r, c] < 0:
                    continue
                t = int(rend.tri[r, c])
                b = _bary2d(px[faces[t]], np.array([x, y]))
                out = -min(b.min(), 0.0)
                if out < best_out:
                    best, best_out = (t, b), out
                if out == 0.0:
                    break
            if best_out == 0.0:
                break
        if best is not None:
            t, b = best
            b = np.clip(b, 0.0, None)
            b /= b.sum()
            xyz[i] = b @ v[faces[t]]
            hit_face[i] = t
    if depth_hint is not None and (hit_face >= 0).sum() >= 3:
        _fix_slit_hits(rend, v, faces, pts, np.asarray(depth_hint, float), xyz, hit_face)
    return xyz, hit_face


def _fix_slit_hits(rend, v, faces, pts, hint, xyz, hit_face) -> None:
    """Replace hits whose depth disagrees with the detector's (in place; see :func:`lift`)."""
    view = rend.view
    hit = hit_face >= 0
    depth = np.full(len(pts), np.nan)
    depth[hit] = (xyz[hit] - view.center) @ view.axes()[2]
    pred = hint * view.extent
    offset = np.median(depth[hit] - pred[hit])
    resid = depth - pred - offset
    mad = np.median(np.abs(resid[hit]))
    tol = max(4.0 * mad, 0.05 * view.extent)
    bad = np.flatnonzero(hit & (np.abs(resid) > tol))
    zbuf = (rend.depth - 0.0).astype(float)
    rad = 8
    for i in bad:
        r0, c0 = int(pts[i, 1]), int(pts[i, 0])
        rs = slice(max(r0 - rad, 0), min(r0 + rad + 1, view.size))
        cs = slice(max(c0 - rad, 0), min(c0 + rad + 1, view.size))
        window = zbuf[rs, cs]
        ok = np.isfinite(window) & (np.abs(window - pred[i] - offset) <= tol)
        if not ok.any():
            continue
        rr, cc = np.nonzero(ok)
        rr, cc = rr + rs.start, cc + cs.start
        k = int(np.argmin((rr + 0.5 - pts[i, 1]) ** 2 + (cc + 0.5 - pts[i, 0]) ** 2))
        t = int(rend.tri[rr[k], cc[k]])
        xyz[i] = rend.bary[rr[k], cc[k]].astype(float) @ v[faces[t]]
        hit_face[i] = t


def _bary2d(tri2: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Barycentric coordinates (3,) of a 2-D point in a 2-D triangle (3, 2)."""
    e1, e2, d = tri2[1] - tri2[0], tri2[2] - tri2[0], p - tri2[0]
    det = e1[0] * e2[1] - e1[1] * e2[0]
    if abs(det) < 1e-12:
        return np.array([1.0, -1.0, -1.0])
    b1 = (d[0] * e2[1] - d[1] * e2[0]) / det
    b2 = (e1[0] * d[1] - e1[1] * d[0]) / det
    return np.array([1.0 - b1 - b2, b1, b2])
