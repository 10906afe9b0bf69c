"""What a user would use instead of S2D-Dec: landmark → dense displacement baselines.

All baselines work in the same normalised units as the decoder (``core.models.normalization``,
"scale" mode: displacements divided by the face's landmark scale) and return metres.

- :class:`PCAFit`: a PCA basis of dense displacements (k components); for a new frame the
  coefficients are fitted to the landmark displacements by ridge-regularised least squares.
- :class:`core.models.ridge.RidgeMap`: linear map from the 204 landmark displacement values to
  the dense displacement, closed form (in ``core.models``: the decoder's shortcut starts from it).
- :func:`rbf_displacement`: interpolate the landmark displacements over the neutral surface
  (thin-plate spline, or a Gaussian falloff of radius ``sigma``), identity-specific.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.interpolate import RBFInterpolator

__all__ = ["PCAFit", "rbf_displacement"]


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

    def fit_frames(self, X: np.ndarray, Y: np.ndarray, landmark_idx=None) -> PCAFit:
        """:func:`core.models.ridge.validated_lambda`'s protocol: Y (N, V, 3); X unused."""
        return self.fit(Y, landmark_idx)

    def predict_frames(self, X: np.ndarray) -> np.ndarray:
        """(N, K*3) normalised landmark displacements -> (N, V, 3)."""
        return self.predict(X.reshape(len(X), -1, 3))


def rbf_displacement(
    neutral: np.ndarray,
    landmark_idx: np.ndarray,
    dl: np.ndarray,
    kernel: str = "thin_plate_spline",
    sigma: float = 0.02,
) -> np.ndarray:
    """Interpolate landmark displacements over one neutral face.

    neutral : (V, 3) metres; dl : (B, K, 3) landmark displacements (metres) → (B, V, 3).
    ``kernel`` "thin_plate_spline" (with a linear polynomial) or "gaussian" (radius sigma,
    no polynomial: displacement decays to zero away from the landmarks).
    """
    centres = neutral[landmark_idx]
    vals = np.moveaxis(np.asarray(dl, float), 0, 1).reshape(len(landmark_idx), -1)  # (K, B*3)
    if kernel == "gaussian":
        # regularised (smoothing) so nearby landmarks do not make the system ill-conditioned
        rbf = RBFInterpolator(
            centres, vals, kernel="gaussian", epsilon=1.0 / sigma, degree=-1, smoothing=1e-3
        )
    else:
        rbf = RBFInterpolator(centres, vals, kernel=kernel, smoothing=0.0)
    out = rbf(neutral).reshape(len(neutral), len(dl), 3)
    return np.moveaxis(out, 1, 0)
