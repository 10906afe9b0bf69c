"""Neutralization of a face of another topology, from its fit (:mod:`core.fit.any_face`).

The any-face fit is made for neutral faces: on an expressive mesh its template follows the
expression only partly (on a Motion3DGAN happy apex: 1.2 mm from the surface after alignment,
removing 0.9 of 2.5 mm of expression), and the rest sits in the binding's offsets, out of reach
of :func:`core.apps.neutralize.neutralize`. Measured: 1.98 mm from the true neutral against
2.79 mm for doing nothing, where the same face in our own topology gets 0.05 mm.

Here the joint linear model (identity + expression bases, :class:`LinearFaceModel`) is fitted
to the user's surface itself by point-to-plane ICP: each iteration takes the closest point of
every model vertex on the user's mesh (pairs further than :data:`REJECT_M` dropped) and solves
one ridge least-squares problem for the coefficients with point-to-plane rows, weak
point-to-point rows (:data:`POINT_WEIGHT`) and the 68 fitted landmarks, in anny's frame (a
similarity on the landmarks that expressions move least). The fitted expression part, rotated
back, is carried onto the user's mesh by a binding to the final model surface (which now
follows the expression). Measured by ``python main.py evaluate-apps`` (``docs/applications.md``,
"A face of another topology"); on the two apexes above: 0.29 mm (0.25 with the fit's binding and
the true displacement, the carry's own floor).

The studio uses :func:`neutralize_rebind`: the same rebinding, returned as a new fit and a new
base mesh, so motions made afterwards are carried through the binding to the model surface too.

Shapes: V_t template vertices (the model's), V_u user vertices, F_u user triangles.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ICP_ITERATIONS",
    "REJECT_M",
    "POINT_WEIGHT",
    "fit_expression",
    "neutralize_fitted",
    "neutralize_template",
    "neutralize_rebind",
]

#: ICP iterations (measured: 3 -> 0.42 mm, 6 -> 0.29 mm, 12 -> 0.32 mm on two apexes).
ICP_ITERATIONS = 6
#: Closest-point pairs further apart than this (metres, template frame) are ignored.
REJECT_M = 0.005
#: Weight of the point-to-point rows beside the point-to-plane ones (keeps the fit from sliding).
POINT_WEIGHT = 0.1
#: Weight of each of the 68 landmark rows (a surface pair weighs 1).
LANDMARK_WEIGHT = 1.0


def _face_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _skew(v: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N, 3, 3) cross-product matrices, ``_skew(a) @ b = a x b``."""
    o = np.zeros(len(v))
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    return np.stack([np.stack([o, -z, y], 1), np.stack([z, o, -x], 1), np.stack([-y, x, o], 1)], 1)


