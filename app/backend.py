"""The models behind the studio, used only on the worker thread (see :mod:`app.worker`).

:class:`Backend` holds the S2D pipeline (landmarks -> dense face) and the motion generator,
loads the real ones lazily on the worker (``S2DPipeline.load``, ``MotionGenerator.load``) unless
objects were injected (tests inject small fakes with the same methods), and keeps two caches:
generated motions by (label, seed, frames, face) and decoded *base* frames (the decoder's output
for the unedited landmarks, used to apply drag previews as a residual, see :mod:`core.edit`).

Pipeline protocol: ``face``, ``landmarks``, ``device``, ``meta``, ``decode(neutral (V, 3),
landmarks (B, 68, 3)) -> (B, V, 3)``. Generator protocol: ``generate(label, seed, n_frames,
neutral, side) -> Motion``, ``interpolate(a, b, tau) -> Motion``, ``mix_apex(a, b, tau) -> Motion``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import numpy as np

from core.edit.residual import (
    STUDIO_TRACED_BATCHES,
    apply_residual,
    decode_edited_motion,
    pipeline_edit,
)
from core.errors import MissingWeightsError
from core.glossary import N_LANDMARKS
from core.motion import Motion

__all__ = ["Backend", "LruCache"]

#: Decoded base frames kept (a frame is V*3 float32, ~50 kB): 10 motions of 30 frames.
BASE_CACHE_FRAMES = 300
#: Batch size traced at start-up besides 1: the frames of a generated motion.
WARM_FRAMES = 30
#: Generated motions kept for interpolation A/B, compare picks and undo/redo.
MOTION_CACHE = 48


class LruCache(OrderedDict):
    """A small least-recently-used dict."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


