"""A small numpy renderer for videos from the command line (no OpenGL, no display, no VTK).

The studio renders its videos from the viewport; ``generate``/``interpolate --format mp4|gif``
have no window, so they shade the face here: an orthographic front view (the app's frame: the
face looks towards -y, z up), a z-buffer filled with every pixel centre inside each triangle's
bounding box (triangles grouped by box size, so it is a few array operations per frame), normals
interpolated from the vertex normals, a key and a fill light and a little specular. Given the
mouth's inner lip contour, what shows through the open mouth darkens with its depth behind the
lips (the studio closes the mouth with a dark throat plane; here long triangles of the mouth bag
would carry the lip colour deep inside). Given a :class:`core.mesh.face_parts.TeethRig`, the
teeth (the studio's, upper with the skull, lower with the jaw) are drawn into the same z-buffer,
so the lips hide them, off-white and darkening with their depth behind the lips.

Shapes: T frames, V vertices, F faces, H x W pixels.
"""

from __future__ import annotations

import numpy as np

from core.errors import InvalidInputError
from core.glossary import INNER_LIPS
from core.mesh.face_parts import TOOTH_RGB
from core.mesh.normals import VertexNormals

__all__ = [
    "BACKGROUND_RGB",
    "SKIN_RGB",
    "face_colors",
    "mouth_contour",
    "mouth_teeth",
    "render_frames",
]

BACKGROUND_RGB = (44, 49, 57)  # the studio's background
SKIN_RGB = (222, 179, 153)
#: Lights as (direction towards the light in view coordinates x right, y up, z to the viewer;
#: intensity): a key light above left and a fill from the right.
_LIGHTS = (((-0.5, 0.55, 1.0), 0.8), ((0.8, -0.1, 1.0), 0.35))
_AMBIENT, _SPECULAR, _SHININESS = 0.12, 0.18, 18.0
#: Inside the mouth: depths behind the inner lips over which a surface goes from the colour just
#: behind the lips to the throat's, as fractions of the inner lip contour's width (0.042 m on
#: the shipped face: 3 and 14 mm, core.mesh.albedo.INTERIOR_DEPTH).
_MOUTH_DEPTH = (0.072, 0.337)
#: Teeth: depths behind the inner lips (fractions of the contour's width as above: 4 and 21 mm)
#: over which they go from their lit colour to :data:`_TEETH_DEEP` of the way to the throat's
#: colour (the incisors stay bright, the molars sink into the mouth's shadow).
_TEETH_DEPTH, _TEETH_DEEP = (0.095, 0.5), 0.7
#: Teeth in the shadow of the lips: the window (its half-width a fraction of the contour's width:
#: 2.5 mm) whose share seen through the lips goes from (dark) to (lit) over these values.
_TEETH_AO_RADIUS, _TEETH_AO = 0.06, (0.15, 0.6)


