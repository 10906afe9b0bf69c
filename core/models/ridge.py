"""Ridge regression from landmark displacements to dense displacements, with a validated lambda.

The linear baseline of ``docs/evaluation.md`` and the initial value of S2D-Dec+'s linear
shortcut (:class:`core.models.linear_skip.SkipDecoder`). Units: the decoder's normalised
displacements (``core.models.normalization``).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["LAMBDA_GRID", "RidgeMap", "validated_lambda"]

#: Regularisation strengths tried by :func:`validated_lambda` (relative to the frame count).
LAMBDA_GRID = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


class RidgeMap:
    """Y ≈ X W + b by ridge regression. X : (N, 204), Y : (N, V*3)."""

    def __init__(self, lam: float = 1e-3):
        self.lam = lam

    def fit(self, X: np.ndarray, Y: np.ndarray) -> RidgeMap:
        X = torch.as_tensor(X, dtype=torch.float64)
        Y = torch.as_tensor(Y, dtype=torch.float64)
        self.xm, self.ym = X.mean(0), Y.mean(0)
        Xc = X - self.xm
        A = Xc.T @ Xc + self.lam * len(X) * torch.eye(X.shape[1], dtype=torch.float64)
        self.W = torch.linalg.solve(A, Xc.T @ (Y - self.ym))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = torch.as_tensor(X, dtype=torch.float64)
        return ((X - self.xm) @ self.W + self.ym).numpy()

    def fit_frames(self, X: np.ndarray, Y: np.ndarray, landmark_idx=None) -> RidgeMap:
        """:func:`validated_lambda`'s protocol: X (N, K*3), Y (N, V, 3)."""
        return self.fit(X, Y.reshape(len(Y), -1))

    def predict_frames(self, X: np.ndarray) -> np.ndarray:
        """(N, K*3) -> (N, V, 3)."""
        return self.predict(X).reshape(len(X), -1, 3)


def validated_lambda(
    make, X, Y, groups, grid=LAMBDA_GRID, n_val_groups: int = 30, landmark_idx=None
) -> tuple[float, dict]:
    """Pick a regularisation strength by validation on held-out groups (identities).

    make(lam) returns an unfitted model with ``fit_frames(X, Y, landmark_idx)`` and
    ``predict_frames(X)`` (:class:`RidgeMap`, ``core.eval.baselines.PCAFit``);
    X : (N, K*3), Y : (N, V, 3) normalised.
    Returns the best lambda and the mean validation error per lambda.
    """
    ids = np.unique(groups)
    if len(ids) >= 4:
        val = np.isin(groups, ids[:: max(1, len(ids) // n_val_groups)][:n_val_groups])
    else:  # too few groups: a seeded 20 % of the frames
        val = np.random.default_rng(0).random(len(groups)) < 0.2
    scores = {}
    for lam in grid:
        model = make(lam).fit_frames(X[~val], Y[~val], landmark_idx)
        pred = model.predict_frames(X[val]).reshape(Y[val].shape)
        scores[lam] = float(np.linalg.norm(pred - Y[val], axis=-1).mean())
    return min(scores, key=scores.get), scores
