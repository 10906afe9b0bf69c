"""Landmark sculpting maths: a Gaussian prior of landmark displacements and temporal falloff.

*Coherent* sculpting moves the landmarks the user did not touch the way faces move: the prior is
a Gaussian N(mu, Sigma) over the 3K normalised landmark displacements (landmarks minus the
neutral landmarks, divided by the face's landmark scale, :func:`core.models.normalization.
landmark_scale`), estimated once from the synthesised training data (:func:`build_landmark_prior`,
shipped as ``resources/landmark_prior.npz``). Given the displacements of an *observed* set O
(the dragged landmark, its mirror in symmetric mode, the pinned landmarks), the conditional
expectation of the others U is

    E[x_U | x_O] = mu_U + Sigma_UO Sigma_OO^-1 (x_O - mu_O).

The studio applies it to the *change* a drag makes: with G = Sigma_UO Sigma_OO^-1, a drag
delta d_O (pinned landmarks: d = 0) moves the others by G d_O. For a Gaussian this is exactly
the change of the conditional expectation, whatever the starting expression, so grabbing a
landmark never makes the face jump. G is dimensionless, so it applies to metres directly.
A ridge ``lambda * mean(diag Sigma) * I`` added to Sigma keeps Sigma_OO well conditioned (it acts
as observation noise: a larger ridge gives a more local edit).

A mouse drag only fixes the components of the dragged landmark's displacement in the camera's
view plane, so :class:`ConditionalEdit` conditions on *linear* observations A x = a instead
(delta = Sigma A^T (A Sigma A^T)^-1 a): the landmark's depth follows the prior too.
:class:`DragPlan` assembles the observations of one drag (dragged landmark, its mirror in
symmetric mode, pins) or, in *direct* mode, moves only the dragged landmark, or, in *smooth*
mode, moves the landmarks near the dragged one with a smooth falloff of their distance
(:func:`falloff_weights`): a lip or eyelid point then carries its neighbours along instead of
being pushed past them. The falloff radius scales with the face (:func:`smooth_radius`): 15 mm
on the default face, proportionally less on a child's.

*Temporal falloff* carries an edit made on frame t0 of a motion to the other frames:

    w(t) = exp(-(t - t0)^2 / (2 sigma^2)) * min(1, a(t) / a(t0)),

a Gaussian window of ``sigma`` frames times the expression envelope, where a(t) is the RMS
landmark displacement of frame t from frame 0. The envelope keeps the neutral first frame
neutral and lets the edit grow and fade with the expression; on a frame with a(t0) ~ 0 (the
neutral face) only the window applies. ``sigma = inf`` applies the edit to all frames (times the
envelope), ``sigma = 0`` to frame t0 only. w(t0) = 1 always.

Rebuild the prior with ``python main.py build-prior`` (needs the cached synthesised data set).
Shapes: K landmarks (68), T frames, n observed landmarks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, MissingWeightsError

__all__ = [
    "PRIOR_NAME",
    "DEFAULT_RIDGE",
    "ENVELOPE_EPS",
    "LandmarkPrior",
    "ConditionalEdit",
    "DragPlan",
    "DRAG_MODES",
    "SMOOTH_RADIUS",
    "DEFAULT_FACE_SIZE",
    "smooth_radius",
    "falloff_weights",
    "orthonormal_rows",
    "build_landmark_prior",
    "save_landmark_prior",
    "load_landmark_prior",
    "mirror_displacement",
    "temporal_weights",
]

#: File name of the shipped prior in ``resources/``.
PRIOR_NAME = "landmark_prior.npz"

#: Default relative ridge added to the covariance (fraction of its mean variance); chosen by the
#: held-out study in ``docs/studio.md`` (prediction error of unobserved landmarks).
DEFAULT_RIDGE = 0.05

#: Frames whose RMS landmark displacement (metres) is below this count as neutral for the
#: expression envelope of :func:`temporal_weights` (0.1 mm: far below any visible expression).
ENVELOPE_EPS = 1e-4

#: Singular values below this fraction of the largest make observation rows linearly dependent.
RANK_TOL = 1e-9

#: The ways a drag moves the landmarks (:class:`DragPlan`).
DRAG_MODES = ("direct", "coherent", "smooth")

#: Landmarks closer than this (metres) to a landmark dragged in *smooth* mode follow it on a face
#: of :data:`DEFAULT_FACE_SIZE` (measured with ``tests/benchmarks/bench_drag.py --mode smooth``;
#: see ``docs/generalization.md``); :func:`smooth_radius` scales it to other faces.
SMOOTH_RADIUS = 0.015

#: Size (metres) of the shipped default face: the RMS radius of its neutral landmarks
#: (:func:`core.models.normalization.landmark_scale`, exact float64 value), so that
#: :func:`smooth_radius` of the default face is exactly :data:`SMOOTH_RADIUS`.
DEFAULT_FACE_SIZE = 0.052313866687101016

#: x -> -x: mirrored landmarks move with the x component of the displacement negated.
_MIRROR_SIGN = np.array([-1.0, 1.0, 1.0])


@dataclass(frozen=True)
class LandmarkPrior:
    """Gaussian prior of normalised landmark displacements.

    mean : (K, 3) float64; cov : (3K, 3K) float64, ridge already added (row index = 3 k + axis).
    """

    mean: np.ndarray
    cov: np.ndarray

    @property
    def n_landmarks(self) -> int:
        return int(self.mean.shape[0])

    def gain(self, observed: Sequence[int]) -> np.ndarray:
        """Linear map from the full deltas of observed landmarks to all landmark deltas.

        Parameters
        ----------
        observed : sequence of n distinct landmark indices (n >= 1)

        Returns
        -------
        (3K, 3n) float64
            ``delta_all.ravel() = G @ delta_obs.ravel()``; the rows of the observed landmarks are
            the identity (observed landmarks move exactly as requested).
        """
        obs = np.asarray(list(observed), dtype=np.int64)
        k = self.n_landmarks
        if obs.size == 0 or len(set(obs.tolist())) != obs.size or obs.min() < 0 or obs.max() >= k:
            raise InvalidInputError(
                f"observed landmarks must be distinct indices in [0, {k}), found {obs.tolist()}"
            )
        return ConditionalEdit(self, [(int(i), np.eye(3)) for i in obs]).gain

    def propagate(self, observed: Sequence[int], delta_obs: np.ndarray) -> np.ndarray:
        """Deltas (K, 3) of all landmarks given deltas (n, 3) of the observed ones."""
        d = np.asarray(delta_obs, dtype=np.float64).reshape(-1)  # (3n,)
        return (self.gain(observed) @ d).reshape(self.n_landmarks, 3)

    def conditional_mean(self, observed: Sequence[int], x_obs: np.ndarray) -> np.ndarray:
        """E[x | x_O = x_obs] (K, 3) in normalised units, given x_obs (n, 3)."""
        obs = np.asarray(list(observed), dtype=np.int64)
        d = np.asarray(x_obs, dtype=np.float64) - self.mean[obs]
        return self.mean + self.propagate(obs, d)


def orthonormal_rows(rows: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """An orthonormal basis (r, 3) of the span of ``rows`` (m, 3); r = its numerical rank."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    if rows.size == 0:
        return rows
    u, s, vt = np.linalg.svd(rows, full_matrices=False)
    return vt[s > tol * max(1.0, float(s[0]))]


