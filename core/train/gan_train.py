"""Training of Motion3DGAN (paper eq. 2-4): data on the SRVF sphere, WGAN-GP loop, checkpoints.

Data (:func:`motion_set`): every labelled sequence ``(T, K, 3)`` (metres) is divided by the RMS
radius of its frame-0 landmarks (:func:`core.models.normalization.landmark_scale`), flattened to a
curve ``(T, D)``, ``D = 3K``, and encoded as its SRVF ``q`` (M, D), ``M = T - 1``, on the unit
sphere and its length ``L`` (:func:`core.geometry.srvf.curve_to_srvf`). Static sequences are
skipped. Identities of any size then share motions: a motion is replayed on a face by
multiplying the rebuilt curve by that face's scale.

Losses, per generator step (``n_critic`` critic steps first), with critic features
``x = [<log_p(q) - m, U> / s, ell]`` (:class:`core.models.motion_gan.Motion3DGAN`):

- critic: ``E[D(x_fake)] - E[D(x_real)] + lambda GP`` (eq. 2), ``GP = E[(||grad D(x_hat)|| - 1)^2]``
  on ``x_hat = a x_real + (1 - a) x_fake``, ``a ~ U(0, 1)`` per critic input (eq. 3),
  ``lambda = 10``; the gradient is taken w.r.t. the critic features (whitened tangent
  coordinates, see :mod:`core.models.motion_gan`). Real and fake batches are drawn in packs of
  ``pack`` samples sharing a label (PacGAN), each pack one critic input;
- generator: ``alpha_1 (-E[D(x_fake)]) + alpha_2 L_r`` (``alpha_1 = 1``, ``alpha_2 = 10``),
  ``L_r`` the mean L1 distance (eq. 4) between the features of a fake and those of a real
  training sample of the same label. ``reconstruction="nearest"`` (default) pairs each fake with
  its NEAREST (L2) real sample of that label, so every fake is pulled to some real motion rather
  than all fakes of a label to one random sample (the official pairing, ``"paired"``, is a
  mean-seeking pull that shrinks diversity); ``"none"`` disables ``L_r``.

The run is deterministic for a seed on one device; with ``run_dir`` set, the full state (model,
both Adam states, step, history) is saved every ``checkpoint_every`` steps and a rerun resumes
from it (the sampling RNG is re-seeded from ``seed`` and the step).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import InvalidInputError, S2DError
from core.geometry.sphere import karcher_mean, log_map
from core.geometry.srvf import curve_to_srvf, is_static
from core.glossary import MOUTH, N_LANDMARKS
from core.models.motion_gan import GAN_KIND, SIDES, Motion3DGAN, MotionGANConfig
from core.models.normalization import landmark_scale

__all__ = [
    "MotionSet", "GANTrainConfig", "motion_set", "motion_split", "motion_side",
    "class_indices",
    "gradient_penalty", "reconstruction_loss", "train_gan", "save_gan",
]  # fmt: skip

RECONSTRUCTIONS = ("nearest", "paired", "none")


@dataclass(frozen=True, eq=False)
class MotionSet:
    """Labelled motions on the SRVF sphere (N sequences, M = T - 1, D = 3K).

    q : (N, M, D) float64 unit-norm SRVFs; length : (N,) float64 curve lengths in units of the
    face scale; label : (N,) int64; identity : (N,) int64; scale : (N,) float64 frame-0
    landmark scales (metres); landmarks : (N, T, K, 3) float32 the source sequences (metres).
    """

    q: torch.Tensor
    length: torch.Tensor
    label: torch.Tensor
    identity: torch.Tensor
    scale: torch.Tensor
    landmarks: np.ndarray

    def __len__(self) -> int:
        return int(self.q.shape[0])


def motion_set(
    landmarks: np.ndarray, label: np.ndarray, identity: np.ndarray | None = None
) -> MotionSet:
    """Encode landmark sequences (N, T, K, 3) metres as scale-free SRVFs + lengths.

    Static sequences (:func:`core.geometry.srvf.is_static`) are dropped.
    """
    lm = np.asarray(landmarks)
    if lm.ndim != 4 or lm.shape[-1] != 3 or lm.shape[1] < 2:
        raise InvalidInputError(
            f"landmarks: expected (N, T, K, 3) sequences with T >= 2, found {lm.shape}"
        )
    label = np.asarray(label, np.int64)
    identity = np.zeros(len(lm), np.int64) if identity is None else np.asarray(identity, np.int64)
    x = torch.as_tensor(lm, dtype=torch.float64)
    scale = landmark_scale(x[:, 0])  # (N,)
    curves = (x / scale[:, None, None, None]).flatten(2)  # (N, T, D)
    keep = ~is_static(curves)
    q, length = curve_to_srvf(curves[keep])
    k = keep.numpy()
    return MotionSet(
        q,
        length,
        torch.as_tensor(label[k]),
        torch.as_tensor(identity[k]),
        scale[keep],
        lm[k].astype(np.float32),
    )


def motion_split(data, part: str) -> MotionSet:
    """The labelled sequences of a :class:`core.data.synth.SynthData` split by identity.

    ``part`` is ``"train"`` (identities not in ``id_test``) or ``"test"``.
    """
    if part not in ("train", "test"):
        raise InvalidInputError(f"part: expected 'train' or 'test', found {part!r}")
    test = data.id_test[data.seq_identity]
    sel = ~test if part == "train" else test
    return motion_set(data.seq_landmarks[sel], data.seq_label[sel], data.seq_identity[sel])


#: iBUG-68 mouth landmarks (outer and inner lips), whose sideways motion tells the side.
MOUTH_LANDMARKS = MOUTH


def motion_side(landmarks: np.ndarray) -> np.ndarray:
    """The side (0 = subject's left, 1 = right; :data:`SIDES`) of one-sided motions.

    ``landmarks`` (N, T, K, 3), x the face's lateral axis with the subject's left at +x (the
    default anny face and FLAME/CoMA). The side is the sign of the mean x displacement of the
    mouth landmarks (iBUG 48-67; all landmarks when K != 68) from the first to the last frame:
    on the default data its magnitude is >= 0.085 face-scale units for every mouth_side motion
    and >= 0.018 for every contempt motion (bimodal, two clearly separated clusters), against
    |dx| <= 0.044 for symmetric labels, whose side is meaningless.
    """
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 4 or lm.shape[-1] != 3:
        raise InvalidInputError(f"landmarks: expected (N, T, K, 3), found {lm.shape}")
    sel = MOUTH_LANDMARKS if lm.shape[2] == N_LANDMARKS else slice(None)
    dx = (lm[:, -1, sel, 0] - lm[:, 0, sel, 0]).mean(1)  # (N,)
    return np.where(dx >= 0, SIDES.index("left"), SIDES.index("right")).astype(np.int64)


def class_indices(motions: MotionSet, config: MotionGANConfig) -> torch.Tensor:
    """(N,) conditioning classes (:attr:`MotionGANConfig.classes`) of labelled motions whose
    ``label`` indexes ``config.labels``; one-sided labels get their side from
    :func:`motion_side`."""
    side = motion_side(motions.landmarks)
    names = [config.labels[k] for k in motions.label.tolist()]
    return torch.as_tensor(
        [
            config.class_index(n, SIDES[s] if n in config.one_sided else None)
            for n, s in zip(names, side, strict=True)
        ],
        dtype=torch.int64,
    )


@dataclass(frozen=True)
class GANTrainConfig:
    """Training hyper-parameters (saved in the weights file). ``steps`` counts generator steps."""

    steps: int = 6000
    batch_size: int = 64
    lr: float = 5e-4
    #: From this generator step on (0: never) both optimisers use ``lr_final``, a slower second
    #: phase. Measured (docs/motion3dgan.md): 9000 steps with a drop to 1e-4 at 6000 gave FID
    #: 5.9 +- 1.3 against 6.8 +- 1.4 and the same accuracy; off by default (not shipped).
    lr_drop_step: int = 0
    lr_final: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    n_critic: int = 4
    gp_weight: float = 10.0
    alpha_adv: float = 1.0
    alpha_rec: float = 10.0
    reconstruction: str = "nearest"
    seed: int = 0
    log_every: int = 100
    checkpoint_every: int = 500

    def __post_init__(self) -> None:
        if self.reconstruction not in RECONSTRUCTIONS:
            raise InvalidInputError(
                f"reconstruction: expected one of {RECONSTRUCTIONS}, found {self.reconstruction!r}"
            )
        if min(self.steps, self.batch_size, self.n_critic) < 1 or not self.lr > 0:
            raise InvalidInputError(
                "expected steps, batch_size, n_critic >= 1 and lr > 0; found "
                f"{self.steps}, {self.batch_size}, {self.n_critic}, {self.lr}"
            )
        if self.lr_drop_step < 0 or not self.lr_final > 0:
            raise InvalidInputError(
                f"expected lr_drop_step >= 0 and lr_final > 0; found {self.lr_drop_step}, "
                f"{self.lr_final}"
            )

    def lr_at(self, step: int) -> float:
        """Learning rate of generator step ``step`` (0-based)."""
        return self.lr_final if 0 < self.lr_drop_step <= step else self.lr


def gradient_penalty(
    critic: Callable,
    x_real: torch.Tensor,
    x_fake: torch.Tensor,
    c: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP term ``E[(||grad_x D(x_hat, c)||_2 - 1)^2]`` (eq. 2-3).

    ``x_hat = a x_real + (1 - a) x_fake`` with one ``a ~ U(0, 1)`` per sample.

    Parameters
    ----------
    critic : callable (B, F), (B, C) -> (B,)
    x_real, x_fake : (B, F) float
        Critic features of real and generated samples (``x_fake`` may carry no graph).
    c : (B, C) float
        Conditioning one-hot labels.
    generator : torch.Generator, optional
        Source of ``a`` (on the device of ``x_real``).

    Returns
    -------
    () float, differentiable w.r.t. the critic parameters (``create_graph=True``).
    """
    a = torch.rand(
        x_real.shape[0], 1, dtype=x_real.dtype, device=x_real.device, generator=generator
    )
    x_hat = (a * x_real.detach() + (1 - a) * x_fake.detach()).requires_grad_(True)  # (B, F)
    out = critic(x_hat, c)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)  # (B, F)
    return (grad.norm(dim=1) - 1).square().mean()