def _rotation(w: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) of the rotation vector ``w`` (Rodrigues)."""
    angle = float(np.linalg.norm(w))
    if angle < 1e-12:
        return np.eye(3)
    k = _skew((w / angle)[None])[0]
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def fit_expression(
    surface: np.ndarray,
    faces: np.ndarray,
    landmarks: np.ndarray,
    start: np.ndarray,
    iterations: int = ICP_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """The joint model fitted to a surface of any topology, with a small rigid motion.

    The identity basis lives in anny's canonical pose: a face turned by a fraction of a degree
    is not in its span, and a similarity alignment on landmarks (as :func:`neutralize` with
    ``align=True``) turns an identity other than the default one enough to leave 0.36 mm in
    the fitted expression of a neutral face. So the rigid motion is fitted with the
    coefficients (linearised rotation and translation columns, one Gauss-Newton step per
    ICP iteration), starting from the any-face fit's frame.

    Parameters
    ----------
    surface : (V_u, 3) float, faces : (F_u, 3) int
        The expressive mesh, in the template frame (metres, roughly anny's size and pose).
    landmarks : (68, 3) float
        Its iBUG-68 landmarks, same frame.
    start : (V_t, 3) float
        First guess of the model surface (the any-face fit's template).

    Returns
    -------
    expression : (V_t, 3) float64
        The fitted expression displacement (subtract it to neutralize), in the surface's frame.
    model_surface : (V_t, 3) float64
        The fitted model (identity + expression), in the surface's frame.
    """
    from core.apps.neutralize import FIT_LAMBDA, _model, load_expression_basis
    from core.assets import load_landmarks
    from core.fit.closest import closest_on_mesh

    model = _model(True)
    idx = load_landmarks().indices
    u = np.asarray(surface, np.float64)
    f = np.asarray(faces, np.int64)
    lm = np.asarray(landmarks, np.float64)
    n = model.A.shape[1]
    a3 = model.A.reshape(-1, 3, n)  # (V_t, 3, n)
    base = model.base.reshape(-1, 3)
    normals = _face_normals(u, f)
    eye = np.broadcast_to(-np.eye(3), (len(base), 3, 3))
    reg = np.diag(np.r_[np.full(n, FIT_LAMBDA), np.full(6, 1e-12)])
    rot, shift = np.eye(3), np.zeros(3)  # surface frame -> model frame
    x = np.asarray(start, np.float64)  # model surface, surface frame
    z = np.zeros(n)
    for _ in range(int(iterations)):
        y, tri, _, dist = closest_on_mesh(x, u, f)
        w = (dist < REJECT_M).astype(np.float64)  # (V_t,)
        ya = y @ rot.T + shift  # model frame
        na = normals[tri] @ rot.T
        la = lm @ rot.T + shift
        # rows: A z + (ya x w) - tau = ya - base  (the rigid step w, tau moves ya)
        jac = np.concatenate([a3, _skew(ya), eye], axis=2)  # (V_t, 3, n + 6)
        plane = np.einsum("vd,vdn->vn", na, jac) * w[:, None]
        plane_rhs = np.einsum("vd,vd->v", na, ya - base) * w
        wp = POINT_WEIGHT * np.repeat(w, 3)
        point = jac.reshape(-1, n + 6) * wp[:, None]
        point_rhs = (ya - base).ravel() * wp
        lj = np.concatenate([a3[idx], _skew(la), eye[: len(idx)]], axis=2).reshape(-1, n + 6)
        lj = lj * LANDMARK_WEIGHT
        lr = (la - base[idx]).ravel() * LANDMARK_WEIGHT
        gram = plane.T @ plane + point.T @ point + lj.T @ lj + reg
        sol = np.linalg.solve(gram, plane.T @ plane_rhs + point.T @ point_rhs + lj.T @ lr)
        z, step = sol[:n], _rotation(sol[n : n + 3])
        rot, shift = step @ rot, step @ shift + sol[n + 3 :]
        x = (base + (model.A @ z).reshape(-1, 3) - shift) @ rot  # back to the surface frame
    expression = model.part(z, "expression") + load_expression_basis().mean.astype(np.float64)
    return expression @ rot, x


def neutralize_fitted(fit, vertices: np.ndarray, faces: np.ndarray, iterations=ICP_ITERATIONS):
    """The neutral (V_u, 3) float32 of an expressive face of another topology.

    fit : :class:`core.fit.face_fit.FaceFit` of that mesh; vertices (V_u, 3), faces (F_u, 3):
    the mesh (its own coordinates; the result is in them too, same vertex order).
    """
    import dataclasses

    from core.assets import load_face
    from core.fit.binding import bind

    u = fit.to_template.apply(vertices)  # template frame
    expression, x = fit_expression(
        u, faces, fit.to_template.apply(fit.landmarks), fit.template_vertices, iterations
    )
    rebound = dataclasses.replace(
        fit,
        template_vertices=x.astype(np.float32),
        binding=bind(u, faces, x, load_face().faces),
        _w=None,
    )
    frames = np.stack([x, x - expression]).astype(np.float32)
    return rebound.carry(frames, vertices)[1]


def neutralize_template(fit, vertices: np.ndarray, faces: np.ndarray, shown=None, iterations=None):
    """The studio's form: the fitted template (V_t, 3) float32 of the neutral of a face of
    another topology whose template is ``shown`` (V_t, 3) (default: the fit's own), for the
    fit's binding to carry to the mesh (no rebinding: measured 0.45 vs 0.29 mm with it on two
    Motion3DGAN apexes; the studio now uses :func:`neutralize_rebind`).

    fit : :class:`core.fit.face_fit.FaceFit`; vertices (V_u, 3), faces (F_u, 3): the mesh.
    """
    from core.assets import load_landmarks

    idx = load_landmarks().indices
    tv = np.asarray(fit.template_vertices, np.float64)
    shown = tv if shown is None else np.asarray(shown, np.float64)
    now = fit.to_template.apply(fit.carry(shown[None].astype(np.float32), vertices)[0])
    lm = fit.to_template.apply(fit.landmarks) + (shown[idx] - tv[idx])
    expression, _ = fit_expression(now, faces, lm, shown, iterations or ICP_ITERATIONS)
    return (shown - expression).astype(np.float32)


def neutralize_rebind(fit, vertices: np.ndarray, faces: np.ndarray, shown=None, iterations=None):
    """The studio's form with rebinding: the neutral of a face of another topology whose
    template is ``shown`` (V_t, 3) (default: the fit's own), as a new fit of the same mesh.

    As :func:`neutralize_fitted`, the user's surface on screen is bound again to the fitted
    model surface (which follows the expression) and the expression is carried through that
    binding (measured 0.29 mm vs 0.45 mm through the fit's own binding on two Motion3DGAN
    apexes). The returned fit's template is the neutral template and its binding the new one;
    carrying a template ``v`` to the mesh is then ``base + W' R (v - neutral)``, so the neutral
    template gives ``base`` exactly. Its landmarks move with the face.

    fit : :class:`core.fit.face_fit.FaceFit`; vertices (V_u, 3), faces (F_u, 3): the mesh.

    Returns
    -------
    neutral : (V_t, 3) float32, the neutral template
    new_fit : FaceFit, template ``neutral``, the new binding, the same mesh and frame
    base : (V_u, 3) float32, the neutralized mesh in its own coordinates and vertex order
    """
    import dataclasses

    from core.assets import load_face, load_landmarks
    from core.fit.binding import bind

    idx = load_landmarks().indices
    tv = np.asarray(fit.template_vertices, np.float64)
    shown = tv if shown is None else np.asarray(shown, np.float64)
    now = fit.carry(shown[None].astype(np.float32), vertices)[0]  # (V_u, 3) user coordinates
    now_t = fit.to_template.apply(now)
    lm = fit.landmarks + fit.to_template.inverse_vectors(shown[idx] - tv[idx])
    expression, x = fit_expression(
        now_t, faces, fit.to_template.apply(lm), shown, iterations or ICP_ITERATIONS
    )
    neutral = (x - expression).astype(np.float32)
    at_model = dataclasses.replace(
        fit,
        template_vertices=x.astype(np.float32),
        binding=bind(now_t, faces, x, load_face().faces),
        _w=None,
    )
    base = at_model.carry(neutral[None], now)[0]
    new_fit = dataclasses.replace(
        at_model,
        template_vertices=neutral.astype(tv.dtype),
        landmarks=lm + fit.to_template.inverse_vectors(neutral[idx] - x[idx]),
        _w=None,
    )
    return neutral, new_fit, base