class ConditionalEdit:
    """Conditional expectation of all landmark deltas given *linear* observations of some.

    Each observation ``(k, rows)`` says that the components of landmark k's delta along the
    rows (m, 3) are known (a drag in the view plane: 2 rows; a pinned landmark: the 3 axes).
    Built once per drag (the rows do not change while the mouse moves); calling it with the
    deltas is one (3K, m) matrix product:

        delta_all = Sigma A^T (A Sigma A^T)^-1 a,   a = stacked rows @ delta_k,

    which reproduces every observed component exactly (A delta_all = a).

    Parameters
    ----------
    prior : LandmarkPrior
    observations : sequence of (landmark index, rows (m, 3)); rows are orthonormalised, and a
        landmark may appear once.
    """

    def __init__(
        self, prior: LandmarkPrior, observations: Sequence[tuple[int, np.ndarray]]
    ) -> None:
        k = prior.n_landmarks
        seen = [int(i) for i, _ in observations]
        if not seen or len(set(seen)) != len(seen) or min(seen) < 0 or max(seen) >= k:
            raise InvalidInputError(
                f"observations need distinct landmark indices in [0, {k}), found {seen}"
            )
        self.landmarks = seen
        self.rows = [orthonormal_rows(r) for _, r in observations]
        blocks = []
        for i, r in zip(seen, self.rows, strict=True):
            a = np.zeros((len(r), 3 * k))
            a[:, 3 * i : 3 * i + 3] = r
            blocks.append(a)
        a = np.concatenate(blocks)  # (m, 3K)
        sa = prior.cov @ a.T  # (3K, m)
        #: (3K, m) map from stacked observed components to all deltas
        self.gain = np.linalg.solve(a @ sa, sa.T).T if len(a) else np.zeros((3 * k, 0))
        self.n_landmarks = k

    def __call__(self, deltas: Sequence[np.ndarray]) -> np.ndarray:
        """All deltas (K, 3) given one delta (3,) per observation (its observed components
        are used; the rest is inferred)."""
        a = np.concatenate(
            [r @ np.asarray(d, dtype=np.float64) for r, d in zip(self.rows, deltas, strict=True)]
        )
        return (self.gain @ a).reshape(self.n_landmarks, 3)