def reconstruction_loss(
    x_fake: torch.Tensor,
    labels: torch.Tensor,
    x_bank: torch.Tensor,
    bank_labels: torch.Tensor,
    mode: str = "nearest",
    paired: torch.Tensor | None = None,
) -> torch.Tensor:
    """``L_r`` (eq. 4): mean L1 between fake features and real features of the same label.

    Parameters
    ----------
    x_fake : (B, F) float
        Critic features of generated samples.
    labels : (B,) int64
        Their labels.
    x_bank : (N, F) float
        Critic features of real training samples.
    bank_labels : (N,) int64
    mode : {"nearest", "paired", "none"}
        ``nearest``: the real sample of the label nearest (L2) to each fake;
        ``paired``: row ``paired[i]`` of the bank (a random real sample of the label).
    paired : (B,) int64, optional
        Bank rows for ``mode="paired"``.

    Returns
    -------
    () float
    """
    if mode == "none":
        return x_fake.new_zeros(())
    if mode == "paired":
        if paired is None:
            raise InvalidInputError("reconstruction_loss: mode 'paired' needs the paired rows")
        j = paired
    else:
        with torch.no_grad():
            f = x_fake.detach()
            d2 = (
                f.square().sum(1, keepdim=True) - 2 * f @ x_bank.T + x_bank.square().sum(1)[None]
            )  # (B, N)
            d2 = d2.masked_fill(labels[:, None] != bank_labels[None], math.inf)
            j = d2.argmin(dim=1)  # (B,)
    return (x_fake - x_bank[j]).abs().mean()


