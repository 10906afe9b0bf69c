"""How a face's landmark motion depends on its identity: a multilinear (identity x expression)
model of the 68 landmark displacements, learned from anny identities that all perform the same
expressions (after Vlasic et al. 2005, "Face transfer with multilinear models").

Model, in a frame where the neutral landmarks are rigidly aligned to the model's mean:

- identity code ``b`` (K,): PCA of the aligned neutral landmarks, unit variance;
- expression code ``c`` (P,): PCA of the identity-averaged displacements;
- displacements ``d = L(b) c`` (204,), ``L(b) = W[:, :, 0] + sum_k b_k W[:, :, k + 1]``.

Transfer from identity A to B (:meth:`MotionModel.carry`): ``c`` is fitted to A's displacements
(ridge) and only the identity-dependent part is added, ``d_B = d_A + g (L(b_B) - L(b_A)) c``,
so motion the model cannot express is still copied as it is. The gate ``g = clip(1 -
GATE * r)`` shrinks the correction where A's frame is poorly explained (``r`` = relative
residual of the fit, e.g. an expression unlike any the model saw). Stored in
``resources/transfer_model.npz`` (built by ``python main.py build-transfer-model``; identities
and expressions drawn with seeds never used by ``evaluate-apps``, held-out actions and the
expression-split test labels excluded).
"""

from __future__ import annotations

import numpy as np

from core.errors import InvalidInputError
from core.glossary import N_LANDMARKS

__all__ = ["TRANSFER_MODEL_FILE", "MotionModel", "load_motion_model", "build_motion_model"]

TRANSFER_MODEL_FILE = "transfer_model.npz"
#: Defaults chosen on development identities (seeds 777-779), never the evaluation's.
K_IDENTITY, P_EXPRESSION, RIDGE, GATE = 20, 40, 1e-3, 4.0
#: Seed of the shipped model's anny identities and expressions (evaluate-apps uses 4242).
BUILD_SEED = 1003
_KEYS = ("mean", "id_mu", "id_u", "id_sd", "ex_u", "w")


