"""Training of the speech model: stage 1 VQ-VAE, then stage 2 latent diffusion (resumable).

Batches are random ``window``-frame crops of training items; items shorter than the window are
padded with silence and the rest face (a true example of silence → still mouth). Stage 2 learns
to predict the clean latent x0 from a noised one (cosine schedule), with a second loss through
the frozen VQ decoder so errors are weighed in face-parameter space. Everything is seeded; with
``run_dir`` a checkpoint is written every ``ckpt_every`` steps and a rerun resumes from it.

Launched by ``torchrun`` (:mod:`core.train.distributed`), each process crops its own shard of
the training items (item ``rank::world``) with its own seed, takes ``batch // world`` of each
batch, and the gradients are averaged before every step so the replicas stay equal; the
codebook reseeding and the latent statistics are taken from rank 0; only rank 0 logs and
writes the checkpoints and the weights. One process runs exactly the single-process code.

Shapes: B batch, L window frames, P parameters, D latent width, M mel bands.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from core.errors import S2DError
from core.models.speech_ldm import SpeechLDMConfig, gather_audio
from core.models.speech_vq import SpeechVQConfig
from core.speech import visemes
from core.speech.audio import LOG_FLOOR
from core.speech.emotion import global_mask
from core.speech.ldm import KIND, SpeechLDM, normalise_mel
from core.speech.rig import load_speech_rig
from core.train.distributed import average_gradients, broadcast_from_rank0, dist_info, rank0_log
from core.train.speech_closure import LipGap, closure_loss
from core.train.speech_data import SpeechData

__all__ = ["SpeechTrainConfig", "train_speech", "default_configs"]


@dataclass(frozen=True)
class SpeechTrainConfig:
    """Training schedule."""

    vq_steps: int = 1000
    ldm_steps: int = 3000
    batch: int = 32
    batch_ldm: int = 16
    window: int = 64
    lr_vq: float = 2e-3
    lr_ldm: float = 1e-3
    decode_weight: float = 1.0
    #: weight of the closure hinge (:mod:`core.train.speech_closure`) at bilabial frames
    closure_weight: float = 0.0
    ckpt_every: int = 250
    log_every: int = 100
    seed: int = 0


def default_configs(
    small: bool = False, direct: bool = False
) -> tuple[SpeechVQConfig, SpeechLDMConfig]:
    """Model configs; ``small`` for tests; ``direct`` for the regressor baseline."""
    names = load_speech_rig().action_names
    g = global_mask(names)
    vq = SpeechVQConfig(
        n_params=len(g),
        local_idx=tuple(int(i) for i in np.flatnonzero(~g)),
        global_idx=tuple(int(i) for i in np.flatnonzero(g)),
        hidden=32 if small else 128,
        k_local=32 if small else 256,
        k_global=8 if small else 32,
    )
    ldm = SpeechLDMConfig(
        d_latent=vq.d_local + vq.d_global,
        d_model=32 if small else 128,
        n_layers=1 if small else 4,
        n_heads=2 if small else 4,
        direct=direct,
    )
    return vq, ldm


class _Batches:
    """Random crops (seeded) of the training items."""

    def __init__(self, data: SpeechData, model: SpeechLDM, window: int, rng, shard=(0, 1)):
        self.rng, self.window = rng, window
        self.train = np.flatnonzero(~data.test)[shard[0] :: shard[1]]  # (rank, world)
        if not len(self.train):
            raise S2DError(f"{shard[1]} processes need at least as many training items")
        self.items = []
        mm, ms = model.mel_mean.numpy(), model.mel_std.numpy()
        pm, ps = model.p_mean.numpy(), model.p_std.numpy()
        for i in self.train:
            mel, p = data.item(i)
            mel = (normalise_mel(mel) - mm) / ms
            self.items.append((mel, (p - pm) / ps))
        self.silence_mel = None
        self.rest = (-pm / ps).astype(np.float32)
        self.emotion = data.emotion[self.train]
        self.intensity = data.intensity[self.train]
        self.bil_frames = [
            np.round(data.bilabial[i] * visemes.FPS).astype(np.int64) for i in self.train
        ]

    def __call__(self, B: int):
        L = self.window
        pick = self.rng.integers(len(self.items), size=B)
        x = np.empty((B, L, len(self.rest)), np.float32)
        bil = np.zeros((B, L), bool)  # the bilabial closure frames of each crop
        mels = []
        for b, i in enumerate(pick):
            mel, p = self.items[i]
            T = len(p)
            s = int(self.rng.integers(0, max(T - L, 0) + 1))
            seg = p[s : s + L]
            x[b, : len(seg)] = seg
            x[b, len(seg) :] = self.rest
            f = self.bil_frames[i] - s
            bil[b, f[(f >= 0) & (f < len(seg))]] = True
            m0 = int(round(s * 100 / 30))
            n_mel = int(round(L * 100 / 30)) + 20
            m = mel[m0 : m0 + n_mel]
            pad = np.full((n_mel - len(m), mel.shape[1]), mel.min(), np.float32)
            mels.append(np.concatenate([m, pad]) if len(pad) else m)
        return (
            torch.from_numpy(x),
            torch.from_numpy(np.stack(mels)),
            torch.from_numpy(self.emotion[pick]),
            torch.from_numpy(self.intensity[pick]),
            torch.from_numpy(bil),
        )


def _stats(model: SpeechLDM, data: SpeechData) -> None:
    tr = ~data.test
    rows = np.concatenate([data.item(i)[1] for i in np.flatnonzero(tr)])
    model.p_mean.copy_(torch.from_numpy(rows.mean(0)))
    model.p_std.copy_(torch.from_numpy(np.maximum(rows.std(0), 0.05)))
    mels = np.concatenate([normalise_mel(data.item(i)[0]) for i in np.flatnonzero(tr)[:400]])
    mels = np.maximum(mels, np.log(LOG_FLOOR))
    model.mel_mean.copy_(torch.from_numpy(mels.mean(0)))
    model.mel_std.copy_(torch.from_numpy(np.maximum(mels.std(0), 1e-3)))


def _save_run(run_dir, model, opt, stage, step, rng) -> None:
    from core.io.atomic import atomic_file

    with atomic_file(Path(run_dir) / "state.pt") as tmp:
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "stage": stage,
                "step": step,
                "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )


def train_speech(
    data: SpeechData,
    cfg: SpeechTrainConfig,
    out: Path,
    run_dir: Path | None = None,
    device: str = "cpu",
    small: bool = False,
    log=print,
    direct: bool = False,
    init_vq: Path | None = None,
    finetune: Path | None = None,
) -> dict:
    """Train both stages and save ``out`` (safetensors); returns the final losses.

    ``direct`` trains the regressor baseline instead of the diffusion model; ``init_vq`` takes
    stage 1 (VQ-VAE and statistics) from existing weights and trains stage 2 only;
    ``finetune`` takes everything (the denoiser too) and continues stage 2 from it.
    """
    rank, world = dist_info()
    log = rank0_log(log, rank)
    if min(cfg.batch, cfg.batch_ldm) < world:
        raise S2DError(
            f"batches of {min(cfg.batch, cfg.batch_ldm)} cannot be split over {world} processes"
        )
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    vq_cfg, ldm_cfg = default_configs(small, direct)
    model = SpeechLDM(vq_cfg, ldm_cfg)
    _stats(model, data)
    stage, start = "vq", 0
    state = None
    if init_vq is not None or finetune is not None:
        src = SpeechLDM.load(finetune or init_vq).state_dict()
        own = model.state_dict()
        for k, v in src.items():
            if (finetune is not None or not k.startswith("den.")) and k in own:
                own[k] = v.float()
        model.load_state_dict(own)
        stage = "ldm"
        log(f"{'fine-tuning' if finetune else 'stage 1 from'} {finetune or init_vq}")
    if run_dir is not None and (Path(run_dir) / "state.pt").is_file():
        state = torch.load(Path(run_dir) / "state.pt", weights_only=False)
        model.load_state_dict(state["model"])
        stage, start = state["stage"], state["step"]
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resuming {stage} at step {start}")
    if world > 1:  # each process its own crops and noise (rank 0's state was saved)
        rng = np.random.default_rng([cfg.seed, rank, world, start])
        torch.manual_seed(cfg.seed + 1000 * rank + start)
    model.to(device)
    batches = _Batches(data, model.cpu(), cfg.window, rng, (rank, world))
    model.to(device)
    losses = {}
    t0 = time.time()
    if stage == "vq":
        opt = torch.optim.AdamW(model.vq.parameters(), lr=cfg.lr_vq)
        if state is not None:
            opt.load_state_dict(state["opt"])
        w = torch.ones(vq_cfg.n_params, device=device)
        w[list(vq_cfg.local_idx)] = 2.0  # the lips matter most
        used = torch.zeros(vq_cfg.k_local, dtype=torch.bool, device=device)
        for step in range(start, cfg.vq_steps):
            x, _, e, _, _ = (t.to(device) for t in batches(cfg.batch // world))
            lr = cfg.lr_vq * min(1.0, 0.5 * (1 + np.cos(np.pi * step / cfg.vq_steps)) + 0.05)
            for g in opt.param_groups:
                g["lr"] = lr
            rec, vq_loss, z, il = model.vq(x, e)
            loss = (((rec - x) ** 2) * w).mean() + vq_loss
            opt.zero_grad()
            loss.backward()
            average_gradients(model.vq.parameters())
            opt.step()
            used[il.flatten()] = True
            if (step + 1) % 100 == 0:
                if world > 1:  # a code is used when any process used it
                    n_used = used.long()
                    torch.distributed.all_reduce(n_used)
                    used = n_used > 0
                moved = model.vq.reseed_unused(z.detach().reshape(-1, z.shape[-1]), used)
                broadcast_from_rank0([model.vq.book_local])  # rank 0's picks
                used[:] = False
                if moved and (step + 1) % cfg.log_every == 0:
                    log(f"  reseeded {moved} unused codes")
            losses["vq"] = float(loss.detach())
            if (step + 1) % cfg.log_every == 0:
                log(
                    f"vq {step + 1}/{cfg.vq_steps} loss {losses['vq']:.4f} ({time.time() - t0:.0f} s)"
                )
            if rank == 0 and run_dir is not None and (step + 1) % cfg.ckpt_every == 0:
                _save_run(run_dir, model, opt, "vq", step + 1, rng)
        _latent_stats(model, batches, device)
        broadcast_from_rank0([model.z_mean, model.z_std])  # rank 0's latent statistics
        stage, start, state = "ldm", 0, None
        if rank == 0 and run_dir is not None:
            _save_run(run_dir, model, torch.optim.AdamW(model.den.parameters()), "ldm", 0, rng)
    model.vq.requires_grad_(False)
    opt = torch.optim.AdamW(model.den.parameters(), lr=cfg.lr_ldm, weight_decay=0.01)
    if state is not None and state["stage"] == "ldm" and state["step"] > 0:
        opt.load_state_dict(state["opt"])
    ab = model.den.alpha_bar
    lip_gap = LipGap(load_speech_rig()).to(device) if cfg.closure_weight else None
    for step in range(start, cfg.ldm_steps):
        x, mel, e, inten, bil = (t.to(device) for t in batches(cfg.batch_ldm // world))
        lr = (
            cfg.lr_ldm
            * min(1.0, (step + 1) / 200)
            * (0.5 * (1 + np.cos(np.pi * step / cfg.ldm_steps)) * 0.95 + 0.05)
        )
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.no_grad():
            z0 = (model.vq.encode(x, e) - model.z_mean) / model.z_std
        B = len(x)
        if ldm_cfg.direct:  # regressor baseline: no noise, always the last step
            t = torch.full((B,), ldm_cfg.n_steps - 1, device=device)
            xt = torch.zeros_like(z0)
        else:
            t = torch.randint(0, ldm_cfg.n_steps, (B,), device=device)
            a = ab[t][:, None, None]
            xt = a.sqrt() * z0 + (1 - a).sqrt() * torch.randn_like(z0)
        feats = model.den.encode_audio(
            gather_audio(mel, cfg.window, 0, ldm_cfg.audio_context, ldm_cfg.fps, ldm_cfg.mel_rate)
        )
        p_drop = 0.0 if ldm_cfg.direct else ldm_cfg.p_drop
        drop_a = (torch.rand(B, device=device) < p_drop)[:, None, None]
        feats = torch.where(drop_a, torch.zeros_like(feats), feats)
        drop_e = torch.rand(B, device=device) < p_drop
        e_in = torch.where(drop_e | drop_a[:, 0, 0], torch.full_like(e, ldm_cfg.n_emotions), e)
        x0 = model.den(xt, t, feats, e_in, inten)
        loss = F.mse_loss(x0, z0)
        if cfg.decode_weight or cfg.closure_weight:
            rec = model.vq.decode(x0 * model.z_std + model.z_mean)
            loss = loss + cfg.decode_weight * F.mse_loss(rec, x)
        if cfg.closure_weight:
            gap = lip_gap(rec * model.p_std + model.p_mean)  # (B, L) mm
            loss = loss + cfg.closure_weight * closure_loss(gap, bil)
        opt.zero_grad()
        loss.backward()
        average_gradients(model.den.parameters())
        torch.nn.utils.clip_grad_norm_(model.den.parameters(), 1.0)
        opt.step()
        losses["ldm"] = float(loss.detach())
        if (step + 1) % cfg.log_every == 0:
            log(
                f"ldm {step + 1}/{cfg.ldm_steps} loss {losses['ldm']:.4f} "
                f"({time.time() - t0:.0f} s)"
            )
        if rank == 0 and run_dir is not None and (step + 1) % cfg.ckpt_every == 0:
            _save_run(run_dir, model, opt, "ldm", step + 1, rng)
    if rank == 0:
        _save_model(model, vq_cfg, ldm_cfg, cfg, out, losses)
    return losses


@torch.no_grad()
def _latent_stats(model: SpeechLDM, batches: _Batches, device) -> None:
    zs = []
    for _ in range(20):
        x, _, e, _, _ = (t.to(device) for t in batches(32))
        zs.append(model.vq.encode(x, e).reshape(-1, model.den.cfg.d_latent))
    z = torch.cat(zs)
    model.z_mean.copy_(z.mean(0))
    model.z_std.copy_(z.std(0).clamp_min(1e-3))


def _save_model(model, vq_cfg, ldm_cfg, cfg, out, losses) -> None:
    from core.models.checkpoint import save_checkpoint

    @dataclass(frozen=True)
    class _Both:
        vq: dict
        ldm: dict

    both = _Both(dataclasses.asdict(vq_cfg), dataclasses.asdict(ldm_cfg))
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_checkpoint(
        out, state, both, KIND, extra={"train": dataclasses.asdict(cfg), "losses": losses}
    )