def render_frames(
    frames: np.ndarray,
    faces: np.ndarray,
    size: tuple[int, int] = (480, 480),
    colors: np.ndarray | None = None,
    margin: float = 0.08,
    mouth: np.ndarray | None = None,
    teeth=None,
) -> np.ndarray:
    """Shaded front views of an animation.

    Parameters
    ----------
    frames : (T, V, 3) float
        Vertex positions in the app's frame (z up, the face looking towards -y).
    faces : (F, 3) int
        Triangles.
    size : (W, H)
        Image size in pixels.
    colors : (V, 3) uint8 or None
        Per-vertex albedo (default: one skin colour).
    margin : float
        Empty border, as a fraction of the framed extent.
    mouth : (M,) int or None
        Vertices of the mouth's inner lip contour, in order (:func:`mouth_contour`): what shows
        inside it, behind the lips, is shaded as the mouth's interior.
    teeth : core.mesh.face_parts.TeethRig or None
        Teeth of this face (:func:`mouth_teeth`), placed on every frame and drawn with the skin.

    Returns
    -------
    (T, H, W, 3) uint8
        The frames, framed once on the first frame so the face does not jump.
    """
    frames = np.asarray(frames, np.float64)
    faces = np.asarray(faces, np.int64)
    if frames.ndim != 3 or frames.shape[2] != 3 or len(frames) == 0:
        raise InvalidInputError(f"frames must be (T, V, 3) with T >= 1, got {frames.shape}")
    width, height = int(size[0]), int(size[1])
    if width < 16 or height < 16:
        raise InvalidInputError(f"size must be at least 16 x 16 pixels, got {size}")
    albedo = (
        np.broadcast_to(np.asarray(SKIN_RGB, np.float64), (frames.shape[1], 3))
        if colors is None
        else np.asarray(colors, np.float64)
    )
    lo, hi = frames[0].min(0), frames[0].max(0)
    centre = (lo + hi) / 2
    scale = (1 - 2 * margin) * min(
        width / (hi[0] - lo[0] + 1e-12), height / (hi[2] - lo[2] + 1e-12)
    )  # px per unit
    lights = [(np.asarray(d, np.float64) / np.linalg.norm(d), k) for d, k in _LIGHTS]
    n_verts, n_faces = frames.shape[1], len(faces)
    normals = VertexNormals(faces, n_verts, dtype=np.float64)
    ring = None if mouth is None else np.asarray(mouth, np.int64)
    mouth_w = None
    if ring is not None:
        lips = frames[0][ring]  # (M, 3)
        mouth_w = float(np.linalg.norm(lips.max(0) - lips.min(0)))
    all_faces = faces
    if teeth is not None:  # one mesh: the skin's vertices, then the upper and the lower arch
        up, lo = teeth.upper, teeth.lower
        all_faces = np.concatenate(
            [faces, up.faces + n_verts, lo.faces + n_verts + len(up.points)]
        )  # (F + Qu + Ql, 3)
        albedo = np.concatenate(
            [
                albedo,
                np.broadcast_to(TOOTH_RGB.astype(np.float64), (len(up.points) + len(lo.points), 3)),
            ]
        )
    out = np.empty((len(frames), height, width, 3), np.uint8)
    for t, v in enumerate(frames):
        n = normals(v)
        if teeth is not None:
            up, lo = teeth.placed(v)
            v, n = (
                np.concatenate([v, up.points, lo.points]),
                np.concatenate([n, up.normals, lo.normals]),
            )
        out[t], zbuf, owner = _render_one(
            v, n, all_faces, albedo, centre, scale, width, height, lights
        )
        if ring is not None:
            _darken_mouth(out[t], zbuf, owner >= n_faces, v, ring, mouth_w, centre, scale)
    return out


def mouth_contour(neutral: np.ndarray, faces: np.ndarray) -> np.ndarray | None:
    """The inner lip contour (8,) int of a face on the app's topology (landmarks 60-67, in
    order), for :func:`render_frames`; None for another topology."""
    from core.assets import load_face, load_landmarks

    template = load_face()
    if len(neutral) != template.n_vertices or not np.array_equal(faces, template.faces):
        return None
    return np.asarray(load_landmarks().indices, np.int64)[INNER_LIPS]


def mouth_teeth(neutral: np.ndarray, faces: np.ndarray):
    """The teeth (:class:`core.mesh.face_parts.TeethRig`) of a face on the app's topology, placed
    from its neutral (V, 3) as in the studio, for :func:`render_frames`; None for another
    topology (no landmarks to place them from)."""
    from core.assets import load_face, load_landmarks

    template = load_face()
    if len(neutral) != template.n_vertices or not np.array_equal(faces, template.faces):
        return None
    from core.mesh.face_parts import TeethRig

    return TeethRig(neutral, load_landmarks().indices)


def face_colors(neutral: np.ndarray, faces: np.ndarray) -> np.ndarray | None:
    """Video albedo (V, 3) float32 RGB 0..255 of a face on the app's topology: skin, redder lips,
    a dark mouth interior and eyes (sclera, iris, pupil); None for another topology (plain
    skin). neutral (V, 3), faces (F, 3)."""
    from core.assets import load_face, load_landmarks

    template = load_face()
    if len(neutral) != template.n_vertices or not np.array_equal(faces, template.faces):
        return None
    from core.mesh.albedo import eye_albedo, skin_albedo

    rgb = skin_albedo(neutral, faces, load_landmarks().indices)
    eyes = ~template.skin
    rgb[eyes] = eye_albedo(neutral, eyes)[eyes]
    return rgb


def _screen(v: np.ndarray, centre, scale, width: int, height: int) -> tuple:
    """Pixel coordinates x, y (V,) and depth (V,) (smaller = nearer) of vertices (V, 3)."""
    px = (v[:, 0] - centre[0]) * scale + width / 2
    py = height / 2 - (v[:, 2] - centre[2]) * scale
    return px, py, v[:, 1]


