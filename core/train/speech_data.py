"""Synthesised speech-animation data: sentences → flite voices → phones → face parameters.

Each item: a fortunes sentence spoken by one flite voice with a random rate and pitch, its audio
augmented (gain, spectral tilt, short reverberation, noise at 15–40 dB SNR), the log-mel of the
augmented audio, and the rig parameters from the viseme rules with a random articulation style,
a random emotion (of 7) and intensity. The voice ``rms`` is held out for evaluation (and 10 % of
the sentences). Items are seeded one by one (seed, index), so a dataset is reproducible and the
cache can be grown. The cache is one npz (``cache/speech/…`` or any folder), never committed.

Shapes: N mel frames (100/s), M = 40 mel bands, T frames (30/s), P = 53 parameters.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.speech.audio import logmel
from core.speech.emotion import EMOTIONS, animate
from core.speech.rig import load_speech_rig
from core.speech.tts import TEST_VOICES, VOICES, load_sentences, speak_flite
from core.speech.visemes import BILABIALS, FPS, Style

__all__ = ["SpeechDataConfig", "SpeechData", "synthesise", "load_or_build", "augment", "make_item"]

#: Mean F0 ranges (Hz) per voice for the random pitch.
PITCH = {
    "slt": (150, 230),
    "kal16": (85, 140),
    "awb": (85, 140),
    "kal": (85, 140),
    "rms": (80, 130),
}


@dataclass(frozen=True)
class SpeechDataConfig:
    """What to synthesise: ``n_train``/``n_test`` items, ``seed``."""

    n_train: int = 1200
    n_test: int = 120
    seed: int = 0


@dataclass
class SpeechData:
    """Concatenated items. mel (sum N, M) float16; params (sum T, P) float32; per item:
    mel_off/frame_off (n+1,) int64 offsets, emotion (n,) int64, intensity (n,) float32,
    voice (n,) str, test (n,) bool, bilabial (list of arrays of bilabial mid times, s)."""

    mel: np.ndarray
    params: np.ndarray
    mel_off: np.ndarray
    frame_off: np.ndarray
    emotion: np.ndarray
    intensity: np.ndarray
    voice: np.ndarray
    test: np.ndarray
    bilabial: list
    text: list

    def __len__(self) -> int:
        return len(self.emotion)

    def item(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(mel (N, M) float32, params (T, P) float32) of item i."""
        return (
            self.mel[self.mel_off[i] : self.mel_off[i + 1]].astype(np.float32),
            self.params[self.frame_off[i] : self.frame_off[i + 1]],
        )


