"""A decoder that always lands on its landmarks and falls back to smooth motion off its data.

``y = a(x) · D(x) + B (x − a(x) · D(x)[landmarks])``

- ``D`` is the learned decoder (:class:`~core.models.s2d_decoder.S2DDecoder`, optionally with
  the ridge shortcut of :class:`~core.models.linear_skip.SkipDecoder`);
- ``B`` is the biharmonic landmark residual (:class:`~core.models.landmark_residual.
  LandmarkResidual`): what ``D`` leaves undone at the 68 landmarks is spread smoothly over the
  skin, so every landmark lands exactly where it was asked to;
- ``a(x)`` in [0, 1] is the :class:`InputGate`: 1 for inputs like the training inputs, falling
  to 0 for inputs far outside them (a single landmark dragged alone, an unseen kind of motion),
  where the learned part would extrapolate wildly and the smooth residual alone is the safer
  answer. Its strongest test is the Mahalanobis distance of the input from the training inputs
  (full rank, so a motion along directions the training inputs barely used is caught even when
  it lies in their principal span).

Everything is in the decoder's normalised units (input and output divided by the face's
landmark scale, :mod:`core.models.normalization`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from core.errors import InvalidInputError

__all__ = [
    "GateConfig",
    "InputGate",
    "ResidualDecoder",
    "fit_gate",
    "gate_config_of",
    "residual_decoder",
    "whitening",
]


@dataclass(frozen=True)
class GateConfig:
    """The gate: ``rank`` principal directions of the training inputs and the out-of-span
    fractions ``low`` (gate 1 below) and ``high`` (gate 0 above); ``typical_low`` /
    ``typical_high`` do the same for the input's whitened size inside the span (RMS of its
    coordinates over their training spread; 0 turns this test off); ``mahalanobis_*`` for the
    input's full-rank Mahalanobis size and ``direction_*`` for that size over the input's
    plain size (a scale-free test of its direction), both 0: off."""

    n_inputs: int
    rank: int
    low: float = 0.35
    high: float = 0.7
    typical_low: float = 0.0
    typical_high: float = 0.0
    mahalanobis_low: float = 0.0
    mahalanobis_high: float = 0.0
    direction_low: float = 0.0
    direction_high: float = 0.0

    def __post_init__(self) -> None:
        if not (0 < self.rank <= self.n_inputs):
            raise InvalidInputError(f"gate rank must be in 1..{self.n_inputs}, found {self.rank}")
        if not (0.0 <= self.low < self.high <= 1.0):
            raise InvalidInputError(f"expected 0 <= low < high <= 1, found {self.low}, {self.high}")
        if self.typical_high and not (0.0 < self.typical_low < self.typical_high):
            raise InvalidInputError(
                "expected 0 < typical_low < typical_high, found "
                f"{self.typical_low}, {self.typical_high}"
            )
        for name in ("mahalanobis", "direction"):
            lo, hi = getattr(self, f"{name}_low"), getattr(self, f"{name}_high")
            if (lo or hi) and not (0.0 < lo < hi):
                raise InvalidInputError(f"expected 0 < {name}_low < {name}_high, found {lo}, {hi}")

    def to_dict(self) -> dict:
        return asdict(self)


class InputGate(nn.Module):
    """x (B, K, 3) → gate (B,) in [0, 1] from the share of x outside the training span.

    ``rho = |x − U Uᵀ x| / |x|`` with ``U`` (K*3, rank) orthonormal; the gate is 1 for
    ``rho <= low``, 0 for ``rho >= high`` and linear between (1 for x = 0). With
    ``typical_high > 0`` it is also faded out between ``typical_low`` and ``typical_high`` of
    ``t = RMS(Uᵀ x / spread)`` (``spread`` (rank,): the training inputs' RMS along each
    direction): inputs inside the span but far larger or stranger than the training ones.
    """

    def __init__(
        self,
        config: GateConfig,
        basis: torch.Tensor | None = None,
        spread: torch.Tensor | None = None,
        whiten: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        if basis is None:
            basis = torch.zeros(config.n_inputs, config.rank)
        if tuple(basis.shape) != (config.n_inputs, config.rank):
            raise InvalidInputError(
                f"gate basis: expected ({config.n_inputs}, {config.rank}), "
                f"found {tuple(basis.shape)}"
            )
        self.register_buffer("basis", basis.to(torch.float32).contiguous())
        if config.typical_high:
            spread = torch.ones(config.rank) if spread is None else spread
            if tuple(spread.shape) != (config.rank,):
                raise InvalidInputError(
                    f"gate spread: expected ({config.rank},), found {tuple(spread.shape)}"
                )
            self.register_buffer("spread", spread.to(torch.float32).contiguous())
        if config.mahalanobis_high:
            n = config.n_inputs
            # on the CPU also under the loaders' meta-device probe: torch.eye on "meta" runs
            # torch's Python refs, which import dynamo and sympy (~2 s of every model load)
            whiten = torch.eye(n, device="cpu") if whiten is None else whiten
            if tuple(whiten.shape) != (n, n):
                raise InvalidInputError(
                    f"gate whitening: expected ({n}, {n}), found {tuple(whiten.shape)}"
                )
            self.register_buffer("whiten", whiten.to(torch.float32).contiguous())

    def typicality(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K, 3) → t (B,): RMS of the whitened span coordinates (about 1 for training data)."""
        flat = x.reshape(x.shape[0], -1)
        z = (flat @ self.basis.to(flat.dtype)) / self.spread.to(flat.dtype)  # (B, rank)
        return z.pow(2).mean(1).sqrt()

    def mahalanobis(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K, 3) → m (B,): RMS of the whitened input (about 1 for training data)."""
        flat = x.reshape(x.shape[0], -1)
        return (flat @ self.whiten.to(flat.dtype)).pow(2).mean(1).sqrt()

    def out_of_span(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K, 3) → rho (B,) in [0, 1]."""
        flat = x.reshape(x.shape[0], -1)  # (B, K*3)
        u = self.basis.to(flat.dtype)
        rest = flat - (flat @ u) @ u.T
        return rest.norm(dim=1) / flat.norm(dim=1).clamp_min(1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        g = ((c.high - self.out_of_span(x)) / (c.high - c.low)).clamp(0.0, 1.0)
        if c.typical_high:
            t = self.typicality(x)
            g = torch.minimum(
                g, ((c.typical_high - t) / (c.typical_high - c.typical_low)).clamp(0.0, 1.0)
            )
        if c.mahalanobis_high:
            m = self.mahalanobis(x)
            size = x.reshape(x.shape[0], -1).norm(dim=1).clamp_min(1e-12)
            for v, lo, hi in (
                (m, c.mahalanobis_low, c.mahalanobis_high),
                (m / size, c.direction_low, c.direction_high),
            ):
                g = torch.minimum(g, ((hi - v) / (hi - lo)).clamp(0.0, 1.0))
        return g


def fit_gate(
    inputs: np.ndarray,
    energy: float = 0.999,
    max_rank: int = 120,
    low: float = 0.35,
    high: float = 0.7,
    typical_quantile: float = 0.99,
    typical_factor: float = 2.0,
    mahalanobis_quantile: float = 0.99,
    mahalanobis_factor: float = 1.25,
) -> InputGate:
    """A gate spanned by the training inputs (N, K, 3): the fewest principal directions
    (uncentred SVD) keeping ``energy`` of their squared norm, at most ``max_rank``; the
    typicality test starts fading at the ``typical_quantile`` of the training inputs and is
    closed at ``typical_factor`` times that (``typical_factor=0``: no typicality test); the
    Mahalanobis and direction tests likewise at ``mahalanobis_quantile`` and
    ``mahalanobis_factor`` (0: none).

    Measured (``python main.py evaluate-generalization --steps 0``, ridge as the learned part):
    on unseen action / bone / local-change motion the learned part is worse than interpolation
    alone in 98-100 % of the frames; the span and typicality tests let it through there (mean
    gate 0.75 / 0.56 / 0.43), the Mahalanobis tests close it (0.13 / 0.00 / 0.14) while
    leaving held-out identities of the trained families unchanged (mean test gate 0.98-0.99).
    """
    x = np.asarray(inputs, np.float64).reshape(len(inputs), -1)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    cum = np.cumsum(s**2) / (s**2).sum()
    rank = int(min(max_rank, np.searchsorted(cum, energy) + 1))
    basis = vt[:rank].T.copy()  # (K*3, rank)
    spread = s[:rank] / np.sqrt(len(x))  # RMS of the training inputs along each direction
    t_low = t_high = 0.0
    if typical_factor:
        t = np.sqrt((((x @ basis) / spread) ** 2).mean(1))
        t_low = float(np.quantile(t, typical_quantile))
        t_high = typical_factor * t_low
    m_cfg, whiten = {}, None
    if mahalanobis_factor:
        whiten = whitening(x)
        m = np.sqrt(((x @ whiten) ** 2).mean(1))
        size = np.maximum(np.linalg.norm(x, axis=1), 1e-12)
        for name, v in (("mahalanobis", m), ("direction", m / size)):
            lo = float(np.quantile(v, mahalanobis_quantile))
            m_cfg |= {f"{name}_low": lo, f"{name}_high": mahalanobis_factor * lo}
        whiten = torch.from_numpy(whiten)
    cfg = GateConfig(
        n_inputs=x.shape[1],
        rank=rank,
        low=low,
        high=high,
        typical_low=t_low,
        typical_high=t_high,
        **m_cfg,
    )
    return InputGate(cfg, torch.from_numpy(basis), torch.from_numpy(spread), whiten)


def whitening(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """(N, D) inputs → W (D, D) with ``RMS(x W)`` about 1 on them: the uncentred second moment
    to the power −1/2, its eigenvalues floored by ``eps`` times their mean (directions the
    inputs never use get a large but finite weight)."""
    w, v = np.linalg.eigh(x.T @ x / len(x))
    w = np.maximum(w, 0.0)
    return v / np.sqrt(w + eps * w.mean())


class ResidualDecoder(nn.Module):
    """Learned decoder + gate + biharmonic landmark residual; (B, K, 3) → (B, V, 3).

    Parameters
    ----------
    learned : nn.Module mapping (B, K, 3) → (B, V, 3) (S2DDecoder or SkipDecoder).
    residual : LandmarkResidual of the template (its basis is rebuilt at load, not saved).
    landmark_idx : (K,) vertex indices of the landmarks.
    gate : InputGate or None (None: the learned part always counts fully).
    """

    def __init__(
        self, learned: nn.Module, residual: nn.Module, landmark_idx, gate: InputGate | None = None
    ) -> None:
        super().__init__()
        self.learned = learned
        self.residual = residual
        self.gate = gate
        self.register_buffer(
            "landmark_idx",
            torch.as_tensor(np.asarray(landmark_idx), dtype=torch.long),
            persistent=False,
        )

    @property
    def config(self):
        return self.learned.config

    @property
    def n_vertices(self) -> int:
        return self.learned.n_vertices

    def forward(self, landmark_disp: torch.Tensor, use_gate: bool = True) -> torch.Tensor:
        x = landmark_disp.reshape(landmark_disp.shape[0], -1, 3)  # (B, K, 3)
        d = self.learned(x)  # (B, V, 3)
        if use_gate and self.gate is not None:
            d = d * self.gate(x)[:, None, None]
        left = x - d[:, self.landmark_idx]  # (B, K, 3) what D did not reach
        return d + self.residual(left)

    def edit(
        self,
        x: torch.Tensor,
        x_ref: torch.Tensor,
        learned_ref: torch.Tensor,
        gate_ref: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode an edit ``x`` of a reference input ``x_ref`` with a per-edit gate.

        ``d = a_ref · L_ref + a(x − x_ref) · (L(x) − L_ref)``, ``y = d + B(x − d[landmarks])``:
        the reference keeps its own gate and learned part, and only the change the edit makes
        to the learned part is faded by how unusual the edit's own displacement is. With
        ``x_ref = 0`` and ``learned_ref = 0`` this is exactly :meth:`forward`; with ``x = x_ref``
        it is the reference's own decode. The landmarks still land exactly.

        x, x_ref : (B, K, 3); learned_ref : (B, V, 3) = L(x_ref); gate_ref : (B,) = a(x_ref).
        Returns y (B, V, 3), L(x) (B, V, 3) and a(x) (B,) (the reference pair of ``x``).
        """
        x = x.reshape(x.shape[0], -1, 3)
        learned = self.learned(x)  # (B, V, 3)
        if self.gate is None:
            gate = edit_gate = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
        else:
            both = self.gate(torch.cat([x, x - x_ref.reshape(x.shape)]))  # (2B,): one call
            gate, edit_gate = both[: x.shape[0]], both[x.shape[0] :]
        d = gate_ref[:, None, None] * learned_ref + edit_gate[:, None, None] * (
            learned - learned_ref
        )
        return d + self.residual(x - d[:, self.landmark_idx]), learned, gate


def gate_config_of(extra: dict) -> GateConfig | None:
    """The gate config saved in a checkpoint's metadata (None: no gate); validated."""
    if "gate_config" not in extra:
        return None
    from core.config import config_from_dict

    return config_from_dict(GateConfig, extra["gate_config"], "the decoder's gate config")


def residual_decoder(
    learned: nn.Module, gate_config: GateConfig | None, template=None
) -> ResidualDecoder:
    """Wrap a learned decoder with the biharmonic residual of ``template`` (vertices (V, 3),
    faces (F, 3), landmark indices (K,); default: the shipped face) and an (unfitted) gate.

    Under ``torch.device("meta")`` (the loader's shape probe) the residual's basis is a
    placeholder of the right shape instead of the ~1 s sparse solve.
    """
    if template is None:
        from core.assets import load_face, load_landmarks

        face, lms = load_face(), load_landmarks()
        template = (face.vertices, face.faces, lms.indices)
    from core.models.landmark_residual import LandmarkResidual

    if torch.empty(0).device.type == "meta":
        residual = LandmarkResidual(torch.zeros(len(template[0]), len(template[2])))
    else:
        residual = LandmarkResidual.from_face(*template)
    gate = InputGate(gate_config) if gate_config is not None else None
    return ResidualDecoder(learned, residual, template[2], gate)