def _darken_mouth(image, zbuf, teeth, v, ring, mouth_w, centre, scale) -> None:
    """Shade what shows through the open mouth in ``image`` (H, W, 3) uint8, in place.

    Pixels inside the inner lip contour ``ring`` (M,) whose surface lies behind the lips
    (``zbuf`` (H, W) depths) become the mouth's interior, from the colour just behind the lips
    to the throat's with the depth; a surface at the lips (their inner edge) keeps its colour.
    Pixels showing teeth (``teeth`` (H, W) bool) keep their lit colour, darkened towards the
    throat's with their depth and with how little of the opening lies around them (light comes
    in only through the opening: teeth seen through a slit between the lips stay dark, teeth
    under the lips get a soft contact shadow). ``mouth_w``: the contour's width on the neutral.
    """
    from core.mesh.albedo import MOUTH_RGB, THROAT_RGB

    height, width = image.shape[:2]
    px, py, depth = _screen(v, centre, scale, width, height)
    lip_depth = depth[ring].mean()
    r = max(1, int(round(_TEETH_AO_RADIUS * mouth_w * scale)))  # the opening's window, pixels
    rx, ry = px[ring], py[ring]  # (M,) the contour on screen
    x0, x1 = max(int(np.floor(rx.min())) - r, 0), min(int(np.ceil(rx.max())) + 1 + r, width)
    y0, y1 = max(int(np.floor(ry.min())) - r, 0), min(int(np.ceil(ry.max())) + 1 + r, height)
    if x1 <= x0 or y1 <= y0:
        return
    gy, gx = np.mgrid[y0:y1, x0:x1] + 0.5  # pixel centres (h, w)
    inside = np.zeros(gx.shape, bool)
    for a, b in zip(range(len(ring)), np.roll(np.arange(len(ring)), -1), strict=True):
        crosses = (ry[a] > gy) != (ry[b] > gy)
        xc = rx[a] + (gy - ry[a]) * (rx[b] - rx[a]) / np.where(ry[b] == ry[a], 1e-12, ry[b] - ry[a])
        inside ^= crosses & (gx < xc)
    patch, tooth = image[y0:y1, x0:x1], teeth[y0:y1, x0:x1]
    behind = zbuf[y0:y1, x0:x1] - lip_depth  # (h, w); inf where nothing was drawn
    near, far = (_MOUTH_DEPTH[0] * mouth_w, _MOUTH_DEPTH[1] * mouth_w)
    dark = inside & (behind > near) & np.isfinite(behind) & ~tooth
    if tooth.any():
        opening = _box_mean(dark | tooth, r)[tooth]  # share of the window seen through the lips
        lit = np.clip((opening - _TEETH_AO[0]) / (_TEETH_AO[1] - _TEETH_AO[0]), 0.0, 1.0)
        lo, hi = (_TEETH_DEPTH[0] * mouth_w, _TEETH_DEPTH[1] * mouth_w)
        deep = _TEETH_DEEP * np.clip((behind[tooth] - lo) / (hi - lo), 0.0, 1.0)
        t = 1.0 - (1.0 - deep) * lit * lit * (3 - 2 * lit)  # (N,) towards the throat's colour
        rgb = patch[tooth].astype(np.float64)
        patch[tooth] = np.round(rgb + t[:, None] * (THROAT_RGB[None] - rgb)).astype(np.uint8)
    if dark.any():
        t = np.clip((behind[dark] - near) / (far - near), 0.0, 1.0)
        col = MOUTH_RGB[None] + np.sqrt(t)[:, None] * (THROAT_RGB - MOUTH_RGB)[None]
        patch[dark] = np.round(col).astype(np.uint8)


def _box_mean(mask: np.ndarray, r: int) -> np.ndarray:
    """Mean of ``mask`` (h, w) bool over the (2r+1)^2 window around each pixel (outside: 0)."""
    h, w = mask.shape
    s = np.zeros((h + 1, w + 1))
    s[1:, 1:] = mask.cumsum(0).cumsum(1)  # integral image
    ya, yb = np.clip(np.arange(h) - r, 0, h), np.clip(np.arange(h) + r + 1, 0, h)
    xa, xb = np.clip(np.arange(w) - r, 0, w), np.clip(np.arange(w) + r + 1, 0, w)
    total = s[yb][:, xb] - s[ya][:, xb] - s[yb][:, xa] + s[ya][:, xa]
    return total / (2 * r + 1) ** 2


