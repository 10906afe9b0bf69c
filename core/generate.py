"""Public API of 4D expression generation: label + noise seed -> dense animation (paper Fig. 2).

>>> from core.generate import MotionGenerator
>>> gen = MotionGenerator.load()          # models/motion3dgan.safetensors + S2D-Dec
>>> m = gen.generate("happy", seed=0)     # Motion: landmarks (30, 68, 3), vertices (30, V, 3)
>>> mix = gen.interpolate(m, gen.generate("surprised", 3), 0.5)
>>> faces = gen.mix_apex(m, gen.generate("sad", 1), [0, 0.5, 1])   # 3 mixed apex faces
>>> moved = gen.transfer(source_landmarks, target_neutral)          # expression transfer

How a motion reaches a face: Motion3DGAN gives an SRVF ``q`` (M, D) on the unit sphere and a
length ``L`` in units of the face scale (:mod:`core.models.motion_gan`). The curve
``c = srvf_to_curve(q, 0, L)`` (eq. 5, exact inverse) is the displacement from the neutral in
those units; on a face with neutral landmarks ``X_0`` and scale ``s``
(:func:`core.models.normalization.landmark_scale`) the landmarks are ``X_t = X_0 + s c_t`` (so
frame 0 is exactly the neutral). S2D-Dec decodes all frames in one batched call; the decoder's
output for frame 0 is subtracted from every frame (the residual that makes frame 0 the neutral
face exactly).

Frame counts other than the model's ``T = 30``: the rebuilt curve is resampled linearly in time
(``t in [0, 1]``, first and last frames kept); ``Motion.srvf`` is then the SRVF of the resampled
curve (shape ``(n_frames - 1, 204)``) and ``meta["length"]`` its length, so :meth:`interpolate`
works on motions of equal frame count. Determinism: the noise of seed ``s`` comes from a CPU
``torch.Generator`` seeded with ``s`` on every call, so a seed gives the identical motion on the
same device (different devices may differ by float rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.arrays import check_array
from core.assets import load_face, load_landmarks
from core.edit.residual import apply_residual
from core.errors import InvalidInputError
from core.geometry.sphere import geodesic
from core.geometry.srvf import curve_to_srvf, srvf_to_curve
from core.glossary import N_LANDMARKS
from core.models.motion_gan import SIDES
from core.models.normalization import landmark_scale
from core.motion import Motion
from core.paths import MODELS
from core.pipeline import DEFAULT_DECODER, S2DPipeline
from core.runtime import pick_device

__all__ = [
    "DEFAULT_GAN",
    "MotionGenerator",
    "default_generator",
    "generate",
    "interpolate",
    "check_seed",
    "resample_curve",
]

DEFAULT_GAN = MODELS / "motion3dgan.safetensors"
FPS = 30.0
#: Frames decoded per batched call: long motions are decoded in chunks of this size, so the
#: decoder's working memory does not grow with the frame count (results are the same).
DECODE_CHUNK = 60


def check_seed(seed) -> int:
    """A noise seed as int; InvalidInputError unless it is an integer in ``[0, 2**63)``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidInputError(
            f"seed: expected a non-negative integer, found {seed!r} ({type(seed).__name__}); "
            "pass e.g. seed=0"
        )
    if not 0 <= int(seed) < 2**63:
        raise InvalidInputError(
            f"seed: expected an integer in [0, 2**63), found {int(seed)}; use a non-negative seed"
        )
    return int(seed)


def resample_curve(curve: np.ndarray, n_frames: int) -> np.ndarray:
    """Linear resampling in time of a curve (T, ...) at ``n_frames`` uniform times in [0, 1]."""
    curve = np.asarray(curve)
    t_n = curve.shape[0]
    if n_frames == t_n:
        return curve
    pos = np.linspace(0.0, t_n - 1, n_frames)  # (n,) source frame positions
    i0 = np.minimum(np.floor(pos).astype(int), t_n - 2)
    f = (pos - i0).reshape(-1, *([1] * (curve.ndim - 1)))
    return (1 - f) * curve[i0] + f * curve[i0 + 1]


