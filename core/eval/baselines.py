"""What a user would use instead of S2D-Dec: landmark → dense displacement baselines.

All baselines work in the same normalised units as the decoder (``core.train.normalization``,
"scale" mode: displacements divided by the face's landmark scale) and return metres.

- :class:`PCAFit`: a PCA basis of dense displacements (k components); for a new frame the
  coefficients are fitted to the landmark displacements by ridge-regularised least squares.
- :class:`RidgeMap`: linear map from the 204 landmark displacement values to the dense
  displacement, closed form.
- :func:`rbf_displacement`: interpolate the landmark displacements over the neutral surface
  (thin-plate spline, or a Gaussian falloff of radius ``sigma``), identity-specific.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.interpolate import RBFInterpolator

__all__ = ["PCAFit", "RidgeMap", "rbf_displacement", "LAMBDA_GRID", "validated_lambda"]

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


class PCAFit:
    """PCA of dense displacements fitted to landmark displacements.

    fit(Y (N, V, 3), landmark_idx) builds the basis; predict(dl (B, K, 3)) solves
    min_c |L(mean + B c) - dl|^2 + lam |c / sigma|^2 per frame and returns (B, V, 3).
    """

    def __init__(self, k: int, lam: float = 1e-2):
        self.k, self.lam = k, lam

    def fit(self, Y: np.ndarray, landmark_idx: np.ndarray, seed: int = 0) -> PCAFit:
        n, v, _ = Y.shape
        Yt = torch.as_tensor(Y.reshape(n, -1), dtype=torch.float32)
        self.mean = Yt.mean(0)
        torch.manual_seed(seed)
        U, S, Vt = torch.svd_lowrank(Yt - self.mean, q=min(self.k + 20, n - 1), niter=4)
        self.basis = Vt[:, : self.k].T.double()  # (k, V*3)
        self.sigma = (S[: self.k] / np.sqrt(n - 1)).double()
        self.mean = self.mean.double()
        cols = (np.asarray(landmark_idx)[:, None] * 3 + np.arange(3)).ravel()
        self.Lb = self.basis[:, cols]  # (k, K*3)
        self.Lm = self.mean[cols]
        return self

    def predict(self, dl: np.ndarray) -> np.ndarray:
        b = torch.as_tensor(dl, dtype=torch.float64).reshape(len(dl), -1) - self.Lm  # (B, K*3)
        A = self.Lb @ self.Lb.T + self.lam * torch.diag(1.0 / self.sigma**2)  # (k, k)
        c = torch.linalg.solve(A, self.Lb @ b.T)  # (k, B)
        out = self.mean + c.T @ self.basis
        return out.reshape(len(dl), -1, 3).numpy()


def validated_lambda(make, X, Y, groups, grid=LAMBDA_GRID, n_val_groups: int = 30,
                     landmark_idx=None) -> tuple[float, dict]:
    """Pick a regularisation strength by validation on held-out groups (identities).

    make(lam) returns an unfitted RidgeMap/PCAFit; X : (N, K*3), Y : (N, V, 3) normalised.
    Returns the best lambda and the mean validation error per lambda.
    """
    ids = np.unique(groups)
    if len(ids) >= 4:
        val = np.isin(groups, ids[:: max(1, len(ids) // n_val_groups)][:n_val_groups])
    else:  # too few groups: a seeded 20 % of the frames
        val = np.random.default_rng(0).random(len(groups)) < 0.2
    scores = {}
    for lam in grid:
        model = make(lam)
        if isinstance(model, PCAFit):
            model.fit(Y[~val], landmark_idx)
            pred = model.predict(X[val].reshape(val.sum(), -1, 3))
        else:
            model.fit(X[~val], Y[~val].reshape((~val).sum(), -1))
            pred = model.predict(X[val]).reshape(Y[val].shape)
        scores[lam] = float(np.linalg.norm(pred - Y[val], axis=-1).mean())
    return min(scores, key=scores.get), scores


def rbf_displacement(neutral: np.ndarray, landmark_idx: np.ndarray, dl: np.ndarray,
                     kernel: str = "thin_plate_spline", sigma: float = 0.02) -> np.ndarray:
    """Interpolate landmark displacements over one neutral face.

    neutral : (V, 3) metres; dl : (B, K, 3) landmark displacements (metres) → (B, V, 3).
    ``kernel`` "thin_plate_spline" (with a linear polynomial) or "gaussian" (radius sigma,
    no polynomial: displacement decays to zero away from the landmarks).
    """
    centres = neutral[landmark_idx]
    vals = np.moveaxis(np.asarray(dl, float), 0, 1).reshape(len(landmark_idx), -1)  # (K, B*3)
    if kernel == "gaussian":
        # regularised (smoothing) so nearby landmarks do not make the system ill-conditioned
        rbf = RBFInterpolator(centres, vals, kernel="gaussian", epsilon=1.0 / sigma, degree=-1,
                              smoothing=1e-3)
    else:
        rbf = RBFInterpolator(centres, vals, kernel=kernel, smoothing=0.0)
    out = rbf(neutral).reshape(len(neutral), len(dl), 3)
    return np.moveaxis(out, 1, 0)