class DragPlan:
    """How one drag moves all landmarks; built once when a landmark is grabbed.

    Parameters
    ----------
    landmark : int
        The dragged landmark k.
    mirror : (K,) int
        Landmark mirror map (``Landmarks.mirror``).
    mode : {"direct", "coherent", "smooth"}
        ``direct``: only the dragged landmark (and its mirror) moves. ``coherent``: the
        components of the drag along ``view_rows`` are observed, pinned landmarks are observed
        not to move, and everything else (other landmarks, and the dragged landmark's depth)
        follows the prior's conditional expectation (:class:`ConditionalEdit`). ``smooth``:
        the landmarks within ``radius`` of the dragged one (of its mirror, for the mirrored
        drag) move by the drag times :func:`falloff_weights`; pinned landmarks stay.
    prior : LandmarkPrior or None
        Needed for ``coherent``.
    pins : iterable of int
        Pinned landmarks (ignored for the dragged landmark and its mirror).
    symmetric : bool
        Mirror the drag onto ``mirror[k]`` (x -> -x); a landmark on the mid-line
        (``mirror[k] == k``) then keeps x fixed.
    view_rows : (r, 3) or None
        Directions the user controls (the camera's right and up vectors for a mouse drag);
        None means all three axes.
    positions : (K, 3) or None
        Landmark positions when the drag starts (metres); needed for ``smooth``.
    radius : float or None
        The ``smooth`` falloff radius (metres); None: :func:`smooth_radius` of ``positions``
        (pass ``smooth_radius(neutral landmarks)`` to make it independent of the expression).
        The radius used is ``self.radius`` (None in the other modes).
    """

    def __init__(
        self,
        landmark: int,
        mirror: np.ndarray,
        mode: str = "direct",
        prior: LandmarkPrior | None = None,
        pins=(),
        symmetric: bool = False,
        view_rows: np.ndarray | None = None,
        positions: np.ndarray | None = None,
        radius: float | None = None,
    ) -> None:
        if mode not in DRAG_MODES:
            raise InvalidInputError(f"mode must be one of {DRAG_MODES}, found {mode!r}")
        if mode == "coherent" and prior is None:
            raise InvalidInputError("coherent sculpting needs a landmark prior")
        if mode == "smooth" and (positions is None or np.shape(positions) != (len(mirror), 3)):
            raise InvalidInputError(
                f"smooth sculpting needs the ({len(mirror)}, 3) landmark positions, found "
                f"{None if positions is None else np.shape(positions)}"
            )
        self.landmark = k = int(landmark)
        self.mirror = int(np.asarray(mirror)[k]) if symmetric else k
        self.symmetric = bool(symmetric)
        self.mode = mode
        self.n_landmarks = len(mirror)
        rows = np.eye(3) if view_rows is None else np.asarray(view_rows, np.float64)
        if self.symmetric and self.mirror == k:
            rows = np.concatenate([rows, [[1.0, 0.0, 0.0]]])
        self.moved = [k] if self.mirror == k else [k, self.mirror]
        self.pins = sorted({int(p) for p in pins} - set(self.moved))
        self._edit = None
        self._weights = None  # (n moved, K) smooth falloff of each moved landmark
        self.radius = None
        if mode == "smooth":
            p = np.asarray(positions, np.float64)
            self.radius = float(smooth_radius(p) if radius is None else radius)
            w = falloff_weights(p, self.moved, self.radius)
            w[:, self.pins] = 0.0
            self._weights = w
        if mode == "coherent":
            obs = [(k, rows)]
            if self.mirror != k:
                obs.append((self.mirror, mirror_displacement(rows)))
            obs += [(p, np.eye(3)) for p in self.pins]
            self._edit = ConditionalEdit(prior, obs)

    def delta(self, drag: np.ndarray) -> np.ndarray:
        """All landmark deltas (K, 3) for a drag vector (3,) of the grabbed landmark."""
        d = np.asarray(drag, dtype=np.float64).reshape(3)
        if self.symmetric and self.mirror == self.landmark:
            d = d * np.array([0.0, 1.0, 1.0])
        moved = [d] if self.mirror == self.landmark else [d, mirror_displacement(d)]
        if self._edit is not None:
            return self._edit(moved + [np.zeros(3)] * len(self.pins))
        if self._weights is not None:
            return np.einsum("mk,mc->kc", self._weights, np.asarray(moved))  # (K, 3)
        out = np.zeros((self.n_landmarks, 3))
        for i, v in zip(self.moved, moved, strict=True):
            out[i] = v
        return out