def _render_one(v, normals, faces, albedo, centre, scale, width, height, lights) -> tuple:
    """The shaded image (H, W, 3) uint8, its depth buffer (H, W) (inf: background) and the
    triangle seen at each pixel (H, W) int64 (-1: background)."""
    # view coordinates: x right, y up, z towards the viewer (the viewer is at -y)
    px, py, depth = _screen(v, centre, scale, width, height)  # depth: smaller = nearer
    view_n = np.stack([normals[:, 0], normals[:, 2], -normals[:, 1]], axis=1)  # (V, 3)
    x0 = np.floor(px[faces].min(1)).astype(np.int64)  # (F,) bounding boxes in pixels
    y0 = np.floor(py[faces].min(1)).astype(np.int64)
    extent = np.maximum(np.ceil(px[faces].max(1)) - x0, np.ceil(py[faces].max(1)) - y0) + 1
    level = 2 ** np.ceil(np.log2(np.clip(extent, 1, 256))).astype(np.int64)  # a few box sizes
    pix_parts, depth_parts, face_parts, w_parts = [], [], [], []
    for s in np.unique(level):
        sel = np.flatnonzero(level == s)
        dy, dx = np.divmod(np.arange(s * s), s)  # (s*s,) offsets in the box
        cx = x0[sel, None] + dx[None]  # (F', s*s) candidate pixels
        cy = y0[sel, None] + dy[None]
        a, b, c = (faces[sel, k] for k in range(3))
        ax, ay, bx, by, qx, qy = px[a], py[a], px[b], py[b], px[c], py[c]
        det = (by - qy) * (ax - qx) + (qx - bx) * (ay - qy)  # (F',)
        # degenerate on screen, or facing away (seen from inside the head): skipped
        det = np.where(det > -1e-12, np.nan, det)
        l0 = (
            (by - qy)[:, None] * (cx - qx[:, None]) + (qx - bx)[:, None] * (cy - qy[:, None])
        ) / det[:, None]
        l1 = (
            (qy - ay)[:, None] * (cx - qx[:, None]) + (ax - qx)[:, None] * (cy - qy[:, None])
        ) / det[:, None]
        l2 = 1.0 - l0 - l1
        ok = (l0 >= -1e-9) & (l1 >= -1e-9) & (l2 >= -1e-9)
        ok &= (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        fi, si = np.nonzero(ok)
        w = np.stack([l0[fi, si], l1[fi, si], l2[fi, si]], axis=1)  # (N', 3)
        pix_parts.append(cy[fi, si] * width + cx[fi, si])
        depth_parts.append(np.einsum("nk,nk->n", w, depth[faces[sel[fi]]]))
        face_parts.append(sel[fi])
        w_parts.append(w)
    pix, sdepth = np.concatenate(pix_parts), np.concatenate(depth_parts)
    order = np.lexsort((sdepth, pix))  # by pixel, nearest first
    pix = pix[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    keep = order[first]
    pix = pix[first]
    zbuf = np.full(height * width, np.inf)
    zbuf[pix] = sdepth[keep]
    w = np.concatenate(w_parts)[keep]  # (N, 3)
    seen = np.concatenate(face_parts)[keep]  # (N,) the triangle at each drawn pixel
    owner = np.full(height * width, -1, np.int64)
    owner[pix] = seen
    corners = faces[seen]  # (N, 3)
    n = np.einsum("nk,nkd->nd", w, view_n[corners])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    n[n[:, 2] < 0] *= -1  # back faces (inside the mouth) shade like front faces
    base = np.einsum("nk,nkd->nd", w, albedo[corners]) / 255.0
    shade = np.full(len(n), _AMBIENT)
    spec = np.zeros(len(n))
    for d, k in lights:
        lam = np.clip(n @ d, 0.0, None)
        shade += k * lam
        half = d + np.array([0.0, 0.0, 1.0])
        half /= np.linalg.norm(half)
        spec += k * _SPECULAR * np.clip(n @ half, 0.0, None) ** _SHININESS
    rgb = np.clip(base * shade[:, None] + spec[:, None], 0.0, 1.0)
    image = np.empty((height * width, 3), np.uint8)
    image[:] = BACKGROUND_RGB
    image[pix] = np.round(rgb * 255).astype(np.uint8)
    return (
        image.reshape(height, width, 3),
        zbuf.reshape(height, width),
        owner.reshape(height, width),
    )