def augment(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Random gain, spectral tilt, reverberation and noise of a mono signal x (S,)."""
    x = x.astype(np.float32)
    tilt = rng.uniform(-0.6, 0.6)  # first-order pre/de-emphasis
    x = x - tilt * np.concatenate([[0.0], x[:-1]]).astype(np.float32)
    if rng.random() < 0.5:  # short exponential-decay room
        n = int(rate * rng.uniform(0.05, 0.25))
        ir = rng.normal(0, 1, n) * np.exp(-np.arange(n) / (n / 5))
        ir[0] = 1.0 / rng.uniform(0.1, 0.5)
        x = np.convolve(x, ir / np.abs(ir).sum() * 3, mode="full")[: len(x)].astype(np.float32)
    x = x / (np.abs(x).max() + 1e-9) * rng.uniform(0.1, 0.9)
    snr = rng.uniform(15, 40)
    p = np.mean(x**2) + 1e-12
    x = x + rng.normal(0, np.sqrt(p / 10 ** (snr / 10)), len(x)).astype(np.float32)
    return x


def make_item(
    cfg: SpeechDataConfig, i: int, text: str, tmp: Path, names, keep_audio: bool = False
) -> dict:
    """Item ``i`` (reproducible from ``cfg.seed`` and i): mel, params, emotion, intensity,
    voice, bilabial times; with ``keep_audio`` also the augmented waveform ``x``, ``rate`` and
    the flite ``phones``."""
    import soundfile as sf

    test = i >= cfg.n_train
    rng = np.random.default_rng([cfg.seed, i])
    voice = (
        TEST_VOICES[0] if test and rng.random() < 0.5 else VOICES[int(rng.integers(len(VOICES)))]
    )
    utt = speak_flite(
        text,
        tmp / "x.wav",
        voice=voice,
        stretch=rng.uniform(0.8, 1.3),
        pitch=rng.uniform(*PITCH.get(voice, (90, 200))),
    )
    x, rate = sf.read(str(utt.wav), dtype="float32")
    x = augment(x, rate, rng)
    mel = logmel(x, rate)
    n_frames = max(1, int(np.ceil(len(x) / rate * FPS)))
    emo = int(rng.integers(len(EMOTIONS)))
    intensity = float(rng.uniform(0.5, 1.1))
    style = Style.sample(rng)
    params = animate(utt.phones, n_frames, EMOTIONS[emo], names, rng, intensity, style)
    bil = np.array(
        [(p.start + p.end) / 2 - style.lead for p in utt.phones if p.symbol in BILABIALS],
        np.float32,
    )
    out = {
        "mel": mel,
        "params": params,
        "emotion": emo,
        "intensity": intensity,
        "bil": bil,
        "voice": voice,
        "test": test,
        "text": text,
    }
    if keep_audio:
        out.update(x=x, rate=rate, phones=utt.phones)
    return out


def synthesise(cfg: SpeechDataConfig, log=print) -> SpeechData:
    """Build the dataset (about 20 items per second on one core)."""
    names = load_speech_rig().action_names
    sentences = load_sentences(cfg.n_train + cfg.n_test, seed=cfg.seed)
    items = []
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="s2d-speech-") as tmp:
        for i, text in enumerate(sentences):
            items.append(make_item(cfg, i, text, Path(tmp), names))
            if (i + 1) % 100 == 0 or i + 1 == len(sentences):
                log(f"speech data {i + 1}/{len(sentences)} ({time.time() - t0:.0f} s)")
    mel_off = np.cumsum([0] + [len(it["mel"]) for it in items])
    frame_off = np.cumsum([0] + [len(it["params"]) for it in items])
    return SpeechData(
        mel=np.concatenate([it["mel"] for it in items]).astype(np.float16),
        params=np.concatenate([it["params"] for it in items]).astype(np.float32),
        mel_off=mel_off,
        frame_off=frame_off,
        emotion=np.array([it["emotion"] for it in items]),
        intensity=np.array([it["intensity"] for it in items], np.float32),
        voice=np.array([it["voice"] for it in items]),
        test=np.array([it["test"] for it in items]),
        bilabial=[it["bil"] for it in items],
        text=[it["text"] for it in items],
    )


def _save(path: Path, d: SpeechData, cfg: SpeechDataConfig) -> None:
    from core.io.atomic import atomic_savez

    bil_off = np.cumsum([0] + [len(b) for b in d.bilabial])
    atomic_savez(
        path,
        {
            "mel": d.mel,
            "params": d.params,
            "mel_off": d.mel_off,
            "frame_off": d.frame_off,
            "emotion": d.emotion,
            "intensity": d.intensity,
            "voice": d.voice,
            "test": d.test,
            "bilabial": np.concatenate(d.bilabial + [np.zeros(0, np.float32)]),
            "bil_off": bil_off,
            "text": np.array(d.text),
            "config": np.array(json.dumps(asdict(cfg))),
        },
    )


def load_or_build(cfg: SpeechDataConfig, cache_dir: Path, log=print) -> SpeechData:
    """The dataset of ``cfg`` from ``cache_dir`` (built and cached when missing)."""
    cache_dir = Path(cache_dir)
    path = cache_dir / f"speech_{cfg.n_train}_{cfg.n_test}_{cfg.seed}.npz"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _save(path, synthesise(cfg, log), cfg)
        log(f"cached {path}")
    with np.load(path, allow_pickle=False) as z:
        bo = z["bil_off"]
        return SpeechData(
            z["mel"],
            z["params"],
            z["mel_off"],
            z["frame_off"],
            z["emotion"],
            z["intensity"],
            z["voice"],
            z["test"],
            [z["bilabial"][bo[i] : bo[i + 1]] for i in range(len(bo) - 1)],
            [str(t) for t in z["text"]],
        )


if __name__ == "__main__":  # pragma: no cover - manual cache building
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    load_or_build(
        SpeechDataConfig(n_train=n), Path(sys.argv[2] if len(sys.argv) > 2 else "cache/speech")
    )
