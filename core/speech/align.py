"""Phones of real speech with pocketsphinx (PyPI ``pocketsphinx`` 5.x ships its US-English model).

* With a transcript: forced alignment (words → dictionary phones → times). Words missing from
  the dictionary get a pronunciation from flite's letter-to-sound rules when flite is present.
  If the transcript does not match the audio and alignment fails, phone recognition is used and
  a warning says so.
* Without: phone recognition with the bundled phone language model.

Audio is mixed to mono and resampled to 16 kHz int16. Frames are 10 ms.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np

from core.errors import S2DError
from core.speech.audio import read_audio
from core.speech.tts import flite_available
from core.speech.visemes import Phone

__all__ = [
    "pocketsphinx_available",
    "recognise_phones",
    "align_phones",
    "phones_for_audio",
    "trim_edges",
]

RATE = 16000
#: flite phones that the pocketsphinx (CMU) phone set spells differently.
_SPHINX = {"ax": "ah", "axr": "er"}


def pocketsphinx_available() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def _need():
    try:
        import pocketsphinx
    except ImportError as exc:
        raise S2DError(
            "the pocketsphinx package is needed to find phones in real audio; "
            "install it with: pip install 'pocketsphinx>=5'"
        ) from exc
    return pocketsphinx


def _pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()


def recognise_phones(x: np.ndarray) -> list[Phone]:
    """Phones of 16 kHz mono float audio x (S,) without a transcript."""
    ps = _need()
    lm = os.path.join(ps.get_model_path(), "en-us-phone.lm.bin")
    dec = ps.Decoder(allphone=lm, lw=2.0, beam=1e-20, pbeam=1e-20, samprate=RATE, loglevel="FATAL")
    dec.start_utt()
    dec.process_raw(_pcm(x), full_utt=True)
    dec.end_utt()
    return [
        Phone(s.word, s.start_frame / 100, (s.end_frame + 1) / 100)
        for s in dec.seg()
        if not s.word.startswith("+")
    ]


def _flite_phones(word: str) -> str | None:
    if not flite_available():
        return None
    out = subprocess.run(
        ["flite", "-t", word, "-ps", "-o", "/dev/null"], capture_output=True, text=True, timeout=30
    ).stdout
    ph = [_SPHINX.get(p, p).upper() for p in out.split() if p != "pau"]
    return " ".join(ph) or None


def align_phones(x: np.ndarray, transcript: str) -> list[Phone]:
    """Forced alignment of 16 kHz mono audio x (S,) with ``transcript``.

    Raises :class:`S2DError` when the transcript cannot be aligned.
    """
    words = re.findall(r"[a-z0-9']+", transcript.lower())
    if not words:
        raise S2DError("the transcript has no words; give the spoken text or leave it out")
    try:
        return _align(x, words, {})
    except S2DError:  # fast speech can fall outside the default beams: retry wider
        return _align(x, words, {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80})


def _align(x: np.ndarray, words: list[str], beams: dict) -> list[Phone]:
    ps = _need()
    dec = ps.Decoder(samprate=RATE, bestpath=False, loglevel="FATAL", **beams)
    for w in set(words):
        if dec.lookup_word(w) is None:
            pron = _flite_phones(w)
            if pron is None:
                raise S2DError(f"the word {w!r} is not in the pronunciation dictionary")
            dec.add_word(w, pron, True)
    pcm = _pcm(x)
    try:
        dec.set_align_text(" ".join(words))
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        dec.set_alignment()
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        al = dec.get_alignment()
        phones = [Phone(p.name, p.start / 100, (p.start + p.duration) / 100) for w in al for p in w]
    except (RuntimeError, ValueError) as exc:
        raise S2DError(f"the transcript could not be aligned with the audio ({exc})") from exc
    if not phones:
        raise S2DError("the transcript could not be aligned with the audio")
    return phones


def trim_edges(phones: list[Phone], x: np.ndarray) -> list[Phone]:
    """Move the first speech phone's start and the last one's end onto the voiced part: the
    aligner absorbs leading/trailing silence into them. Energy is measured per 10 ms frame;
    frames 35 dB below the loudest count as silent."""
    speech = [i for i, p in enumerate(phones) if p.symbol.upper() not in ("SIL", "PAU")]
    if not speech or len(x) < 160:
        return phones
    e = 10 * np.log10(np.mean(x[: len(x) // 160 * 160].reshape(-1, 160) ** 2, axis=1) + 1e-12)
    voiced = np.flatnonzero(e > e.max() - 35.0)
    if not len(voiced):
        return phones
    on, off = voiced[0] / 100 - 0.02, (voiced[-1] + 1) / 100 + 0.02
    out = list(phones)
    i, j = speech[0], speech[-1]
    if out[i].start < on < out[i].end - 0.03:
        out[i] = Phone(out[i].symbol, on, out[i].end)
        out.insert(i, Phone("SIL", 0.0, on))
        j += 1
    if out[j].start + 0.03 < off < out[j].end:
        out.insert(j + 1, Phone("SIL", off, out[j].end))
        out[j] = Phone(out[j].symbol, out[j].start, off)
    return out


def phones_for_audio(
    path: str | Path, transcript: str | None = None, max_seconds: float = 600.0
) -> tuple[list[Phone], str]:
    """Phones of an audio file and how they were found (``"aligned"`` or ``"recognised"``)."""
    x, _ = read_audio(path, RATE, max_seconds=max_seconds)
    if np.abs(x).max(initial=0.0) < 1e-4:  # digital silence: no phones, a still mouth
        return [], "silence"
    if transcript:
        try:
            return trim_edges(align_phones(x, transcript), x), "aligned"
        except S2DError as exc:
            warnings.warn(f"{exc}; falling back to phone recognition", stacklevel=2)
    return trim_edges(recognise_phones(x), x), "recognised"
