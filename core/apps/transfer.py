"""Performance transfer: a source motion replayed on another face (paper Sec. 4.4, extended).

Given source landmarks ``S`` (T, 68, 3) (frame 0 = the performer at rest) and a target neutral
face with landmarks ``X_0`` (68, 3):

1. *stabilise* (optional): each source frame is rigidly aligned to frame 0 on the landmarks that
   expressions barely move (nose bridge, inner eye corners), removing head motion;
2. *align*: a rotation ``R`` (Kabsch on frame 0's centred landmarks) turns the source's
   axes into the target's, so a performer captured in another coordinate frame still works;
3. *encode* and *place*:

   - ``mode="srvf"`` (the paper): the displacement curve divided by the source's scale
     (RMS landmark radius of frame 0) is encoded as an SRVF on the unit sphere plus its length
     (:meth:`MotionGenerator.encode`) and replayed at the target's scale:
     ``X_t = X_0 + s_tgt R c_t``. Units and face size of the performer do not matter;
   - ``mode="absolute"``: the source's displacements are kept as they are,
     ``X_t = X_0 + R (S_t - S_0)`` (same units as the target, metres). A small face then makes
     the same-sized smile as a large one;
   - ``mode="multilinear"``: the absolute displacements corrected for the identity difference
     by a landmark-motion model learned from anny identities (:mod:`core.apps.motion_model`):
     a wide jaw opens with a longer lever than a small one. Metres, like ``absolute``;

4. *decode*: S2D-Dec expands every frame into the dense target face (one batched call).

Which mode wins depends on whether expression amplitude scales with the face (measured in
``docs/applications.md``). Baselines for that evaluation: :func:`raw_transfer` (copy the dense
source displacement; needs mesh frames of our topology) and :func:`rbf_transfer` (a
thin-plate-spline deformer driven by the landmark displacements, no learned prior).
"""

from __future__ import annotations

import numpy as np
import torch

from core.errors import InvalidInputError
from core.geometry.srvf import curve_to_srvf, srvf_to_curve
from core.models.normalization import landmark_scale

__all__ = [
    "MODES",
    "STABLE_LANDMARKS",
    "stabilize",
    "kabsch",
    "transfer_landmarks",
    "transfer_motion",
    "raw_transfer",
    "rbf_transfer",
]

MODES = ("srvf", "absolute", "multilinear")
#: Landmarks that expressions barely move (iBUG: nose bridge 27-30, inner eye corners 39, 42).
STABLE_LANDMARKS = (27, 28, 29, 30, 39, 42)


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) best mapping centred points src (K, 3) onto centred dst (K, 3)."""
    a = src - src.mean(0)
    b = dst - dst.mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    return (u @ np.diag([1.0, 1.0, d]) @ vt).T


def stabilize(landmarks: np.ndarray, stable=STABLE_LANDMARKS) -> np.ndarray:
    """Frames (T, K, 3) with each frame rigidly aligned to frame 0 on the ``stable`` landmarks."""
    lm = np.asarray(landmarks, np.float64)
    ref = lm[0, list(stable)]
    out = np.empty_like(lm)
    for t, frame in enumerate(lm):
        pts = frame[list(stable)]
        r = kabsch(pts, ref)
        out[t] = (frame - pts.mean(0)) @ r.T + ref.mean(0)
    out[0] = lm[0]
    return out


def transfer_landmarks(
    source: np.ndarray,
    target_landmarks: np.ndarray,
    mode: str = "srvf",
    stabilize_head: bool = True,
    align: bool = True,
) -> np.ndarray:
    """Target landmark motion (T, 68, 3) float32 of source landmarks (T, 68, 3) on a face
    whose neutral landmarks are ``target_landmarks`` (68, 3); frame 0 equals them exactly.

    ``align=False`` skips the rotation (source and target already share their axes)."""
    if mode not in MODES:
        raise InvalidInputError(f"mode: expected one of {', '.join(MODES)}, found {mode!r}")
    src = np.asarray(source, np.float64)
    x0 = np.asarray(target_landmarks, np.float64)
    if src.ndim != 3 or src.shape[1:] != x0.shape or len(src) < 2:
        raise InvalidInputError(
            f"source: expected (T >= 2, {x0.shape[0]}, 3) landmarks, found {src.shape}"
        )
    if stabilize_head:
        src = stabilize(src)
    r = kabsch(src[0], x0) if align else np.eye(3)  # source axes -> target axes
    disp = (src - src[0]) @ r.T  # (T, K, 3) in the target's axes, source units
    if mode == "absolute":
        out = x0 + disp
    elif mode == "multilinear":
        from core.apps.motion_model import load_motion_model

        out = x0 + load_motion_model().carry(disp, src[0] @ r.T, x0)
    else:
        s_src = float(landmark_scale(src[0]))
        rel = torch.as_tensor((disp / s_src).reshape(len(src), -1))  # (T, D)
        q, length = curve_to_srvf(rel)  # SRVF (T-1, D) on the sphere + length
        curve = srvf_to_curve(q, torch.zeros(rel.shape[1], dtype=rel.dtype), float(length))
        out = x0 + float(landmark_scale(x0)) * curve.numpy().reshape(src.shape)
    out = out.astype(np.float32)
    out[0] = x0
    return out


def transfer_motion(
    gen,
    source: np.ndarray,
    target_neutral: np.ndarray,
    mode: str = "srvf",
    fps: float = 30.0,
    stabilize_head: bool = True,
    align: bool = True,
    meta: dict | None = None,
):
    """A :class:`core.motion.Motion` of ``source`` (T, 68, 3) on ``target_neutral`` (V, 3),
    decoded by ``gen``'s S2D-Dec (frame 0 is the neutral exactly)."""
    from core.motion import Motion

    nv = gen.pipeline.check_neutral(target_neutral)[0]
    lm = transfer_landmarks(source, gen.pipeline.face_landmarks(nv), mode, stabilize_head, align)
    verts = gen.decode(nv, lm)
    info = {
        **gen.meta,
        **(meta or {}),
        "units": "m",
        "transfer": {"mode": mode, "stabilized": stabilize_head, "aligned": align},
    }
    if gen.pipeline.meta.get("sha256"):  # loaded above by check_neutral
        info.setdefault("decoder_sha256", gen.pipeline.meta["sha256"])
    return Motion(lm, verts, None, None, float(fps), None, info)


def raw_transfer(source_vertices: np.ndarray, target_neutral: np.ndarray) -> np.ndarray:
    """Baseline: target (V, 3) + the source's dense displacement from its frame 0 -> (T, V, 3)."""
    src = np.asarray(source_vertices, np.float64)
    return (np.asarray(target_neutral, np.float64) + (src - src[0])).astype(np.float32)


def rbf_transfer(
    source: np.ndarray,
    target_neutral: np.ndarray,
    landmark_idx: np.ndarray,
    mode: str = "absolute",
    **kw,
) -> np.ndarray:
    """Baseline: a thin-plate-spline deformer of the target (V, 3) driven by the transferred
    landmark displacements (:func:`transfer_landmarks`) -> (T, V, 3)."""
    from core.eval.baselines import rbf_displacement

    nv = np.asarray(target_neutral, np.float64)
    lm = transfer_landmarks(source, nv[landmark_idx], mode, **kw).astype(np.float64)
    disp = rbf_displacement(nv, landmark_idx, lm - lm[0])
    return (nv + disp).astype(np.float32)
