"""Training of S2D-Dec: L = beta1 * L_dr + beta2 * L_pr (paper eq. 6-7).

- L_dr (eq. 6): mean over vertices of the L1 norm of the dense-displacement error, in the
  decoder's normalised units.
- L_pr (eq. 7): error of the reconstructed vertices S = neutral + D. It is a *weighted mean*
  sum_i w_i |p_i^g - p_i^gt|_1 / sum_i w_i with the landmark-distance weights w (eq. 7), so it
  is on the same scale as L_dr and beta2 = 0.1 keeps it a visible part of the loss (in the
  official code the weighted term was a sum over vertices and the unweighted one negligible).
  ``weighted=False`` gives the unweighted L1 of the ablation S2.

Resumable (model + optimiser + step in ``<run>/last.safetensors``), seeded, device-agnostic and
DistributedDataParallel-ready: launched by ``torchrun`` it shards batches over processes (gloo on
CPU, nccl on CUDA); rank 0 logs and saves.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import S2DError
from core.models.checkpoint import load_checkpoint, save_checkpoint
from core.models.normalization import normalize_input, output_factor
from core.models.s2d_decoder import DECODER_KIND, DecoderConfig, S2DDecoder
from core.train.distributed import dist_info

__all__ = ["S2DTrainConfig", "DecoderSplit", "make_split", "train_decoder", "decoder_loss"]


@dataclass(frozen=True)
class S2DTrainConfig:
    """Training hyper-parameters (saved with the weights)."""

    steps: int = 6000
    batch_size: int = 32
    lr: float = 1e-3
    lr_final: float = 2e-5
    beta1: float = 1.0
    beta2: float = 0.1
    use_dr: bool = True
    use_pr: bool = True
    weighted: bool = True
    normalization: str = "scale"
    split: str = "identity"
    channels: tuple = (128, 64, 32, 32, 16)
    seed: int = 0
    log_every: int = 200
    checkpoint_every: int = 1000
    linear_skip: bool = False
    skip_lr_factor: float = 0.02
    landmark_residual: bool = False
    gate: bool = False


@dataclass
class DecoderSplit:
    """Frames of one side of a split (N frames).

    neutral_lm, target_lm : (N, 68, 3) float32 metres; disp : (N, V, 3) float16 metres;
    identity : (N,) int; label : (N,) int.
    """

    neutral_lm: np.ndarray
    target_lm: np.ndarray
    disp: np.ndarray
    identity: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.identity)


def make_split(data, split: str, part: str) -> DecoderSplit:
    """Select decoder frames of a synthesised data set (:class:`core.data.synth.SynthData`).

    identity split: train = frames of train identities; test = frames of test identities.
    expression split: train = frames of train identities without held-out labels/actions;
    test = frames of the held-out labels (on all identities).
    ``family:<name>`` (leave one family out, :mod:`core.data.families`): train = frames of
    train identities that use no source of that family; test = frames of test identities made
    of that family alone.
    """
    test_id = data.id_test[data.frame_identity]
    if split.startswith("family:"):
        from core.data.families import family_mask

        bit = family_mask(split.split(":", 1)[1])
        src = data.frame_sources
        sel = (~test_id & ((src & bit) == 0)) if part == "train" else (test_id & (src == bit))
    elif split == "identity":
        sel = ~test_id if part == "train" else test_id
    elif split == "expression":
        from core.data.recipes import EXPRESSION_SPLIT_TEST_LABELS, LABELS

        held = np.isin(data.frame_label, [LABELS.index(x) for x in EXPRESSION_SPLIT_TEST_LABELS])
        sel = (~test_id & data.frame_expr_train) if part == "train" else held
    else:
        raise S2DError(
            f"unknown split {split!r}; expected 'identity', 'expression' or "
            "'family:<actions|bones|local>'"
        )
    ids = data.frame_identity[sel]
    return DecoderSplit(
        neutral_lm=data.neutral_landmarks[ids],
        target_lm=data.frame_landmarks[sel],
        disp=data.frame_disp[sel],
        identity=ids,
        label=data.frame_label[sel],
    )


def decoder_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, cfg: S2DTrainConfig
) -> tuple[torch.Tensor, dict]:
    """pred, target : (B, V, 3) normalised displacements; weights : (V,) → loss, parts."""
    err = (pred - target).abs().sum(-1)  # (B, V) L1 per vertex
    l_dr = err.mean()
    if cfg.weighted:
        l_pr = (err * weights).sum(-1).mean() / weights.sum()
    else:
        l_pr = err.mean()
    loss = (cfg.beta1 * l_dr if cfg.use_dr else 0.0) + (cfg.beta2 * l_pr if cfg.use_pr else 0.0)
    return loss, {"l_dr": float(l_dr.detach()), "l_pr": float(l_pr.detach())}


def _lr_at(step: int, cfg: S2DTrainConfig) -> float:
    """Cosine decay from lr to lr_final with a 200-step warm-up."""
    if step < 200:
        return cfg.lr * (step + 1) / 200
    t = min(1.0, (step - 200) / max(1, cfg.steps - 200))
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * t))


def _param_groups(model, cfg: S2DTrainConfig) -> list[dict]:
    """The ridge-initialised shortcut is already near its optimum: Adam's normalised steps
    at the full learning rate would throw it off (measured: the loss rose 50 % in 200 steps),
    so it learns ``skip_lr_factor`` times slower than the spiral branch."""
    if not cfg.linear_skip:
        return [{"params": list(model.parameters()), "lr_factor": 1.0}]
    skip = list(getattr(model, "learned", model).skip.parameters())
    ids = {id(p) for p in skip}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": rest, "lr_factor": 1.0}, {"params": skip, "lr_factor": cfg.skip_lr_factor}]


def train_decoder(
    train: DecoderSplit,
    hierarchy,
    loss_weights: np.ndarray,
    cfg: S2DTrainConfig,
    run_dir: Path | None = None,
    device: str | torch.device = "cpu",
    log=print,
    extra_meta: dict | None = None,
    template: tuple | None = None,
) -> tuple[S2DDecoder, dict]:
    """Train a decoder; returns the model (on ``device``) and a summary dict.

    With ``run_dir`` set, ``last.safetensors`` (resumable state) is written every
    ``checkpoint_every`` steps and training resumes from it when present. ``template``
    (vertices (V, 3), faces (F, 3), landmark indices (K,)) is the mesh of the landmark
    residual (default: the shipped face).
    """
    rank, world = dist_info()
    torch.manual_seed(cfg.seed)
    dcfg = DecoderConfig.from_hierarchy(
        hierarchy, channels=tuple(cfg.channels), n_landmarks=train.target_lm.shape[1]
    )
    model = S2DDecoder(dcfg, hierarchy)
    if cfg.linear_skip:
        model = _with_ridge_skip(model, train, cfg)
    if cfg.landmark_residual:
        model = _with_residual(model, train, cfg, template)
    model = model.to(device)
    opt = torch.optim.Adam(_param_groups(model, cfg), lr=cfg.lr)
    start = 0
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt = run_dir / "last.safetensors"
        if ckpt.is_file():
            start = _load_resume(ckpt, model, opt)
            log(f"resumed from {ckpt} at step {start}")
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    w = torch.as_tensor(loss_weights, dtype=torch.float32, device=device)
    rng = np.random.default_rng(cfg.seed + 1000 * rank + start)
    n = len(train)
    t0 = time.time()
    hist = []
    for step in range(start, cfg.steps):
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, cfg) * g.get("lr_factor", 1.0)
        idx = rng.integers(0, n, size=cfg.batch_size // world)
        nl = torch.as_tensor(train.neutral_lm[idx], device=device)
        tl = torch.as_tensor(train.target_lm[idx], device=device)
        x = normalize_input(cfg.normalization, nl, tl)
        scale = output_factor(cfg.normalization, nl)[:, None, None]
        y = torch.as_tensor(train.disp[idx].astype(np.float32), device=device) / scale
        pred = net(x, use_gate=False) if cfg.landmark_residual else net(x)
        loss, parts = decoder_loss(pred, y, w, cfg)
        if not torch.isfinite(loss):
            raise S2DError(f"non-finite decoder loss at step {step}; lower the learning rate")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if rank == 0 and (step % cfg.log_every == 0 or step == cfg.steps - 1):
            el = time.time() - t0
            hist.append({"step": step, "loss": float(loss.detach()), **parts})
            log(
                f"step {step + 1}/{cfg.steps} loss {float(loss.detach()):.5f} L_dr {parts['l_dr']:.5f} "
                f"L_pr {parts['l_pr']:.5f} lr {_lr_at(step, cfg):.2e} "
                f"({el:.0f}s, ~{el / max(1, step + 1 - start) * (cfg.steps - step - 1):.0f}s left)"
            )
        if rank == 0 and run_dir is not None and (step + 1) % cfg.checkpoint_every == 0:
            _save_resume(run_dir / "last.safetensors", model, opt, step + 1, cfg, extra_meta)
    summary = {
        "train_seconds": round(time.time() - t0, 1),
        "steps": cfg.steps,
        "history": hist,
        "world_size": world,
    }
    return model, summary


def _with_ridge_skip(
    decoder: S2DDecoder, train: DecoderSplit, cfg: S2DTrainConfig, max_frames: int = 6000
):
    """Wrap the decoder with a linear shortcut initialised to the training ridge solution;
    the spiral branch's last layer starts at zero so training starts exactly at ridge."""
    from core.models.linear_skip import SkipDecoder

    rng = np.random.default_rng(cfg.seed)
    idx = rng.choice(len(train), min(max_frames, len(train)), replace=False)
    nl = torch.as_tensor(train.neutral_lm[idx])
    x = normalize_input(cfg.normalization, nl, torch.as_tensor(train.target_lm[idx]))
    s = output_factor(cfg.normalization, nl)[:, None, None].numpy()
    y = train.disp[idx].astype(np.float32) / s
    from core.models.ridge import RidgeMap, validated_lambda

    x = x.reshape(len(idx), -1).numpy()
    lam, _ = validated_lambda(RidgeMap, x, y, train.identity[idx])
    model = SkipDecoder(decoder)
    model.init_from_ridge(x, y.reshape(len(idx), -1), lam=lam)
    model.ridge_lambda = lam
    with torch.no_grad():
        for p in decoder.head.parameters():
            p.zero_()
    return model


