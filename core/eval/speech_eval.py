"""``python main.py evaluate-speech``: the diffusion model against the rule baselines.

Held-out test items (sentences never trained on; half spoken by the held-out flite voice
``rms``) are re-synthesised exactly (same seed) so their audio exists for pocketsphinx. Methods:

* ``diffusion`` — the trained model from log-mel (seed 0; seeds 0–2 for diversity);
* ``rules, aligned`` — pocketsphinx forced alignment with the transcript → viseme rules;
* ``rules, recognised`` — pocketsphinx phone recognition (no transcript) → viseme rules;
* ``rules, flite phones`` — the exact TTS phones with the average style (the floor set by the
  random per-utterance style of the reference);
* ``guided, aligned`` / ``guided, recognised`` — the diffusion model steered at sampling time by
  the same pocketsphinx phones (:mod:`core.speech.guide`, default strengths).

Real recordings (``/usr/share/sounds/alsa``, a human voice) and an unseen synthesiser
(espeak-ng) are measured without a reference motion: closure against pocketsphinx-aligned
bilabials and the audio–lip offset. Results go to ``docs/speech.md`` and a figure.

Shapes: T frames, V vertices, P parameters.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from core.assets import load_face, load_landmarks
from core.eval.speech_metrics import (
    audio_lip_offset,
    closure_rate,
    diversity,
    fdd_per_sequence,
    lve,
)
from core.speech.align import align_phones, recognise_phones, trim_edges
from core.speech.audio import read_audio, stream_logmel
from core.speech.emotion import EMOTIONS, animate
from core.speech.guide import phone_guide
from core.speech.rig import load_speech_rig
from core.speech.tts import load_sentences
from core.speech.visemes import BILABIALS, FPS, Style, mouth_opening
from core.train.speech_data import SpeechDataConfig, make_item

__all__ = ["evaluate_speech", "METHOD_NAMES"]

METHOD_NAMES = (
    "diffusion",
    "rules, aligned",
    "rules, recognised",
    "rules, flite phones",
    "guided, aligned",
    "guided, recognised",
)
ALSA = Path("/usr/share/sounds/alsa")
REGRESSOR = "direct regressor (FaceFormer-style)"
ESPEAK_SENTENCES = (
    "Bring me the blue map before the boat leaves.",
    "My brother played the piano for a month.",
    "Please pass the butter and the bread.",
    "A small bird sang above the pump house.",
)


def _to16k(x, rate):
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(16000, rate)
    return resample_poly(x, 16000 // g, rate // g).astype(np.float32)


class _Scorer:
    def __init__(self):
        self.rig = load_speech_rig()
        self.face = load_face()
        self.lm = load_landmarks().indices
        self.clf, self.clf_labels = _classifier()

    def verts(self, params):
        return self.rig.vertices(params)

    def gap(self, verts):
        return mouth_opening(verts, self.lm[62], self.lm[66]) * 1000

    def emotion_of(self, verts) -> int | None:
        """The classifier's emotion (index into EMOTIONS) of a clip (T, V, 3): 30 frames
        sampled evenly, only the 7 emotion labels compete."""
        if self.clf is None:
            return None
        import torch

        from core.models.classifier import normalize_sequences

        idx = np.linspace(0, len(verts) - 1, 30).round().astype(int)
        x = normalize_sequences(verts[idx][None][:, :, self.lm])
        with torch.no_grad():
            logits = self.clf(x)[0].numpy()
        cols = [self.clf_labels.index(e) for e in EMOTIONS]
        return int(np.argmax(logits[cols]))


def _classifier():
    try:
        from core.models.classifier import CLASSIFIER_KIND
        from core.models.loaders import load_sequence_model

        root = Path(__file__).resolve().parents[2]
        model, _ = load_sequence_model(
            root / "models" / "expression_classifier.safetensors", CLASSIFIER_KIND
        )
        return model, list(model.config.labels)
    except Exception:  # noqa: BLE001 - the accuracy column is left out without it
        return None, []


def _rules(phones, T, emotion, intensity, names):
    return animate(phones, T, emotion, names, np.random.default_rng(0), intensity, Style())


def _rule_phones(name: str, x16: np.ndarray, item: dict, log) -> list:
    """Phones for a rules method; a failed alignment gives no phones (a still mouth)."""
    try:
        if name == "rules, flite phones":
            return item["phones"]
        if name == "rules, aligned":
            return trim_edges(align_phones(x16, item["text"]), x16)
        return trim_edges(recognise_phones(x16), x16)
    except Exception as exc:  # noqa: BLE001 - counted as a failure in the table
        log(f"  {name} failed: {exc}")
        return []


def _score(sc: _Scorer, params, ref_v, item, rows: dict, name: str, mel) -> np.ndarray:
    v = sc.verts(params)
    gap = sc.gap(v)
    c, n = closure_rate(gap, item["bil"], FPS)
    off = audio_lip_offset(gap, mel, FPS)
    r = rows.setdefault(name, {"seconds": 0.0})
    for key, empty in (
        ("lve", []),
        ("fdd", []),
        ("closed", 0),
        ("bil", 0),
        ("offset", []),
        ("emo", []),
    ):
        r.setdefault(key, empty)
    r["lve"].append(lve(v, ref_v, sc.rig.lip_vertices))
    neutral = sc.face.vertices
    r["fdd"].append(
        abs(
            fdd_per_sequence(v, neutral, sc.rig.upper_face)
            - fdd_per_sequence(ref_v, neutral, sc.rig.upper_face)
        )
    )
    r["closed"] += c
    r["bil"] += n
    if off is not None:
        r["offset"].append(off)
    e = sc.emotion_of(v)
    if e is not None:
        r["emo"].append(e == item["emotion"])
    return v


def _maybe_load(path):
    from core.speech.ldm import SpeechLDM

    return SpeechLDM.load(path) if path is not None and Path(path).is_file() else None


def evaluate_speech(
    weights: Path | None,
    out_md: Path,
    fig_dir: Path,
    n_items: int = 40,
    data_cfg: SpeechDataConfig | None = None,
    log=print,
    baseline: Path | None = None,
) -> dict:
    """Run the evaluation, write ``out_md`` and a figure; returns the table rows.

    ``baseline``: weights of the direct regressor (``train-speech --direct``); its row is left
    out when the file is missing.
    """
    data_cfg = data_cfg or SpeechDataConfig(n_train=2000, n_test=200)
    from core.speech.ldm import SpeechLDM

    sc = _Scorer()
    names = sc.rig.action_names
    model = SpeechLDM.load(weights)
    direct = _maybe_load(baseline)
    sentences = load_sentences(data_cfg.n_train + data_cfg.n_test, seed=data_cfg.seed)
    rows: dict = {}
    div_all, div_lip, div_guided = [], [], []
    example = None
    with tempfile.TemporaryDirectory(prefix="s2d-speech-eval-") as tmp:
        for k, i in enumerate(range(data_cfg.n_train, data_cfg.n_train + n_items)):
            item = make_item(data_cfg, i, sentences[i], Path(tmp), names, keep_audio=True)
            T, mel, emo = len(item["params"]), item["mel"], EMOTIONS[item["emotion"]]
            ref_v = sc.verts(item["params"])
            _score(
                sc,
                item["params"],
                ref_v,
                item,
                rows,
                "reference (rules, flite phones, random style)",
                mel,
            )
            x16 = _to16k(item["x"], item["rate"])
            t0 = time.perf_counter()
            samples = [
                model.generate(mel, T, emo, seed=s, intensity=item["intensity"]) for s in range(3)
            ]
            rows.setdefault("diffusion", {"seconds": 0.0})
            dv = [_score(sc, samples[0], ref_v, item, rows, "diffusion", mel)]
            rows["diffusion"]["seconds"] += (time.perf_counter() - t0) / 3
            if direct is not None:
                t0 = time.perf_counter()
                p = direct.generate(mel, T, emo, intensity=item["intensity"])
                rows.setdefault(REGRESSOR, {"seconds": 0.0})
                rows[REGRESSOR]["seconds"] += time.perf_counter() - t0
                _score(sc, p, ref_v, item, rows, REGRESSOR, mel)
            dv += [sc.verts(p) for p in samples[1:]]
            div_all.append(diversity(np.stack(dv)))
            div_lip.append(diversity(np.stack(dv), sc.rig.lip_vertices))
            found = {}
            for name in METHOD_NAMES[1:4]:
                t0 = time.perf_counter()
                found[name] = ph = _rule_phones(name, x16, item, log)
                p = _rules(ph, T, emo, item["intensity"], names)
                rows.setdefault(name, {"seconds": 0.0})
                rows[name]["seconds"] += time.perf_counter() - t0
                _score(sc, p, ref_v, item, rows, name, mel)
            for name in METHOD_NAMES[4:]:
                guide = phone_guide(found["rules, " + name[8:]], T, emo, names, item["intensity"])
                t0 = time.perf_counter()
                gs = [
                    model.generate(mel, T, emo, seed=s, intensity=item["intensity"], guide=guide)
                    for s in range(3 if name == "guided, aligned" else 1)
                ]
                rows.setdefault(name, {"seconds": 0.0})
                rows[name]["seconds"] += (time.perf_counter() - t0) / len(gs)
                gv = [_score(sc, gs[0], ref_v, item, rows, name, mel)]
                if len(gs) > 1:
                    gv += [sc.verts(p) for p in gs[1:]]
                    div_guided.append(diversity(np.stack(gv), sc.rig.lip_vertices))
            if example is None and len(item["bil"]) >= 2:
                example = (item, samples, ref_v)
            log(f"evaluate-speech {k + 1}/{n_items}")
        real = _real_recordings(sc, model, Path(tmp), log)
    speed = _speed(model, data_cfg, sentences, names, log)
    table = _summarise(rows, n_items)
    fig = _figure(sc, example, fig_dir) if example else None
    divs = (np.mean(div_all), np.mean(div_lip), np.mean(div_guided))
    _write_md(out_md, table, real, speed, divs, fig, n_items, model.meta)
    return {"table": table, "real": real, "speed": speed}


def _summarise(rows: dict, n_items: int) -> list[dict]:
    out = []
    for name, r in rows.items():
        if "lve" not in r:
            continue
        out.append(
            {
                "method": name,
                "lve": float(np.mean(r["lve"])),
                "fdd": float(np.mean(r["fdd"])),
                "closure": r["closed"] / max(r["bil"], 1),
                "n_bil": r["bil"],
                "offset": float(np.mean(r["offset"])) if r["offset"] else float("nan"),
                "emotion": float(np.mean(r["emo"])) if r["emo"] else float("nan"),
                "seconds": r.get("seconds", 0.0) / n_items,
            }
        )
    return out


def _real_recordings(sc: _Scorer, model, tmp: Path, log) -> list[dict]:
    """Closure against aligned bilabials and offset on real and espeak-ng speech."""
    clips = []
    for f in sorted(ALSA.glob("*.wav")) if ALSA.is_dir() else []:
        if f.stem != "Noise":
            clips.append((f, f.stem.replace("_", " "), "alsa (human voice)"))
    if shutil.which("espeak-ng"):
        for j, s in enumerate(ESPEAK_SENTENCES):
            w = tmp / f"espeak{j}.wav"
            subprocess.run(["espeak-ng", "-w", str(w), s], capture_output=True, timeout=60)
            clips.append((w, s, "espeak-ng (unseen synthesiser)"))
    out = []
    names = sc.rig.action_names
    for path, text, kind in clips:
        x, _ = read_audio(path, 16000)
        mel, info = stream_logmel(path)
        T = int(np.ceil(info.duration * FPS))
        try:
            ph = trim_edges(align_phones(x, text), x)
        except Exception as exc:  # noqa: BLE001
            log(f"  alignment failed on {path.name}: {exc}")
            continue
        bil = np.array([(p.start + p.end) / 2 for p in ph if p.symbol.lower() in BILABIALS])
        for method, params in (
            ("diffusion", model.generate(mel, T, "happy", seed=0)),
            ("rules, aligned", _rules(ph, T, "happy", 1.0, names)),
            (
                "guided, aligned",
                model.generate(mel, T, "happy", seed=0, guide=phone_guide(ph, T, "happy", names)),
            ),
            (
                "rules, recognised",
                _rules(trim_edges(recognise_phones(x), x), T, "happy", 1.0, names),
            ),
        ):
            gap = sc.gap(sc.verts(params))
            c, n = closure_rate(gap, bil - 0.04, FPS)
            out.append(
                {
                    "kind": kind,
                    "clip": path.name,
                    "method": method,
                    "closed": c,
                    "bil": n,
                    "offset": audio_lip_offset(gap, mel, FPS),
                }
            )
    return out


def _speed(model, data_cfg, sentences, names, log) -> dict:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        mels = []
        i = data_cfg.n_train
        while sum(len(m) for m in mels) < 1000:
            mels.append(make_item(data_cfg, i, sentences[i], Path(tmp), names)["mel"])
            i += 1
    mel = np.concatenate(mels)[:1000]  # 10 s
    model.generate(mel[:200], 60, "happy")  # warm-up
    t0 = time.perf_counter()
    model.generate(mel, 300, "happy", seed=1)
    dt = time.perf_counter() - t0
    return {"seconds_for_10s": dt, "x_realtime": 10.0 / dt, "load": os.getloadavg()[0]}


def _figure(sc: _Scorer, example, fig_dir: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    item, samples, ref_v = example
    t = np.arange(len(item["params"])) / FPS
    fig, ax = plt.subplots(figsize=(8, 2.6), dpi=100)
    ax.plot(t, sc.gap(ref_v), "k", lw=2, label="reference")
    for s, p in enumerate(samples):
        ax.plot(t, sc.gap(sc.verts(p)), lw=1, label=f"diffusion seed {s}")
    for b in item["bil"]:
        ax.axvline(b, color="r", lw=0.6, ls=":")
    ax.set_xlabel("seconds")
    ax.set_ylabel("inner-lip gap (mm)")
    ax.set_title(f'held-out voice {item["voice"]}: "{item["text"][:60]}" (red: p/b/m)', fontsize=8)
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    fig.tight_layout()
    fig_dir.mkdir(parents=True, exist_ok=True)
    path = fig_dir / "speech_mouth.png"
    fig.savefig(path)
    plt.close(fig)
    return path.name


def _write_md(out_md: Path, table, real, speed, divs, fig, n_items, meta) -> None:
    from core.eval.speech_report import write_report

    write_report(out_md, table, real, speed, divs, fig, n_items, meta)
