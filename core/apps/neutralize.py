"""Neutralization: the neutral face (V, 3) of an expressive face of our topology.

Methods (``method=``):

- ``"paper"`` (the paper's recipe, Sec. 4.4): move the landmarks to a neutral configuration and
  let S2D-Dec carry the face along: the target landmarks are the identity basis' mean neutral
  landmarks, similarity-aligned (Umeyama) to the face's own on the nose and eye corners, and the decoder is run with the
  expressive face as its input face, ``N = E + D(E, X_neutral)``;
- ``"basis"``: a least-squares fit of the identity basis (the face creator's basis,
  :meth:`core.apps.face_basis.FaceBasis.linear_basis`) to every vertex, with a Gaussian prior on
  the coefficients; the result is the fitted identity;
- ``"joint"`` (default, ours): the identity basis and an expression basis
  (``resources/expression_basis.npz``, a PCA of anny expression displacements, see
  :mod:`core.apps.basis_build`) fitted together; the result is the input face minus the fitted
  expression part, so identity detail outside the basis' span is kept;
- ``"none"``: the input face (the "do nothing" reference of the evaluation).

All fits are linear least squares with a ridge prior ``lam * ||z||^2`` on coefficients
scaled to unit prior spread (about 0.1 s for 4.3k vertices).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.errors import InvalidInputError, MissingWeightsError

__all__ = [
    "METHODS",
    "EXPRESSION_BASIS_FILE",
    "ExpressionBasis",
    "load_expression_basis",
    "LinearFaceModel",
    "neutralize",
    "umeyama",
]

METHODS = ("joint", "basis", "paper", "none")
EXPRESSION_BASIS_FILE = "expression_basis.npz"
#: Ridge weight of the fits (coefficients scaled to unit prior spread; residuals in metres):
#: the squared residual RMS (metres^2) one unit of prior is worth, i.e. (0.1 mm)^2.
FIT_LAMBDA = 1e-8
#: Landmarks the paper recipe aligns the mean neutral landmarks on (nose 27-35, eye corners):
#: the ones expressions move least, so the alignment is not pulled by an open mouth.
ALIGN_LANDMARKS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
#: Prior spread of a local-change value (anny samples N(0, 0.45) on ~35 % of the changes).
LOCAL_PRIOR_STD = 0.3


@dataclass(frozen=True)
class ExpressionBasis:
    """``mean`` (V, 3) float32 and ``basis`` (k, V, 3) float32 (rows scaled by their std)."""

    mean: np.ndarray
    basis: np.ndarray


@lru_cache(maxsize=1)
def load_expression_basis() -> ExpressionBasis:
    from core.paths import RESOURCES

    path = RESOURCES / EXPRESSION_BASIS_FILE
    if not path.is_file():
        raise MissingWeightsError(
            f"expression basis {path} not found; build it with `python main.py build-face-basis`"
        )
    with np.load(path, allow_pickle=False) as d:
        return ExpressionBasis(d["mean"].astype(np.float32), d["basis"].astype(np.float32))


class LinearFaceModel:
    """face ~ ``base + A z`` (+ ``E e`` for the joint fit), fitted by ridge least squares.

    base : (V, 3); identity (n_i, V, 3) with prior stds (n_i,); expression : (n_e, V, 3) rows
    already scaled to unit prior spread, or None.
    """

    def __init__(
        self,
        base: np.ndarray,
        identity: np.ndarray,
        identity_std: np.ndarray,
        expression: ExpressionBasis | None = None,
    ):
        self.base = np.asarray(base, np.float64)
        cols = [
            np.asarray(identity, np.float64).reshape(len(identity), -1)
            * np.asarray(identity_std, np.float64)[:, None]
        ]
        self.n_identity = len(identity)
        if expression is not None:
            self.base = self.base + expression.mean
            cols.append(expression.basis.reshape(len(expression.basis), -1).astype(np.float64))
        self.A = np.concatenate(cols).T  # (V*3, n)
        self._gram = self.A.T @ self.A

    def fit(self, face: np.ndarray, lam: float = FIT_LAMBDA) -> np.ndarray:
        """Coefficients (n,) of ``face`` (V, 3)."""
        r = (np.asarray(face, np.float64) - self.base).ravel()
        g = self._gram + lam * np.eye(len(self._gram))
        return np.linalg.solve(g, self.A.T @ r)

    def part(self, z: np.ndarray, which: str) -> np.ndarray:
        """(V, 3) contribution of the identity or the expression coefficients of ``z``."""
        sl = slice(0, self.n_identity) if which == "identity" else slice(self.n_identity, None)
        return (self.A[:, sl] @ z[sl]).reshape(-1, 3)


@lru_cache(maxsize=2)
def _model(joint: bool) -> LinearFaceModel:
    from core.apps.face_basis import load_face_basis

    fb = load_face_basis()
    ident = fb.linear_basis()  # (n_i, V, 3)
    n_c = len(fb.phen_components)
    std = np.concatenate([fb.phen_coeffs.std(0), np.full(len(ident) - n_c, LOCAL_PRIOR_STD)])
    return LinearFaceModel(fb.phen_mean, ident, std, load_expression_basis() if joint else None)


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity (s, R (3, 3), t (3,)) minimising ||s R src + t - dst|| over points (K, 3)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag(d) @ vt
    s = float((sig * d).sum() / (a**2).sum() * len(src))
    return s, r, mu_d - s * r @ mu_s


def neutralize(
    face: np.ndarray, method: str = "joint", pipeline=None, align: bool = False
) -> np.ndarray:
    """The neutral face (V, 3) float32 of an expressive ``face`` (V, 3) of our topology.

    ``pipeline`` (:class:`core.pipeline.S2DPipeline`) is needed by ``method="paper"`` only.
    ``align``: first bring the face onto the basis' default face by a similarity (Umeyama on
    :data:`ALIGN_LANDMARKS`), neutralize there and map the result back; for faces in another
    pose or scale than anny's (e.g. fitted from another topology). Off by default: it would
    also remove a real difference of size between identities.
    """
    if align and method != "none":
        from core.apps.face_basis import load_face_basis
        from core.assets import load_landmarks

        e = np.asarray(face, np.float64)
        k = load_landmarks().indices[list(ALIGN_LANDMARKS)]
        s, r, t = umeyama(e[k], load_face_basis().default.astype(np.float64)[k])
        out = neutralize((s * e @ r.T + t).astype(np.float32), method, pipeline)
        return (((out.astype(np.float64) - t) @ r) / s).astype(np.float32)
    if method not in METHODS:
        raise InvalidInputError(f"method: expected one of {', '.join(METHODS)}, found {method!r}")
    e = np.asarray(face, np.float64)
    from core.apps.face_basis import load_face_basis

    fb = load_face_basis()
    if e.shape != (fb.n_vertices, 3) or not np.isfinite(e).all():
        raise InvalidInputError(
            f"face: expected finite vertices of shape ({fb.n_vertices}, 3), found {e.shape}"
        )
    if method == "none":
        return e.astype(np.float32)
    if method == "paper":
        if pipeline is None:
            raise InvalidInputError("method 'paper' needs the S2D-Dec pipeline (pipeline=)")
        idx = pipeline.landmarks.indices
        template = fb.default.astype(np.float64)[idx]  # (68, 3) mean neutral landmarks
        k = list(ALIGN_LANDMARKS)
        s, r, t = umeyama(template[k], e[idx][k])
        target = (s * template @ r.T + t)[None].astype(np.float32)  # (1, 68, 3)
        return pipeline.decode(e.astype(np.float32), target)[0]
    model = _model(method == "joint")
    z = model.fit(e)
    if method == "basis":
        return (model.base + model.part(z, "identity")).astype(np.float32)
    return (
        e - model.part(z, "expression") - load_expression_basis().mean.astype(np.float64)
    ).astype(np.float32)