class _LabelSampler:
    """Random training rows, in groups of ``pack`` consecutive rows that share a label."""

    def __init__(self, labels: torch.Tensor, n_labels: int, gen: torch.Generator) -> None:
        self.labels, self.gen = labels, gen
        self.order = torch.argsort(labels, stable=True)  # rows sorted by label
        self.counts = torch.bincount(labels, minlength=n_labels)  # (C,)
        self.starts = torch.cumsum(self.counts, 0) - self.counts  # (C,)

    def same_label(self, lab: torch.Tensor) -> torch.Tensor:
        """(B,) labels -> (B,) random rows with those labels (uniform within a label)."""
        u = torch.rand(len(lab), device=lab.device, generator=self.gen)
        r = (u * self.counts[lab]).long().clamp_max(self.counts[lab] - 1)
        return self.order[self.starts[lab] + r]

    def groups(self, b: int, pack: int) -> torch.Tensor:
        """(b,) rows: b / pack uniform anchors, each followed by pack - 1 rows of its label."""
        anchors = torch.randint(
            len(self.labels), (b // pack,), device=self.labels.device, generator=self.gen
        )
        idx = self.same_label(self.labels[anchors].repeat_interleave(pack))
        idx[::pack] = anchors
        return idx


def _finite(name: str, value: torch.Tensor, step: int) -> None:
    if not bool(torch.isfinite(value)):
        raise S2DError(
            f"non-finite {name} ({value.item()}) at step {step}: training diverged; lower the "
            "learning rate (--lr) or resume from the last checkpoint with another --seed"
        )


def train_gan(
    train: MotionSet,
    model_config: MotionGANConfig,
    cfg: GANTrainConfig,
    run_dir: Path | None = None,
    device: str | torch.device = "cpu",
    log: Callable[[str], None] = print,
    extra_meta: dict | None = None,
) -> tuple[Motion3DGAN, dict]:
    """Train Motion3DGAN on ``train``; returns the model (on ``device``) and a summary dict.

    The reference point ``p`` is the Karcher mean of ``train.q``; ``sigma`` and the log-length
    statistics come from ``train`` too (:meth:`Motion3DGAN.from_data`).
    """
    if len(train) < 2:
        raise InvalidInputError(f"expected at least 2 training motions, found {len(train)}")
    if int(train.label.max()) >= model_config.n_labels:
        raise InvalidInputError(
            f"training labels go up to {int(train.label.max())} but the model has "
            f"{model_config.n_labels} labels"
        )
    if cfg.batch_size % model_config.pack:
        raise InvalidInputError(
            f"batch_size {cfg.batch_size} must be a multiple of the critic pack {model_config.pack}"
        )
    if tuple(train.q.shape[1:]) != model_config.srvf_shape:
        raise InvalidInputError(
            f"training SRVFs have shape {tuple(train.q.shape[1:])}, the model expects "
            f"{model_config.srvf_shape}"
        )
    torch.manual_seed(cfg.seed)
    km = karcher_mean(train.q, tol=1e-6)
    p = km.mean
    model = Motion3DGAN.from_data(model_config, p, log_map(p, train.q), train.length).to(device)
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(model.critic.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    start, hist = 0, []
    ckpt = None
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt = run_dir / "last.safetensors"
        if ckpt.is_file():
            start, hist = _load_resume(ckpt, model, opt_g, opt_d)
            log(f"resumed from {ckpt} at step {start}")
    with torch.no_grad():
        q = train.q.to(device=device, dtype=torch.float32)
        ell = model.standardize_length(train.length.to(device=device, dtype=torch.float32))
        x_bank = model.critic_input(q, ell)  # (N, M*D + 1)
    labels = class_indices(train, model_config).to(device)  # (N,) conditioning classes
    b, pk = cfg.batch_size, model_config.pack
    gen = torch.Generator(device=device).manual_seed(cfg.seed * 1_000_003 + start)
    sampler = _LabelSampler(labels, model_config.n_classes, gen)
    t0 = time.time()
    for step in range(start, cfg.steps):
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = cfg.lr_at(step)
        for _ in range(cfg.n_critic):
            idx = sampler.groups(b, pk)
            c = model.one_hot(labels[idx])
            z = torch.randn(b, model_config.z_dim, device=device, generator=gen)
            with torch.no_grad():
                x_fake = model.fake_features(z, c)
            d_real, d_fake = model.score(x_bank[idx], c), model.score(x_fake, c)
            gp = gradient_penalty(
                model.critic,
                x_bank[idx].reshape(b // pk, -1),
                x_fake.reshape(b // pk, -1),
                c[::pk],
                generator=gen,
            )
            loss_d = d_fake.mean() - d_real.mean() + cfg.gp_weight * gp
            _finite("critic loss", loss_d, step)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        idx = sampler.groups(b, pk)
        c = model.one_hot(labels[idx])
        z = torch.randn(b, model_config.z_dim, device=device, generator=gen)
        x_fake = model.fake_features(z, c)
        model.critic.requires_grad_(False)
        adv = -model.score(x_fake, c).mean()
        model.critic.requires_grad_(True)
        paired = sampler.same_label(labels[idx]) if cfg.reconstruction == "paired" else None
        rec = reconstruction_loss(x_fake, labels[idx], x_bank, labels, cfg.reconstruction, paired)
        loss_g = cfg.alpha_adv * adv + cfg.alpha_rec * rec
        _finite("generator loss", loss_g, step)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            el = time.time() - t0
            rec_h = {
                "step": step + 1,
                "loss_d": loss_d.item(),
                "loss_g": loss_g.item(),
                "wasserstein": (d_real.mean() - d_fake.mean()).item(),
                "gp": gp.item(),
                "rec": rec.item(),
                "seconds": round(el, 1),
            }
            hist.append(rec_h)
            left = el / max(1, step + 1 - start) * (cfg.steps - step - 1)
            log(
                f"step {step + 1}/{cfg.steps} D {rec_h['loss_d']:+.4f} G {rec_h['loss_g']:+.4f} "
                f"W {rec_h['wasserstein']:.4f} GP {rec_h['gp']:.4f} L_r {rec_h['rec']:.4f} "
                f"({el:.0f}s, ETA {left:.0f}s)"
            )
        if ckpt is not None and ((step + 1) % cfg.checkpoint_every == 0 or step == cfg.steps - 1):
            _save_resume(ckpt, model, opt_g, opt_d, step + 1, hist, cfg, extra_meta)
    summary = {
        "train_seconds": round(time.time() - t0, 1),
        "steps": cfg.steps,
        "resumed_from": start,
        "history": hist,
        "karcher_iterations": km.n_iter,
        "n_train": len(train),
        "device": str(device),
    }
    return model, summary


# ---------------------------------------------------------------------------------------------
# weights files


def save_gan(
    path: Path, model: Motion3DGAN, cfg: GANTrainConfig, extra: dict | None = None
) -> None:
    """Inference weights (generator + ``p`` and statistics; no critic) + configs, safetensors."""
    from core.models.checkpoint import save_checkpoint

    state = {
        k: v.detach().cpu().contiguous()
        for k, v in model.state_dict().items()
        if not k.startswith("critic.")
    }
    meta = {"train_config": asdict(cfg), **(extra or {})}
    save_checkpoint(Path(path), state, model.config, GAN_KIND, meta)


def _opt_state(prefix: str, opt: torch.optim.Optimizer, state: dict) -> list:
    pids = []
    for pid, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                state[f"{prefix}.{pid}.{k}"] = v.reshape(-1) if v.ndim == 0 else v
        pids.append(pid)
    return pids


def _set_opt_state(prefix: str, opt: torch.optim.Optimizer, state: dict, pids: list) -> None:
    osd = opt.state_dict()
    new = {}
    for pid in pids:
        pre = f"{prefix}.{pid}."
        new[pid] = {
            k[len(pre) :]: (v.reshape(()) if k.endswith(".step") else v)
            for k, v in state.items()
            if k.startswith(pre)
        }
    osd["state"] = new
    opt.load_state_dict(osd)


def _save_resume(path: Path, model, opt_g, opt_d, step: int, hist: list, cfg, extra) -> None:
    from core.models.checkpoint import save_checkpoint

    state = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {
        "step": step,
        "history": hist,
        "train_config": asdict(cfg),
        "opt_g": _opt_state("opt_g", opt_g, state),
        "opt_d": _opt_state("opt_d", opt_d, state),
        **(extra or {}),
    }
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    save_checkpoint(path, state, model.config, GAN_KIND + "-resume", meta)


def _load_resume(path: Path, model, opt_g, opt_d) -> tuple[int, list]:
    from core.models.checkpoint import load_checkpoint

    state, _cfg, extra = load_checkpoint(path, GAN_KIND + "-resume")
    model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
    dev = model.p.device
    state = {k: v.to(dev) for k, v in state.items()}
    _set_opt_state("opt_g", opt_g, state, extra["opt_g"])
    _set_opt_state("opt_d", opt_d, state, extra["opt_d"])
    return int(extra["step"]), list(extra.get("history", []))
