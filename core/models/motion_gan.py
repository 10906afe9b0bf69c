"""Motion3DGAN: a conditional WGAN-GP on the tangent space of the SRVF sphere (paper Sec. 3.1).

A landmark motion of ``T`` frames and ``K`` landmarks, expressed in units of its neutral face's
scale, is a curve in ``R^D`` (``D = 3K``) with SRVF ``q`` on the unit sphere of ``R^{M x D}``
(``M = T - 1``, :mod:`core.geometry.srvf`) and a length ``L`` (the "intensity").
Shapes: ``B`` batch, ``M = T - 1`` SRVF samples, ``D = 3K``, ``C`` conditioning classes
(:attr:`MotionGANConfig.classes`), ``k`` components.

Tangent coordinates. All training tangent vectors ``v_i = log_p(q_i)`` lie in ``T_p``; their
mean ``m`` and first ``k`` principal directions ``U`` (k, M, D) with standard deviations ``s``
(k,) give whitened coordinates ``a = <v - m, U> / s`` (principal geodesic analysis). ``k = 64``
keeps 97.4 % of the tangent variance of the default data set (128: 99.3 %, but the GAN trained
worse in the same time; see docs/motion3dgan.md). These are fixed buffers, saved
with the weights, like the reference point ``p`` (Karcher mean of the training SRVFs) and the
statistics of ``log L``.

- :class:`SRVFGenerator` ``G(z, c)``: noise ``z ~ N(0, I)`` (128) + one-hot class ``c`` (C)
  -> MLP (LeakyReLU) -> ``k`` coordinates and a standardised log-length ``ell``.
- :meth:`Motion3DGAN.generate` maps them to ``w = P_p(m + (a * s) U)``, PROJECTED onto ``T_p``
  (unlike the official code, whose raw ``tanh`` output leaves the sphere's tangent space), then
  ``q = exp_p(w)``, ``L = exp(mu + sd * ell)``. So ``G`` is an MLP whose last linear layer
  ``k -> M*D`` is the fixed PCA basis: 90x fewer generator outputs, which is what lets the GAN
  train in minutes on a CPU (a free 1024 -> 5916 output layer diverged in our first runs).
- :class:`SRVFCritic` ``D(x, c)`` scores ``x = [<log_p(q) - m, U> / s, ell]`` (eq. 2 on
  ``log_p(q)``; the fixed projection is its first layer): MLP with LayerNorm and LeakyReLU, no
  BatchNorm (it breaks the per-sample gradient penalty), conditioned by concatenating ``c`` and
  by a projection term ``<embed(c), h>``. It scores PACKS of ``pack = 2`` samples of one label
  (PacGAN, Lin et al. 2018): a single-sample critic let the generator average the two modes of
  one-sided labels (mouth_side, contempt) into a symmetric motion.
- One-sided labels are further split into a left and a right class
  (:attr:`MotionGANConfig.one_sided`): with packing alone about half of the mouth_side samples
  still came out too symmetric to classify; the side is now a discrete choice (or a draw from
  the seed) rather than a mode the generator must find.

The length is generated jointly with the motion, so the critic judges the pair; the official code
discards ``L`` and replays every motion with a hard-coded intensity 0.2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from core.errors import InvalidInputError
from core.geometry.sphere import exp_map, log_map, project_to_tangent
from core.glossary import N_LANDMARKS

__all__ = [
    "GAN_KIND", "SIDES", "MotionGANConfig", "SRVFGenerator", "SRVFCritic", "Motion3DGAN",
    "one_hot",
]  # fmt: skip

#: Checkpoint kind of Motion3DGAN weights (``core.models.checkpoint``).
GAN_KIND = "motion3dgan"

#: Sides of one-sided labels, the subject's own (left = +x on the default face and FLAME).
SIDES = ("left", "right")

#: Floor of the per-component standard deviation used for whitening (unit-sphere units).
COEFF_STD_FLOOR = 1e-6

#: ``log_p(exp_p(w)) = w`` holds for tangent ``||w|| < pi``; below this norm (radians, 0.1 % of
#: margin) :meth:`Motion3DGAN.fake_features` uses the identity instead of the round trip.
WRAP_LIMIT = 3.138


@dataclass(frozen=True)
class MotionGANConfig:
    """Hyper-parameters and label set of :class:`Motion3DGAN` (saved beside the weights).

    Attributes
    ----------
    labels : tuple of str
        Expression labels, in one-hot order.
    n_frames : int
        ``T`` frames of a generated motion (``M = T - 1`` SRVF samples).
    n_landmarks : int
        ``K``; ``D = 3K``.
    z_dim : int
        Noise dimension.
    n_components : int
        ``k`` principal tangent directions the generator spans and the critic sees.
    g_hidden, d_hidden : tuple of int
        Hidden widths of the generator and critic MLPs.
    slope : float
        LeakyReLU negative slope (generator and critic).
    critic_layernorm : bool
        LayerNorm after each hidden linear layer of the critic.
    pack : int
        PacGAN packing: the critic scores ``pack`` samples of the same label at once (their
        features concatenated), so it can see a lack of diversity (e.g. a one-sided label such
        as mouth_side generated as the symmetric average of its left and right modes).
    one_sided : tuple of str
        Labels whose expression happens on one side of the face (e.g. mouth_side, contempt).
        Each is split into two conditioning classes ``"<label>:left"`` and ``"<label>:right"``
        (the subject's side), so the generator never has to choose between two modes of one
        class (:attr:`classes`). The side of a training motion comes from
        :func:`core.train.gan_train.motion_side`; at generation time it is a choice or a draw
        from the seed (:meth:`core.generate.MotionGenerator.sample_srvf`).
    """

    labels: tuple[str, ...]
    n_frames: int = 30
    n_landmarks: int = N_LANDMARKS
    z_dim: int = 128
    n_components: int = 64
    g_hidden: tuple[int, ...] = (512, 1024)
    d_hidden: tuple[int, ...] = (512, 512)
    slope: float = 0.2
    critic_layernorm: bool = True
    pack: int = 2
    one_sided: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("labels", "g_hidden", "d_hidden", "one_sided"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if len(self.labels) < 1 or len(set(self.labels)) != len(self.labels):
            raise InvalidInputError(
                f"labels: expected distinct names, found {self.labels!r}; pass e.g. "
                "core.data.recipes.LABELS"
            )
        unknown = sorted(set(self.one_sided) - set(self.labels))
        if unknown:
            raise InvalidInputError(f"one_sided: {unknown} are not among the labels")
        if min(self.n_frames - 1, self.n_landmarks, self.z_dim, self.n_components, self.pack) < 1:
            raise InvalidInputError(
                "expected n_frames >= 2 and n_landmarks, z_dim, n_components, pack >= 1; found "
                f"{self.n_frames}, {self.n_landmarks}, {self.z_dim}, {self.n_components}, "
                f"{self.pack}"
            )

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> tuple[str, ...]:
        """Conditioning classes in one-hot order: the labels, each one-sided label split in two
        (``"mouth_side:left"``, ``"mouth_side:right"``) at its place."""
        return tuple(
            c
            for lab in self.labels
            for c in ((f"{lab}:{side}" for side in SIDES) if lab in self.one_sided else (lab,))
        )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_index(self, label: str, side: str | None = None) -> int:
        """One-hot index of ``label`` (and ``side``, required for one-sided labels only)."""
        if label not in self.labels:
            raise InvalidInputError(
                f"label: expected one of {', '.join(self.labels)}; found {label!r}"
            )
        if label not in self.one_sided:
            if side is not None:
                raise InvalidInputError(
                    f"side: {label!r} is not one-sided ({', '.join(self.one_sided) or 'none'} "
                    f"are); pass side=None"
                )
            return self.classes.index(label)
        if side not in SIDES:
            raise InvalidInputError(f"side: expected one of {SIDES} for {label!r}, found {side!r}")
        return self.classes.index(f"{label}:{side}")

    @property
    def srvf_shape(self) -> tuple[int, int]:
        """``(M, D) = (T - 1, 3K)``."""
        return (self.n_frames - 1, 3 * self.n_landmarks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def one_hot(classes: torch.Tensor, n_classes: int, dtype=torch.float32) -> torch.Tensor:
    """(B,) int64 class indices -> (B, n_classes) one-hot of ``dtype``."""
    return nn.functional.one_hot(classes.long(), n_classes).to(dtype)


def _mlp(sizes: list[int], slope: float, layernorm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        layers.append(nn.Linear(a, b))
        if layernorm:
            layers.append(nn.LayerNorm(b))
        layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


class SRVFGenerator(nn.Module):
    """``G(z, c)``: (B, z_dim) noise + (B, C) one-hot -> (B, k + 1) whitened coordinates + ell.

    No output non-linearity (the official ``tanh`` bounds every entry, which the sphere geometry
    does not need).
    """

    def __init__(self, config: MotionGANConfig) -> None:
        super().__init__()
        sizes = [config.z_dim + config.n_classes, *config.g_hidden]
        self.body = _mlp(sizes, config.slope, layernorm=False)
        self.out = nn.Linear(sizes[-1], config.n_components + 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(torch.cat([z, c], dim=1)))  # (B, k + 1)


class SRVFCritic(nn.Module):
    """``D(x, c)``: (B, pack * (k + 1)) packed critic features + (B, C) one-hot -> (B,) scores.

    Row ``i`` of ``x`` holds the features of ``pack`` samples of label ``c[i]``, concatenated.
    """

    def __init__(self, config: MotionGANConfig) -> None:
        super().__init__()
        sizes = [config.pack * (config.n_components + 1) + config.n_classes, *config.d_hidden]
        self.body = _mlp(sizes, config.slope, layernorm=config.critic_layernorm)
        self.out = nn.Linear(sizes[-1], 1)
        self.embed = nn.Linear(config.n_classes, sizes[-1], bias=False)  # projection term

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.body(torch.cat([x, c], dim=1))  # (B, H)
        return self.out(h).squeeze(1) + (self.embed(c) * h).sum(dim=1)  # (B,)


class Motion3DGAN(nn.Module):
    """Generator, critic and the fixed tangent-space statistics of the weights file.

    Buffers (persistent): ``p`` (M, D) reference point on the unit sphere; ``tangent_mean``
    (M, D) and ``basis`` (k, M, D) orthonormal, both in ``T_p``; ``coeff_std`` (k,);
    ``loglen_mean``, ``loglen_std`` () statistics of ``log L``. Build it with
    :meth:`from_data` for training, or from a config and then ``load_state_dict``.
    """

    def __init__(self, config: MotionGANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = SRVFGenerator(config)
        self.critic = SRVFCritic(config)
        m, d = config.srvf_shape
        k = config.n_components
        p = torch.zeros(m, d)
        p[:, 0] = 1.0 / m**0.5
        basis = torch.zeros(k, m, d)
        if not basis.is_meta:  # (torch.eye on meta imports torch's Python refs)
            basis.view(k, -1)[:, 1 : k + 1] = torch.eye(k)[:, : min(k, m * d - 1)]
        self.register_buffer("p", p)
        self.register_buffer("tangent_mean", torch.zeros(m, d))
        # on the meta device (the loaders' shape check) only shapes matter; computing there
        # goes through torch's Python refs and imports dynamo and sympy (~2 s of start-up)
        self.register_buffer("basis", basis if basis.is_meta else project_to_tangent(p, basis))
        self.register_buffer("coeff_std", torch.ones(k))
        self.register_buffer("loglen_mean", torch.tensor(0.0))
        self.register_buffer("loglen_std", torch.tensor(1.0))

    @classmethod
    def from_data(
        cls, config: MotionGANConfig, p: torch.Tensor, tangents: torch.Tensor, lengths: torch.Tensor
    ) -> Motion3DGAN:
        """A fresh model whose statistics come from the training data.

        Parameters
        ----------
        p : (M, D) float
            Reference point (unit norm), e.g. the Karcher mean of the training SRVFs.
        tangents : (N, M, D) float
            ``log_p(q)`` of the training SRVFs; needs ``N > n_components``.
        lengths : (N,) float
            Curve lengths ``L > 0`` of the training motions.
        """
        model = cls(config)
        n, k = tangents.shape[0], config.n_components
        if tuple(p.shape) != config.srvf_shape or tuple(tangents.shape[1:]) != config.srvf_shape:
            raise InvalidInputError(
                f"p and tangents: expected (M, D) = {config.srvf_shape} and (N, M, D), found "
                f"{tuple(p.shape)} and {tuple(tangents.shape)}"
            )
        if n <= k:
            raise InvalidInputError(
                f"expected more training motions than n_components = {k}, found {n}; lower "
                "n_components or add data"
            )
        v = tangents.double().reshape(n, -1)  # (N, M*D)
        mean = v.mean(0)
        _, s, vh = torch.linalg.svd(v - mean, full_matrices=False)  # vh: (min(N, M*D), M*D)
        log_len = torch.log(lengths.double())
        model.p.copy_(p)
        model.tangent_mean.copy_(mean.reshape(config.srvf_shape))
        model.basis.copy_(vh[:k].reshape(k, *config.srvf_shape))
        model.coeff_std.copy_((s[:k] / (n - 1) ** 0.5).clamp_min(COEFF_STD_FLOOR))
        model.loglen_mean.fill_(float(log_len.mean()))
        model.loglen_std.fill_(float(log_len.std().clamp_min(1e-3)))
        return model

    def one_hot(self, classes: torch.Tensor) -> torch.Tensor:
        """(B,) class indices (:attr:`MotionGANConfig.classes`) -> (B, C) float one-hot on the
        model's device."""
        return one_hot(classes.to(self.p.device), self.config.n_classes, self.p.dtype)

    def coords_to_tangent(self, a: torch.Tensor) -> torch.Tensor:
        """Whitened coordinates (B, k) -> tangent vectors ``P_p(m + (a s) U)`` (B, M, D)."""
        u = self.tangent_mean + torch.einsum("bk,kmd->bmd", a * self.coeff_std, self.basis)
        return project_to_tangent(self.p, u)

    def tangent_to_coords(self, v: torch.Tensor) -> torch.Tensor:
        """Tangent vectors (B, M, D) -> whitened coordinates (B, k)."""
        return torch.einsum("bmd,kmd->bk", v - self.tangent_mean, self.basis) / self.coeff_std

    def generate(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tangent vectors and standardised log-lengths for noise and one-hot labels.

        Parameters
        ----------
        z : (B, z_dim) float
        c : (B, C) float one-hot

        Returns
        -------
        w : (B, M, D) float, tangent at ``p`` (``<p, w> = 0``)
        ell : (B,) float, standardised ``log L``
        """
        raw = self.generator(z, c)  # (B, k + 1)
        return self.coords_to_tangent(raw[:, :-1]), raw[:, -1]

    def to_sphere(self, w: torch.Tensor, ell: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q = exp_p(w)`` (B, M, D) unit norm and ``L = exp(mu + sd * ell)`` (B,)."""
        return exp_map(self.p, w), torch.exp(self.loglen_mean + self.loglen_std * ell)

    def standardize_length(self, lengths: torch.Tensor) -> torch.Tensor:
        """(B,) lengths ``L`` -> (B,) standardised log-lengths ``ell``."""
        return (torch.log(lengths) - self.loglen_mean) / self.loglen_std

    def critic_input(self, q: torch.Tensor, ell: torch.Tensor) -> torch.Tensor:
        """Critic features ``[<log_p(q) - m, U> / s, ell]``: (B, M, D), (B,) -> (B, k + 1)."""
        return torch.cat([self.tangent_to_coords(log_map(self.p, q)), ell[:, None]], dim=1)

    def tangent_features(self, w: torch.Tensor, ell: torch.Tensor) -> torch.Tensor:
        """Critic features of generated output: of ``log_p(exp_p(w))`` as in eq. 2."""
        return self.critic_input(exp_map(self.p, w), ell)

    def tangent_norm(self, a: torch.Tensor) -> torch.Tensor:
        """``||m + (a s) U||`` (B,) of whitened coordinates (B, k), without building the vectors."""
        um = torch.einsum("kmd,md->k", self.basis, self.tangent_mean)  # (k,)
        b = a * self.coeff_std  # (B, k)
        sq = self.tangent_mean.square().sum() + 2 * b @ um + b.square().sum(1)
        return sq.clamp_min(0).sqrt()

    def fake_features(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Critic features (B, k + 1) of ``G(z, c)``, i.e. of ``log_p(exp_p(w))`` (eq. 2).

        ``w = m + (a s) U`` lies in ``T_p`` (so the projection is the identity) and when every
        ``||w|| < WRAP_LIMIT`` the round trip is exact, so the features are the generator's raw
        output; otherwise the batch goes through :meth:`tangent_features` (the log map wraps
        vectors longer than pi).
        """
        raw = self.generator(z, c)  # (B, k + 1)
        if float(self.tangent_norm(raw[:, :-1].detach()).max()) < WRAP_LIMIT:
            return raw
        return self.tangent_features(self.coords_to_tangent(raw[:, :-1]), raw[:, -1])

    def score(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Critic scores (B / pack,) of features (B, k + 1) and one-hot labels (B, C).

        Consecutive groups of ``pack`` rows must share their label; each group is one critic
        input (PacGAN).
        """
        pk = self.config.pack
        if x.shape[0] % pk:
            raise InvalidInputError(
                f"expected a batch size divisible by pack = {pk}, found {x.shape[0]}"
            )
        return self.critic(x.reshape(x.shape[0] // pk, -1), c[::pk])