def falloff_weights(positions: np.ndarray, centres, radius: float) -> np.ndarray:
    """Smooth weights (n, K) of landmarks around ``centres`` (n,) indices: positions (K, 3).

    ``w = (1 - (r / radius)^2)^2`` for the distance r < radius to the centre, else 0 (1 at the
    centre, zero slope at the radius). Where two centres (a drag and its mirror) reach one
    landmark, each row is scaled so that the landmark moves at most by the larger weight, and a
    centre is moved by its own drag only.
    """
    p = np.asarray(positions, np.float64)
    c = [int(i) for i in centres]
    if not radius > 0:
        raise InvalidInputError(f"the falloff radius must be positive, found {radius}")
    r = np.linalg.norm(p[None] - p[c][:, None], axis=-1) / radius  # (n, K)
    w = np.clip(1.0 - r**2, 0.0, None) ** 2
    total = w.sum(0)
    w = w * np.where(total > 1.0, w.max(0) / np.maximum(total, 1e-12), 1.0)
    for row, i in enumerate(c):
        w[:, i] = 0.0
        w[row, i] = 1.0
    return w


def smooth_radius(neutral_landmarks: np.ndarray, base: float = SMOOTH_RADIUS) -> float:
    """The smooth drag radius (metres) of a face: ``base`` × its size / :data:`DEFAULT_FACE_SIZE`.

    The size is the RMS distance of the (K, 3) landmarks (metres) to their centroid
    (:func:`core.models.normalization.landmark_scale`): all K points count, so one misplaced
    landmark barely changes it; measure it on the neutral face so the expression does not.
    """
    from core.models.normalization import landmark_scale

    p = np.asarray(neutral_landmarks, np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 2 or not np.isfinite(p).all():
        raise InvalidInputError(f"a face size needs finite (K, 3) landmarks, found {p.shape}")
    size = float(landmark_scale(p))
    if not size > 0:
        raise InvalidInputError("a face size needs landmarks that are not all at one point")
    return float(base) * size / DEFAULT_FACE_SIZE


def mirror_displacement(delta: np.ndarray) -> np.ndarray:
    """The mirror image (x -> -x) of displacements (..., 3)."""
    return np.asarray(delta) * _MIRROR_SIGN


def _normalised_displacements(data) -> np.ndarray:
    """(N, K, 3) displacements of the training identities' frames, divided by their scale."""
    from core.models.normalization import landmark_scale

    neutral_lm = data.neutral_landmarks.astype(np.float64)  # (I, K, 3)
    scale = landmark_scale(neutral_lm)  # (I,)
    keep = ~np.asarray(data.id_test)[data.frame_identity]  # training identities only
    ident = data.frame_identity[keep]
    disp = data.frame_landmarks[keep].astype(np.float64) - neutral_lm[ident]  # (N, K, 3)
    return disp / scale[ident][:, None, None]


def build_landmark_prior(
    data, ridge: float = DEFAULT_RIDGE, mirror: np.ndarray | None = None
) -> dict:
    """Mean and covariance of normalised landmark displacements of a synthesised data set.

    Parameters
    ----------
    data : core.data.synth.SynthData
        Uses ``frame_landmarks``, ``neutral``/``landmark_idx``, ``frame_identity`` and
        ``id_test`` (test identities are left out).
    ridge : float
        Relative ridge: ``ridge * mean(diag cov)`` is added to the diagonal.
    mirror : (K,) int or None
        Landmark mirror map; when given, every frame is also used mirrored (x -> -x), so the prior
        is exactly left/right symmetric.

    Returns
    -------
    dict
        ``mean`` (K, 3) float64, ``cov`` (3K, 3K) float64 (ridge included), ``ridge`` float,
        ``n_samples`` int, ``data_key`` str (the data config key).
    """
    x = _normalised_displacements(data)  # (N, K, 3)
    if mirror is not None:
        x = np.concatenate([x, mirror_displacement(x[:, np.asarray(mirror)])])
    n, k, _ = x.shape
    flat = x.reshape(n, 3 * k)
    mean = flat.mean(0)
    c = flat - mean
    cov = c.T @ c / max(n - 1, 1)  # (3K, 3K)
    cov = 0.5 * (cov + cov.T)
    cov[np.diag_indices_from(cov)] += ridge * float(np.mean(np.diag(cov)))
    return {
        "mean": mean.reshape(k, 3),
        "cov": cov,
        "ridge": float(ridge),
        "n_samples": int(n),
        "data_key": str(data.config.key()),
    }


def save_landmark_prior(path: str | Path, prior: dict) -> Path:
    """Write a prior dict (:func:`build_landmark_prior`) atomically as npz."""
    from core.io.atomic import atomic_savez

    return atomic_savez(path, prior)


def load_landmark_prior(path: str | Path | None = None) -> LandmarkPrior:
    """Load the shipped (or a given) prior; :class:`MissingWeightsError` when absent."""
    if path is None:
        from core.assets import resource_path

        path = resource_path(PRIOR_NAME)
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(
            f"landmark prior {path} not found; rebuild it with `python main.py build-prior`"
        )
    with np.load(path, allow_pickle=False) as d:
        return LandmarkPrior(mean=d["mean"].astype(np.float64), cov=d["cov"].astype(np.float64))


def temporal_weights(landmarks: np.ndarray, t0: int, sigma: float) -> np.ndarray:
    """Per-frame weights (T,) of an edit made on frame ``t0`` (module docstring).

    Parameters
    ----------
    landmarks : (T, K, 3) float
        The motion's landmarks; frame 0 is its neutral start.
    t0 : int
        The edited frame.
    sigma : float
        Width of the Gaussian window in frames (>= 0; ``math.inf`` for no window).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    n_frames = lm.shape[0]
    if not 0 <= t0 < n_frames:
        raise InvalidInputError(f"t0 must be a frame in [0, {n_frames}), found {t0}")
    if not sigma >= 0:
        raise InvalidInputError(f"sigma must be >= 0 frames (or inf), found {sigma}")
    t = np.arange(n_frames, dtype=np.float64)
    if math.isinf(sigma):
        window = np.ones(n_frames)
    elif sigma == 0:
        window = (t == t0).astype(np.float64)
    else:
        window = np.exp(-0.5 * ((t - t0) / sigma) ** 2)
    amp = np.sqrt(((lm - lm[0]) ** 2).sum(-1).mean(-1))  # (T,) RMS displacement, metres
    if amp[t0] > ENVELOPE_EPS:
        window = window * np.clip(amp / amp[t0], 0.0, 1.0)
    window[t0] = 1.0
    return window