def _with_residual(
    learned, train: DecoderSplit, cfg: S2DTrainConfig, template=None, max_frames: int = 20000
):
    """Wrap in a :class:`ResidualDecoder` on ``template`` (default: the shipped face); with
    ``cfg.gate`` the gate is fitted to (up to ``max_frames``) normalised training inputs."""
    from core.models.landmark_residual import LandmarkResidual
    from core.models.residual_decoder import ResidualDecoder, fit_gate

    if template is None:
        from core.assets import load_face, load_landmarks

        face, lms = load_face(), load_landmarks()
        template = (face.vertices, face.faces, lms.indices)
    gate = None
    if cfg.gate:
        rng = np.random.default_rng(cfg.seed)
        idx = rng.choice(len(train), min(max_frames, len(train)), replace=False)
        x = normalize_input(
            cfg.normalization,
            torch.as_tensor(train.neutral_lm[idx]),
            torch.as_tensor(train.target_lm[idx]),
        )
        gate = fit_gate(x.numpy())
    residual = LandmarkResidual.from_face(*template)
    return ResidualDecoder(learned, residual, template[2], gate)


def save_decoder(path: Path, model: S2DDecoder, cfg: S2DTrainConfig, extra: dict) -> None:
    """Final weights + decoder config + training config in one safetensors file."""
    meta = {"train_config": asdict(cfg), **extra}
    gate = getattr(model, "gate", None)
    if gate is not None:
        meta["gate_config"] = gate.config.to_dict()
    save_checkpoint(path, model.state_dict(), model.config, DECODER_KIND, meta)


def _save_resume(path: Path, model, opt, step: int, cfg: S2DTrainConfig, extra) -> None:
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    groups = []
    for pid, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                state[f"opt.{pid}.{k}"] = v.reshape(-1) if v.ndim == 0 else v
        groups.append(pid)
    meta = {
        "step": step,
        "train_config": asdict(cfg),
        "opt_params": groups,
        "opt_groups": [
            {k: v for k, v in g.items() if k != "params"} for g in opt.state_dict()["param_groups"]
        ],
        **(extra or {}),
    }
    save_checkpoint(path, state, model.config, DECODER_KIND + "-resume", meta)


def _load_resume(path: Path, model, opt) -> int:
    state, _cfg, extra = load_checkpoint(path, DECODER_KIND + "-resume")
    model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
    osd = opt.state_dict()
    new_state = {}
    for pid in extra["opt_params"]:
        st = {}
        for k, v in state.items():
            pre = f"opt.{pid}."
            if k.startswith(pre):
                name = k[len(pre) :]
                st[name] = v.reshape(()) if name == "step" else v
        new_state[pid] = st
    osd["state"] = new_state
    opt.load_state_dict(osd)
    return int(extra["step"])