def _rigid(x: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (N, 3) rigidly aligned onto ref (N, 3) and the rotation R (3, 3) used (x @ R.T)."""
    a, b = x - x.mean(0), ref - ref.mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    r = (u @ np.diag([1.0, 1.0, d]) @ vt).T
    return a @ r.T + ref.mean(0), r


class MotionModel:
    """The fitted arrays (see the module doc); shapes: mean (68, 3), id_mu (204,),
    id_u (204, K), id_sd (K,), ex_u (204, P), w (204, P, K + 1)."""

    def __init__(self, arrays: dict):
        a = {k: np.asarray(arrays[k], np.float64) for k in _KEYS}
        k, p = a["id_u"].shape[1], a["ex_u"].shape[1]
        d = 3 * N_LANDMARKS
        want = {
            "mean": (N_LANDMARKS, 3),
            "id_mu": (d,),
            "id_u": (d, k),
            "id_sd": (k,),
            "ex_u": (d, p),
            "w": (d, p, k + 1),
        }
        for name, shape in want.items():
            if a[name].shape != shape or not np.isfinite(a[name]).all():
                raise InvalidInputError(f"transfer model: {name} must be finite {shape}")
        self.arrays = a

    @classmethod
    def fit(
        cls, neutral: np.ndarray, moved: np.ndarray, k: int = K_IDENTITY, p: int = P_EXPRESSION
    ) -> MotionModel:
        """Fit from neutral landmarks (N, 68, 3) and the same E expressions on every identity,
        moved (N, E, 68, 3); needs N > k and E > p."""
        n, m = np.asarray(neutral, np.float64), np.asarray(moved, np.float64)
        mean = n.mean(0)
        rot = [_rigid(x, mean) for x in n]
        x = np.stack([al - mean for al, _ in rot]).reshape(len(n), -1)
        id_mu = x.mean(0)
        _, s, vt = np.linalg.svd(x - id_mu, full_matrices=False)
        id_u, id_sd = vt[:k].T, s[:k] / np.sqrt(len(n))
        beta = np.concatenate([np.ones((len(n), 1)), (x - id_mu) @ id_u / id_sd], 1)
        disp = np.stack([(m[i] - n[i]) @ r.T for i, (_, r) in enumerate(rot)])
        disp = disp.reshape(len(n), m.shape[1], -1)  # (N, E, 204)
        _, _, vt = np.linalg.svd(disp.mean(0), full_matrices=False)
        ex_u = vt[:p].T
        c = disp.mean(0) @ ex_u  # (E, P)
        feats = np.einsum("ep,ik->iepk", c, beta).reshape(-1, p * (k + 1))
        lhs = feats.T @ feats
        lhs += 1e-3 * np.trace(lhs) / len(lhs) * np.eye(len(lhs))
        w = np.linalg.solve(lhs, feats.T @ disp.reshape(-1, disp.shape[-1])).T
        arrays = {"mean": mean, "id_mu": id_mu, "id_u": id_u, "id_sd": id_sd, "ex_u": ex_u}
        return cls({**arrays, "w": w.reshape(-1, p, k + 1)})

    def save(self, path) -> None:
        np.savez_compressed(path, **{k: v.astype(np.float32) for k, v in self.arrays.items()})

    def _code(self, neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Operator L(b) (204, P) of neutral landmarks (68, 3) and their rotation (3, 3)."""
        a = self.arrays
        al, r = _rigid(neutral, a["mean"])
        b = ((al - a["mean"]).reshape(-1) - a["id_mu"]) @ a["id_u"] / a["id_sd"]
        return a["w"] @ np.concatenate([[1.0], b]), r

    def carry(
        self,
        disp: np.ndarray,
        neutral_a: np.ndarray,
        neutral_b: np.ndarray,
        ridge: float = RIDGE,
        gate: float = GATE,
    ) -> np.ndarray:
        """Identity B's landmark displacements (T, 68, 3) for identity A's ``disp``
        (T, 68, 3); neutral_a / neutral_b (68, 3) in metres, in the frame of ``disp``."""
        disp = np.asarray(disp, np.float64)
        la, ra = self._code(np.asarray(neutral_a, np.float64))
        lb, rb = self._code(np.asarray(neutral_b, np.float64))
        d = (disp @ ra.T).reshape(len(disp), -1)  # (T, 204) in the model's frame
        gram = la.T @ la
        gram += ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
        c = np.linalg.solve(gram, la.T @ d.T).T  # (T, P)
        resid = np.linalg.norm(d - c @ la.T, axis=1) / (np.linalg.norm(d, axis=1) + 1e-12)
        g = np.clip(1.0 - gate * resid, 0.0, 1.0)[:, None]
        # back to A's frame, then B's rotation undone (the model frame -> B's frame)
        corr = (g * (c @ (lb - la).T)).reshape(disp.shape) @ rb
        return disp + corr


def load_motion_model(path=None) -> MotionModel:
    """The shipped model (``resources/transfer_model.npz``) or the one at ``path``."""
    from core.paths import RESOURCES

    path = RESOURCES / TRANSFER_MODEL_FILE if path is None else path
    try:
        with np.load(path) as f:
            return MotionModel({k: f[k] for k in _KEYS})
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(f"transfer model {path}: {exc}") from exc


def anny_pairs(head, seed: int, n_identities: int, per_label: int = 10, log=print):
    """Landmarks of ``n_identities`` anny identities performing the same expressions:
    neutral (N, 68, 3) and moved (N, E, 68, 3), E = per_label x 16 recipe apexes + as many
    random mixtures (held-out actions and expression-split test labels excluded)."""
    from core.assets import load_landmarks
    from core.data.anny_source import FaceParams
    from core.data.recipes import (
        EXPRESSION_SPLIT_TEST_LABELS,
        HELD_OUT_ACTIONS,
        LABELS,
        sample_apex,
        sample_random_mixture,
    )

    idx = load_landmarks().indices
    fa = head.facial_action_labels
    rng = np.random.default_rng(seed)
    ids = head.sample_identities(rng, n_identities)
    neutral = head.vertices(ids, np.arange(n_identities))[:, idx]
    parts = [
        sample_apex(lab, fa, rng)
        for lab in LABELS
        if lab not in EXPRESSION_SPLIT_TEST_LABELS
        for _ in range(per_label)
    ]
    parts.append(sample_random_mixture(fa, rng, len(parts), exclude_actions=HELD_OUT_ACTIONS))
    n = [len(q.facial_actions) for q in parts]
    names = set().union(*[q.bones for q in parts])
    s = rng.uniform(0.3, 1.0, sum(n))[:, None]  # intensities
    params = FaceParams(
        s * np.concatenate([q.facial_actions for q in parts]),
        s * np.concatenate([q.jaw_deg for q in parts]),
        {
            b: s
            * np.concatenate(
                [q.bones.get(b, np.zeros((m, 3))) for q, m in zip(parts, n, strict=True)]
            )
            for b in sorted(names)
        },
    )
    moved = np.empty((n_identities, sum(n), len(idx), 3), np.float32)
    for i in range(n_identities):
        moved[i] = head.vertices(ids, np.full(sum(n), i), params)[:, idx]
        if (i + 1) % 50 == 0:
            log(f"  {i + 1}/{n_identities} identities")
    return neutral, moved


def build_motion_model(out=None, seed: int = BUILD_SEED, n_identities: int = 240, log=print):
    """Fit the model on anny (needs anny; ~2-5 min on one core) and write it; returns it."""
    from core.data.anny_source import AnnyHead
    from core.paths import RESOURCES

    model = MotionModel.fit(*anny_pairs(AnnyHead(), seed, n_identities, log=log))
    model.save(RESOURCES / TRANSFER_MODEL_FILE if out is None else out)
    return model
