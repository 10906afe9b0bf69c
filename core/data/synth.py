"""Seeded synthesis of 4D face data from the anny head model, cached on disk.

Two kinds of samples, for many identities:

- **decoder frames**: random sparse expression mixtures (facial actions + skinned bone poses),
  frames of the deformation families of :mod:`core.data.families` (facial actions, the whole
  face rig, anny's local face shape changes, and sums of them) and frames of labelled
  sequences, stored as the expressive landmarks and the dense displacement (float16, metres)
  of every vertex from the identity's neutral, each tagged with its source families
  (``frame_sources`` bit mask, for leave-one-family-out);
- **labelled sequences**: 30-frame neutral→apex landmark motions of the 19 labels
  (:mod:`core.data.recipes`) for the motion model and the expression classifier.

Splits: identities are split train/test (``test_identity_fraction``); the expression split
keeps the labels in :data:`~core.data.recipes.EXPRESSION_SPLIT_TEST_LABELS` and the actions in
:data:`~core.data.recipes.HELD_OUT_ACTIONS` out of its training frames (the ``expr_train``
mask); everything is a pure function of the config (same seed → identical arrays).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.config import config_from_dict
from core.data.families import FAMILIES, SOURCE_BITS, sample_family
from core.data.recipes import (
    EXPRESSION_SPLIT_TEST_LABELS,
    HELD_OUT_ACTIONS,
    LABELS,
    sample_random_mixture,
    sample_sequence,
)
from core.paths import user_cache_dir

__all__ = [
    "SynthConfig",
    "SynthData",
    "generate",
    "load_or_generate",
    "load_synth",
    "default_cache_dir",
]


@dataclass(frozen=True)
class SynthConfig:
    """What to synthesise. The defaults build the training set in a few minutes on 2 cores."""

    n_identities: int = 320
    mixtures_per_identity: int = 12
    actions_per_identity: int = 8
    bones_per_identity: int = 12
    local_per_identity: int = 8
    sums_per_identity: int = 12
    sequences_per_label_per_identity: float = 0.25
    sequence_frames_for_decoder: int = 5
    n_frames: int = 30
    test_identity_fraction: float = 0.15
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class SynthData:
    """Arrays of a synthesised data set (N frames, S sequences, I identities).

    neutral : (I, V, 3) float32 neutral faces; id_test : (I,) bool.
    frame_identity : (N,) int; frame_landmarks : (N, 68, 3) float32 expressive landmarks;
    frame_disp : (N, V, 3) float16 dense displacement from the neutral (metres);
    frame_label : (N,) int (-1 for random mixtures); frame_expr_train : (N,) bool;
    frame_sources : (N,) uint8 bit mask of the source families (:data:`SOURCE_BITS`).
    seq_identity : (S,) int; seq_label : (S,) int; seq_landmarks : (S, T, 68, 3) float32.
    """

    config: SynthConfig
    landmark_idx: np.ndarray
    neutral: np.ndarray
    id_test: np.ndarray
    frame_identity: np.ndarray
    frame_landmarks: np.ndarray
    frame_disp: np.ndarray
    frame_label: np.ndarray
    frame_expr_train: np.ndarray
    frame_sources: np.ndarray
    seq_identity: np.ndarray
    seq_label: np.ndarray
    seq_landmarks: np.ndarray

    @property
    def neutral_landmarks(self) -> np.ndarray:
        """(I, 68, 3) landmarks of every neutral face."""
        return self.neutral[:, self.landmark_idx]

    def save(self, path: Path) -> None:
        from core.io.atomic import atomic_savez

        arrays = {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        atomic_savez(path, {"config": json.dumps(asdict(self.config)), **arrays})

    @classmethod
    def load(cls, path: Path) -> SynthData:
        with np.load(path, allow_pickle=False) as d:
            cfg = config_from_dict(
                SynthConfig,
                json.loads(str(d["config"])),
                "delete the cached data set to synthesise it again",
            )
            return cls(config=cfg, **{k: d[k] for k in d.files if k != "config"})


def default_cache_dir() -> Path:
    return user_cache_dir()


def generate(config: SynthConfig, landmark_idx: np.ndarray, progress: bool = True) -> SynthData:
    """Synthesise the data set (needs anny)."""
    from tqdm import tqdm

    from core.data.anny_source import AnnyHead

    head = AnnyHead()
    fa_labels = head.facial_action_labels
    rng = np.random.default_rng(config.seed)
    n_id = config.n_identities
    ident = head.sample_identities(rng, n_id)
    id_test = np.zeros(n_id, bool)
    id_test[rng.permutation(n_id)[: max(1, round(config.test_identity_fraction * n_id))]] = True
    neutral = head.vertices(ident, np.arange(n_id))

    f_id, f_lm, f_disp, f_lab, f_ok, f_src = [], [], [], [], [], []
    mixed = SOURCE_BITS["actions"] | SOURCE_BITS["bones"]
    s_id, s_lab, s_lm = [], [], []
    n_seq_per_label = max(1, round(config.sequences_per_label_per_identity * n_id))
    bar = tqdm(
        total=n_id + len(LABELS),
        desc="synthesising anny 4D data",
        disable=not progress,
        unit="batch",
    )
    for i in range(n_id):
        exclude = rng.random() < 0.5  # half the identities never use the held-out actions
        mix = sample_random_mixture(
            fa_labels,
            rng,
            config.mixtures_per_identity,
            exclude_actions=HELD_OUT_ACTIONS if exclude else (),
        )
        v = head.vertices(ident, np.full(config.mixtures_per_identity, i), mix)
        f_id.append(np.full(len(v), i))
        f_lm.append(v[:, landmark_idx])
        f_disp.append((v - neutral[i]).astype(np.float16))
        f_lab.append(np.full(len(v), -1))
        f_ok.append(np.full(len(v), exclude))
        f_src.append(np.full(len(v), mixed, np.uint8))
        for family in FAMILIES:
            count = getattr(config, f"{family}_per_identity")
            if count < 1:
                continue
            params, local, sources = sample_family(
                family,
                head,
                rng,
                count,
                ident["local_changes"][i],
                exclude_actions=HELD_OUT_ACTIONS if exclude else (),
            )
            frame_ident = {
                "phenotypes": np.repeat(ident["phenotypes"][i : i + 1], count, axis=0),
                "local_changes": local,
            }
            v = head.vertices(frame_ident, np.arange(count), params)
            f_id.append(np.full(count, i))
            f_lm.append(v[:, landmark_idx])
            f_disp.append((v - neutral[i]).astype(np.float16))
            f_lab.append(np.full(count, -1))
            f_ok.append(exclude | ((sources & SOURCE_BITS["actions"]) == 0))
            f_src.append(sources)
        bar.update(1)
    # labelled sequences: identities cycled so every label is seen on train and test identities
    order = rng.permutation(n_id)
    k = 0
    for li, label in enumerate(LABELS):
        for _ in range(n_seq_per_label):
            i = int(order[k % n_id])
            k += 1
            params = sample_sequence(label, fa_labels, rng, config.n_frames)
            v = head.vertices(ident, np.full(config.n_frames, i), params)
            s_id.append(i)
            s_lab.append(li)
            s_lm.append(v[:, landmark_idx])
            pick = (
                np.linspace(
                    config.n_frames // 3, config.n_frames - 1, config.sequence_frames_for_decoder
                )
                .round()
                .astype(int)
            )
            f_id.append(np.full(len(pick), i))
            f_lm.append(v[pick][:, landmark_idx])
            f_disp.append((v[pick] - neutral[i]).astype(np.float16))
            f_lab.append(np.full(len(pick), li))
            f_ok.append(np.full(len(pick), label not in EXPRESSION_SPLIT_TEST_LABELS))
            f_src.append(np.full(len(pick), mixed, np.uint8))
        bar.update(1)
    bar.close()
    frame_label = np.concatenate(f_lab)
    frame_identity = np.concatenate(f_id)
    return SynthData(
        config=config,
        landmark_idx=np.asarray(landmark_idx, np.int64),
        neutral=neutral.astype(np.float32),
        id_test=id_test,
        frame_identity=frame_identity,
        frame_landmarks=np.concatenate(f_lm).astype(np.float32),
        frame_disp=np.concatenate(f_disp),
        frame_label=frame_label,
        frame_expr_train=np.concatenate(f_ok),
        frame_sources=np.concatenate(f_src),
        seq_identity=np.asarray(s_id),
        seq_label=np.asarray(s_lab),
        seq_landmarks=np.stack(s_lm).astype(np.float32),
    )


def load_or_generate(
    config: SynthConfig,
    landmark_idx: np.ndarray,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> SynthData:
    """Load the cached data set for this config, or synthesise and cache it."""
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"synth-{config.key()}.npz"
    if path.is_file():
        return SynthData.load(path)
    data = generate(config, landmark_idx, progress=progress)
    data.save(path)
    return data


def load_synth(config: SynthConfig | None = None, cache_dir: Path | str | None = None) -> SynthData:
    """The synthesised data set of ``config`` on the shipped landmarks (generated on first use).

    The data every training and evaluation command reads; ``cache_dir`` defaults to
    :func:`default_cache_dir`.
    """
    from core.assets import load_landmarks

    return load_or_generate(
        config or SynthConfig(),
        load_landmarks().indices,
        cache_dir=Path(cache_dir) if cache_dir else None,
    )