class Backend:
    """Worker-side access to the decoder and the generator.

    Parameters
    ----------
    pipeline, generator : objects implementing the protocols above, or None to load the real
        ones on first use.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"`` for the real models.
    """

    def __init__(self, pipeline=None, generator=None, device: str = "auto") -> None:
        self._pipeline = _gil_free(pipeline)
        self._generator = generator
        self._device = device
        self._generator_error: str | None = None
        self.motions = LruCache(MOTION_CACHE)
        self.base_frames = LruCache(BASE_CACHE_FRAMES)
        self._threads_set = False
        #: CPU time (ms) of a single-face decode, measured after loading (None before):
        #: the session decodes drags on the GUI thread when this is small (app.sculpting).
        self.inline_decode_ms: float | None = None

    # --------------------------------------------------------------------------- models
    def _interactive_threads(self) -> None:
        """One torch thread: on 2 cores libgomp's worker threads spin after each parallel region
        and steal the core the software renderer (llvmpipe) draws on, so the GUI stutters."""
        if not self._threads_set:
            import torch

            torch.set_num_threads(1)
            self._threads_set = True

    @property
    def pipeline(self):
        if self._pipeline is None:
            self._interactive_threads()
            from core.edit.replay import studio_pipeline

            self._pipeline = studio_pipeline(device=self._device)
        return self._pipeline

    @property
    def generator(self):
        if self._generator is None:
            if self._generator_error is not None:
                raise MissingWeightsError(self._generator_error)
            self._interactive_threads()
            try:
                from core.edit.replay import studio_generator
            except ImportError as exc:
                self._generator_error = (
                    f"the motion generator is not installed ({exc}); update the studio "
                    "(core/generate.py) to generate expressions; sculpting still works"
                )
                raise MissingWeightsError(self._generator_error) from exc
            try:  # shares the studio's decoder instead of loading a second copy
                self._generator = studio_generator(self.pipeline)
            except MissingWeightsError as exc:
                self._generator_error = str(exc)
                raise
        return self._generator

    def load(self) -> dict:
        """Load both models; returns ``{"device", "decoder", "generator"}`` (error strings
        instead of raising for the generator, so sculpting works without it)."""
        self._interactive_threads()
        info = {"device": str(self.pipeline.device).upper(), "generator": None}
        try:
            self.generator  # noqa: B018 - load it now, not on the first click
        except Exception as exc:  # noqa: BLE001 - reported as text, sculpting still works
            info["generator"] = str(exc)
        self._warm_up()
        return info

    def _warm_up(self) -> None:
        """Trace the decoder and its edit decode now for the batch sizes of a drag (1) and of a
        generated motion (30), ~0.1 s and ~1 s each, instead of on the first drag and the first click; then time a
        single-face decode (:attr:`inline_decode_ms`)."""
        pipe = self._pipeline
        nv = np.asarray(pipe.face.vertices, np.float32)
        lm = nv[np.asarray(pipe.landmarks.indices)][None]  # (1, 68, 3)
        if WARM_FRAMES in getattr(pipe, "traced_sizes", ()):
            pipe.decode(nv, np.repeat(lm, WARM_FRAMES, axis=0), batch=WARM_FRAMES)
            # the edit decode (per-edit gate) has traces of its own: a drag (1), a commit (30)
            pipe.edit_reference(nv, np.repeat(lm, WARM_FRAMES, axis=0), batch=WARM_FRAMES)
            pipe.edit_reference(nv, lm)
        times = []
        for _ in range(4):  # the first call traces (or warms caches): not counted
            t0 = time.thread_time()
            pipe.decode(nv, lm)
            times.append(1000.0 * (time.thread_time() - t0))
        # CPU time of this thread, least of three: the decoder's own cost, not the CPU
        # contention of the start-up (the window's first paints)
        self.inline_decode_ms = float(min(times[1:]))

    @property
    def torch_device(self) -> str:
        """The decoder's torch device (``"auto"`` before it is loaded), for manifests."""
        return str(self._pipeline.device) if self._pipeline is not None else self._device

    def model_hashes(self) -> dict:
        """sha256 of the model files (for manifests)."""
        out = {}
        for name, obj in (("decoder", self._pipeline), ("generator", self._generator)):
            meta = getattr(obj, "meta", None) or {}
            sha = meta.get("sha256") or meta.get("motion3dgan_sha256")
            if sha:
                out[name] = sha
        return out

    # ------------------------------------------------------------------------ inference
    def decode(self, neutral: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(B, V, 3) dense faces for (B, 68, 3) absolute landmarks on ``neutral`` (V, 3)."""
        return np.asarray(self.pipeline.decode(neutral, landmarks), dtype=np.float32)

    def motion(
        self,
        label: str,
        seed: int,
        n_frames: int,
        face_key: str,
        neutral: np.ndarray,
        side: str | None = None,
    ) -> Motion:
        """A generated motion (cached by label, seed, frames, face and side); ``side`` only for
        one-sided labels (None: drawn from the seed)."""
        key = (label, int(seed), int(n_frames), face_key, side)
        m = self.motions.get(key)
        if m is None:
            m = self.generator.generate(
                label, int(seed), n_frames=int(n_frames), neutral=neutral, side=side
            )
            self.motions.put(key, m)
        return m

    def decode_edited(
        self, token: int, neutral: np.ndarray, base: Motion, frames, landmarks: np.ndarray
    ) -> np.ndarray:
        """Dense faces (n, V, 3) of edited landmarks (n, 68, 3) on frames (n,) of ``base``.

        An edit is applied as a residual, ``base.vertices[t] + D(edited) - D(base landmarks)``
        (D = decoder), so unedited landmarks reproduce the base face exactly and the decoder's
        own error on the base pose does not show up as a jump when a drag starts. ``D(edited)``
        has a per-edit gate (``S2DPipeline.decode_edit``): the base expression keeps its
        learned detail. The base's reference (D(base), learned part, gate) is cached per motion
        ``token``; missing ones are decoded first, in their own call.
        """
        frames = [int(t) for t in frames]
        known = {t: self.base_frames.get((token, t)) for t in set(frames)}
        missing = sorted(t for t, v in known.items() if v is None)
        pipe = self.pipeline
        if missing:  # a separate call: a drag's decodes keep batch size 1 (traced)
            ref = pipe.edit_reference(neutral, base.landmarks[missing])
            for i, t in enumerate(missing):
                known[t] = ref[i : i + 1]
                self.base_frames.put((token, t), known[t])
        if len(frames) == 1:
            ref = known[frames[0]]
        else:
            # imported here: core.pipeline imports torch, which the window must not wait for
            from core.pipeline import EditReference

            ref = EditReference.concatenate([known[t] for t in frames])
        lm = np.asarray(landmarks, np.float32).reshape(-1, N_LANDMARKS, 3)
        dec = np.asarray(pipe.decode_edit(neutral, lm, ref), np.float32)
        # the live preview of a drag is not fold-repaired: the repair costs ~10 ms per folded
        # frame, more than a 60 Hz drag leaves; the committed faces (decode_motion) are
        return apply_residual(base.vertices[frames], dec, ref.dense)

    def decode_motion(self, neutral: np.ndarray, base: Motion, offsets: np.ndarray) -> np.ndarray:
        """Committed faces (T, V, 3) of ``base`` with landmark ``offsets`` (T, 68, 3): the
        canonical decode (:func:`core.edit.residual.decode_edited_motion`, per-edit gate) that
        ``python main.py replay`` reproduces; no cache, so the result does not depend on the
        history."""
        return decode_edited_motion(
            self.decode,
            neutral,
            base.vertices,
            base.landmarks,
            offsets,
            pipeline_edit(self.pipeline),
            self._fold_repair(),
        )

    def _fold_repair(self):
        """The pipeline's fold repair (:meth:`core.pipeline.S2DPipeline.fold_repair`; its
        fixed vertices are made once per pipeline); None for a pipeline without one (edits
        decode unrepaired)."""
        make = getattr(self.pipeline, "fold_repair", None)
        return make() if make else None


def _gil_free(pipeline):
    """Traced decodes for an S2D pipeline (see ``S2DPipeline.use_traced``): the GUI thread
    holds the Python GIL while VTK renders, which stalls an eager decode on the worker."""
    if pipeline is not None and hasattr(pipeline, "use_traced"):
        pipeline.use_traced(STUDIO_TRACED_BATCHES)
    return pipeline


def array_key(a: np.ndarray) -> str:
    """A short content hash of an array (identifies a neutral face in caches)."""
    a = np.ascontiguousarray(a)
    return hashlib.sha1(a.view(np.uint8).ravel()).hexdigest()[:12]