class MotionGenerator:
    """Motion3DGAN + S2D-Dec behind label/seed calls; every result is a :class:`Motion`.

    Parameters
    ----------
    gan : Motion3DGAN or None
        Trained model in eval mode (``None``: only :meth:`interpolate`, :meth:`mix_apex` and
        :meth:`transfer` work).
    pipeline : S2DPipeline or None
        Decoder; ``None`` loads ``decoder_weights`` on first use (MissingWeightsError if absent).
    meta : dict
        Provenance copied into every Motion (e.g. ``{"motion3dgan_sha256": ...}``).
    decoder_weights : path
        Weights loaded when ``pipeline`` is None.
    device : str or torch.device
    """

    def __init__(
        self,
        gan=None,
        pipeline: S2DPipeline | None = None,
        meta: dict | None = None,
        decoder_weights: Path | str = DEFAULT_DECODER,
        device="cpu",
    ) -> None:
        self.gan = gan
        self._pipeline = pipeline
        self.meta = dict(meta or {})
        self.decoder_weights = Path(decoder_weights)
        self.device = torch.device(device)
        self.labels: tuple[str, ...] = tuple(gan.config.labels) if gan is not None else ()
        #: Labels generated on one side of the face, chosen per seed or by ``side=``.
        self.one_sided: tuple[str, ...] = tuple(gan.config.one_sided) if gan is not None else ()

    @classmethod
    def load(
        cls,
        weights: Path | str = DEFAULT_GAN,
        device: str = "auto",
        decoder_weights: Path | str = DEFAULT_DECODER,
    ) -> MotionGenerator:
        """Load Motion3DGAN weights; S2D-Dec is loaded on the first dense decode."""
        from core.models.loaders import load_gan

        dev = pick_device(device)
        gan, meta = load_gan(weights, dev)
        return cls(gan, None, {"motion3dgan_sha256": meta["sha256"]}, decoder_weights, dev)

    # -- pieces ---------------------------------------------------------------------------------

    @property
    def pipeline(self) -> S2DPipeline:
        """The S2D-Dec pipeline (loaded on first access)."""
        if self._pipeline is None:
            self._pipeline = S2DPipeline.load(self.decoder_weights, device=str(self.device.type))
        return self._pipeline

    def label_index(self, label: str) -> int:
        """Index of ``label``; InvalidInputError listing the known labels otherwise."""
        self._config()
        if not isinstance(label, str) or label not in self.labels:
            raise InvalidInputError(
                f"label: expected one of {', '.join(self.labels)}; found {label!r}"
            )
        return self.labels.index(label)

    def side_of(self, label: str, seed: int, side: str | None = None) -> str | None:
        """The side a one-sided ``label`` is generated on: ``side`` when given, otherwise a
        draw from ``seed`` (the uniform that follows the seed's noise vector); None for labels
        that are not one-sided (passing a side for those raises InvalidInputError)."""
        cfg = self._config()
        self.label_index(label)
        if label not in cfg.one_sided:
            cfg.class_index(label, side)  # raises when a side is given
            return None
        if side is not None:
            cfg.class_index(label, side)  # validates
            return side
        return self._noise(seed)[1]

    def _noise(self, seed: int) -> tuple[torch.Tensor, str]:
        """The noise (1, z_dim) of ``seed`` and the side drawn after it (a CPU generator seeded
        per call: the same seed gives the same draws on every device)."""
        g = torch.Generator().manual_seed(check_seed(seed))
        z = torch.randn(1, self._config().z_dim, generator=g)
        return z, SIDES[int(torch.rand((), generator=g) >= 0.5)]

    def _config(self):
        if self.gan is None:
            raise InvalidInputError("no Motion3DGAN weights are loaded; use MotionGenerator.load()")
        return self.gan.config

    @torch.inference_mode()
    def sample_srvf(
        self, labels: Sequence[str], seeds: Sequence[int], sides: Sequence[str | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """SRVFs (B, M, D) float64 and lengths (B,) float64 (face-scale units) for label/seed pairs.

        ``sides`` (optional, one per pair) picks the side of one-sided labels
        (:meth:`side_of`; None = drawn from the seed). Each sample's noise comes from its own
        seed, so a pair gives the same motion alone or in a batch (up to float rounding of the
        batched matmuls).
        """
        seeds = [check_seed(s) for s in seeds]
        sides = [None] * len(seeds) if sides is None else list(sides)
        if not len(labels) == len(seeds) == len(sides) or not seeds:
            raise InvalidInputError(
                f"expected as many labels as seeds (and sides) >= 1, found {len(labels)}, "
                f"{len(seeds)} (and {len(sides)})"
            )
        cfg = self._config()
        zs, cls = [], []
        for lab, s, side in zip(labels, seeds, sides, strict=True):
            z, drawn = self._noise(s)
            if side is None and lab in cfg.one_sided:
                side = drawn
            zs.append(z)
            cls.append(cfg.class_index(lab, side))  # checks the label and the side
        z = torch.cat(zs)
        w, ell = self.gan.generate(z.to(self.gan.p.device), self.gan.one_hot(torch.as_tensor(cls)))
        q, length = self.gan.to_sphere(w, ell)
        return q.double().cpu().numpy(), length.double().cpu().numpy()

    def landmark_motion(
        self, q, length, neutral_landmarks, n_frames: int | None = None
    ) -> np.ndarray:
        """Landmarks (T', K, 3) float32 of an SRVF (M, D) + length replayed on landmarks (K, 3).

        ``X_t = X_0 + s c_t`` with ``c = srvf_to_curve(q, 0, L)``; frame 0 is ``X_0`` exactly.
        ``n_frames`` (default ``M + 1``) resamples the curve linearly in time.
        """
        return self._replay(q, length, neutral_landmarks, n_frames)[0]

    @staticmethod
    def _replay(q, length, neutral_landmarks, n_frames=None) -> tuple[np.ndarray, np.ndarray]:
        """(landmarks (T', K, 3) float32, relative curve (T', D) float64 in face-scale units)."""
        lm0 = check_array("neutral landmarks", neutral_landmarks, (None, 3))
        q = torch.as_tensor(np.asarray(q), dtype=torch.float64)
        rel = srvf_to_curve(
            q, torch.zeros(q.shape[-1], dtype=torch.float64), float(length)
        ).numpy()  # (T, D)
        t_n = q.shape[0] + 1 if n_frames is None else int(n_frames)
        if t_n < 2:
            raise InvalidInputError(f"n_frames: expected an integer >= 2, found {n_frames!r}")
        rel = resample_curve(rel, t_n)  # (T', D)
        s = float(landmark_scale(lm0.astype(np.float64)))
        out = (lm0.astype(np.float64) + s * rel.reshape(t_n, -1, 3)).astype(np.float32)
        out[0] = lm0
        return out, rel

    def decode(self, neutral: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Dense frames (T, V, 3) for landmarks (T, K, 3) on a neutral (V, 3), one batched call.

        The residual convention of :mod:`core.edit.residual` with the neutral as reference:
        ``V_t = V_0 + (D(X_t) - D(X_0))`` (V_0 = ``neutral``, X_0 = ``landmarks[0]``), so frame 0
        equals ``neutral`` exactly.
        """
        pipe = self.pipeline
        nv = pipe.check_neutral(neutral)[0]  # (V, 3)
        chunk = min(max(1, len(landmarks)), DECODE_CHUNK)
        verts = pipe.decode(nv, landmarks, batch=chunk)  # (T, V, 3)
        return apply_residual(nv[None], verts, verts[:1])

    def _neutral(self, neutral) -> np.ndarray:
        if neutral is None:
            return load_face().vertices
        return self.pipeline.check_neutral(neutral)[0]

    def _motion(self, neutral, landmarks, rel, srvf, label, seed, fps, extra) -> Motion:
        """Decode and wrap; ``srvf`` = (q, L) of ``rel`` when known, else re-encoded from it."""
        verts = self.decode(neutral, landmarks)
        if srvf is None:
            srvf = curve_to_srvf(torch.as_tensor(rel))
        q, length = srvf
        s = float(landmark_scale(np.asarray(landmarks[0], np.float64)))
        meta = {**self.meta, **extra, "length": float(length), "scale": s, "units": "m"}
        if self._pipeline is not None and self._pipeline.meta.get("sha256"):
            meta.setdefault("decoder_sha256", self._pipeline.meta["sha256"])
        q = np.asarray(q.numpy() if isinstance(q, torch.Tensor) else q, np.float32)
        return Motion(landmarks, verts, label, seed, fps, q, meta)

    @staticmethod
    def _relative(landmarks: np.ndarray) -> np.ndarray:
        """(T, K, 3) landmarks -> (T, D) float64 displacement from frame 0 in face-scale units."""
        lm = np.asarray(landmarks, np.float64)
        return ((lm - lm[0]) / float(landmark_scale(lm[0]))).reshape(len(lm), -1)

    # -- public API -----------------------------------------------------------------------------

    def generate(
        self, label: str, seed: int, n_frames: int = 30, neutral=None, side: str | None = None
    ) -> Motion:
        """A neutral -> apex animation of ``label`` from noise ``seed``.

        Parameters
        ----------
        label : str
            One of :attr:`labels`.
        seed : int
            Noise seed (>= 0); the same seed gives the same motion on the same device.
        n_frames : int
            Frames of the result (the model makes 30; others are resampled linearly in time).
        neutral : (V, 3) float or None
            Neutral face (metres) of the model topology; default: the shipped face.
        side : {"left", "right"} or None
            For one-sided labels (:attr:`one_sided`, e.g. mouth_side, contempt): the subject's
            side; None draws it from ``seed``. Must be None for other labels.

        Returns
        -------
        Motion
            landmarks (n_frames, 68, 3), vertices (n_frames, V, 3), frame 0 == ``neutral``.
        """
        if (
            isinstance(n_frames, bool)
            or not isinstance(n_frames, (int, np.integer))
            or n_frames < 2
        ):
            raise InvalidInputError(f"n_frames: expected an integer >= 2, found {n_frames!r}")
        side = self.side_of(label, seed, side)
        q, length = self.sample_srvf([label], [seed], [side])
        nv = self._neutral(neutral)
        lm, rel = self._replay(q[0], length[0], load_landmarks().gather(nv), n_frames)
        exact = (q[0], length[0]) if n_frames == q.shape[1] + 1 else None
        extra = {"generated_length": float(length[0]), "model_frames": q.shape[1] + 1}
        if side is not None:
            extra["side"] = side
        return self._motion(nv, lm, rel, exact, label, check_seed(seed), FPS, extra)

    @classmethod
    def encode(cls, landmarks) -> tuple[np.ndarray, float]:
        """SRVF (T-1, D) float64 and length of a landmark sequence (T, K, 3), scale-free.

        The sequence (any units) is divided by the RMS radius of its frame 0; a motionless
        sequence raises InvalidInputError.
        """
        lm = check_array("landmarks", landmarks, (None, None, 3))
        if len(lm) < 2:
            raise InvalidInputError(f"landmarks: expected at least 2 frames, found {len(lm)}")
        q, length = curve_to_srvf(torch.as_tensor(cls._relative(lm)))
        return q.numpy(), float(length)

    def _srvf_of(self, m: Motion) -> tuple[torch.Tensor, float]:
        if not isinstance(m, Motion):
            raise InvalidInputError(f"expected a Motion, found {type(m).__name__}")
        if m.srvf is not None and "length" in m.meta:
            return torch.as_tensor(m.srvf, dtype=torch.float64), float(m.meta["length"])
        q, length = self.encode(m.landmarks)
        return torch.as_tensor(q), length

    def interpolate_srvf(self, a: Motion, b: Motion, tau: float) -> tuple[np.ndarray, float]:
        """SRVF (M, D) float64 and length at ``tau`` on the geodesic from ``a`` to ``b``.

        ``q = psi(tau)`` (:func:`core.geometry.sphere.geodesic`, Sec. 4.4) and the lengths
        interpolated linearly, ``(1 - tau) L_a + tau L_b``.
        """
        tau = self._check_tau(tau)
        qa, la = self._srvf_of(a)
        qb, lb = self._srvf_of(b)
        if qa.shape != qb.shape:
            raise InvalidInputError(
                f"expected motions with equal frame counts, found {a.n_frames} and {b.n_frames}; "
                "generate both with the same n_frames"
            )
        return geodesic(qa, qb, tau).numpy(), (1 - tau) * la + tau * lb

    def interpolate(self, a: Motion, b: Motion, tau: float) -> Motion:
        """The motion at ``tau`` in [0, 1] on the sphere geodesic from ``a`` to ``b`` (Sec. 4.4).

        SRVF and length from :meth:`interpolate_srvf`, replayed on ``a``'s neutral face.
        ``tau = 0`` / ``1`` reproduce ``a`` / ``b``'s motion (``b``'s on ``a``'s face).
        """
        q, length = self.interpolate_srvf(a, b, tau)
        lm, rel = self._replay(q, length, a.landmarks[0])
        extra = {
            "interpolation": {"from": [a.label, a.seed], "to": [b.label, b.seed], "tau": float(tau)}
        }
        return self._motion(a.vertices[0], lm, rel, (q, length), None, None, a.fps, extra)

    def mix_apex(self, a: Motion, b: Motion, tau) -> Motion:
        """Mixed expressions: the apex (last frame) of the interpolated motion at each ``tau``.

        ``tau`` is a float (a 1-frame Motion) or a sequence (one frame per value, e.g.
        ``np.linspace(0, 1, 30)`` switches from ``a``'s apex to ``b``'s). The result has no
        neutral frame 0 and ``srvf=None``.
        """
        taus = [self._check_tau(t) for t in np.atleast_1d(np.asarray(tau, dtype=object))]
        lm0 = a.landmarks[0]
        apex = np.stack(
            [self.landmark_motion(*self.interpolate_srvf(a, b, t), lm0)[-1] for t in taus]
        )
        verts = self.decode(a.vertices[0], np.concatenate([lm0[None], apex]))[1:]
        meta = {
            **self.meta,
            "mix_apex": {"from": [a.label, a.seed], "to": [b.label, b.seed], "tau": taus},
            "units": "m",
        }
        return Motion(apex, verts, None, None, a.fps, None, meta)

    def transfer(self, source_landmarks, target_neutral=None, fps: float = FPS) -> Motion:
        """Expression transfer: the motion of landmark sequence (T, 68, 3) on another face.

        The source (any units) is divided by its frame-0 scale, encoded as SRVF + length and
        replayed on ``target_neutral`` (V, 3) (default: the shipped face) at the target's scale.
        """
        src = check_array("source_landmarks", source_landmarks, (None, N_LANDMARKS, 3))
        q, length = self.encode(src)  # raises on a static sequence
        nv = self._neutral(target_neutral)
        lm, rel = self._replay(q, length, load_landmarks().gather(nv))
        return self._motion(nv, lm, rel, (q, length), None, None, fps, {"transfer": True})

    @staticmethod
    def _check_tau(tau) -> float:
        try:
            t = float(tau)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"tau: expected a number in [0, 1], found {tau!r}") from exc
        if not 0.0 <= t <= 1.0:
            raise InvalidInputError(f"tau: expected a number in [0, 1], found {t}")
        return t


@lru_cache(maxsize=1)
def default_generator() -> MotionGenerator:
    """The shipped Motion3DGAN + S2D-Dec (loaded once per process)."""
    return MotionGenerator.load()


def generate(
    label: str, seed: int, n_frames: int = 30, neutral=None, side: str | None = None
) -> Motion:
    """:meth:`MotionGenerator.generate` with the default models."""
    return default_generator().generate(label, seed, n_frames, neutral, side)


def interpolate(a: Motion, b: Motion, tau: float) -> Motion:
    """:meth:`MotionGenerator.interpolate` with the default models."""
    return default_generator().interpolate(a, b, tau)
