"""train-speech on two CPU processes (gloo): each rank crops its own shard of the items, the
replicas stay equal through both stages, and only rank 0 writes the checkpoint and weights."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch

from core.speech.tts import flite_available

DATA = {"n_train": 10, "n_test": 2, "seed": 3}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, root):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    from core.train import speech_train
    from core.train.speech_data import SpeechDataConfig, load_or_build

    seen, models = set(), []

    class Recording(speech_train._Batches):
        def __init__(self, data, model, *a, **k):
            super().__init__(data, model, *a, **k)
            models.append(model)

        def __call__(self, B):
            state = self.rng.bit_generator.state
            pick = self.rng.integers(len(self.items), size=B)
            self.rng.bit_generator.state = state  # the same draw again in the real call
            seen.update(int(self.train[i]) for i in pick)
            return super().__call__(B)

    speech_train._Batches = Recording
    data = load_or_build(SpeechDataConfig(**DATA), root, log=lambda s: 0)
    cfg = speech_train.SpeechTrainConfig(
        vq_steps=120, ldm_steps=20, batch=8, batch_ldm=8, window=32, ckpt_every=10, seed=1
    )
    run = root / "run"
    run.mkdir(exist_ok=True)
    logs = []
    losses = speech_train.train_speech(
        data, cfg, root / f"m{rank}.safetensors", run, small=True, log=logs.append
    )
    flat = torch.cat([p.detach().reshape(-1) for p in models[0].state_dict().values()])
    torch.save(
        {"flat": flat, "seen": sorted(seen), "logs": logs, "losses": losses},
        root / f"rank{rank}.pt",
    )
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_process_speech_training_stays_in_sync(tmp_path):
    if not flite_available():
        pytest.skip("flite not installed")
    from core.speech.ldm import SpeechLDM
    from core.train.speech_data import SpeechDataConfig, load_or_build

    data = load_or_build(SpeechDataConfig(**DATA), tmp_path, log=lambda s: 0)
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), tmp_path), nprocs=2)
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    # both stages' parameters, buffers and latent statistics equal on both ranks
    torch.testing.assert_close(r0["flat"], r1["flat"], rtol=0, atol=0)
    # disjoint shards of the training items, together all of them
    train = set(np.flatnonzero(~data.test).tolist())
    assert r0["seen"] and r1["seen"] and not set(r0["seen"]) & set(r1["seen"])
    assert set(r0["seen"]) | set(r1["seen"]) <= train
    # only rank 0 logs and writes; its weights load and hold the trained parameters
    assert r0["logs"] and not r1["logs"]
    assert not (tmp_path / "m1.safetensors").exists()
    assert (tmp_path / "run" / "state.pt").is_file()
    model = SpeechLDM.load(tmp_path / "m0.safetensors")
    flat = torch.cat([v.float().reshape(-1) for v in model.state_dict().values()])
    torch.testing.assert_close(flat, r0["flat"].half().float())
    assert np.isfinite(r0["losses"]["ldm"])
