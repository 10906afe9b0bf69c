"""Local speech synthesis with exact phone timing (Debian ``flite``) and training sentences
(Debian ``fortunes``).

``flite -voice V -t TEXT -psdur -o out.wav`` prints ``phone:end_time`` pairs; the phones are
ARPAbet (lower case, ``pau`` for silence). Rate and pitch are varied with flite's
``duration_stretch`` and ``int_f0_target_mean`` features.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, S2DError
from core.speech.visemes import Phone

__all__ = [
    "VOICES",
    "TEST_VOICES",
    "Utterance",
    "flite_available",
    "speak_flite",
    "parse_psdur",
    "load_sentences",
    "FORTUNES_DIR",
]

#: flite voices used for training data (awb_time is a limited-domain voice and is skipped).
VOICES = ("slt", "kal16", "awb", "kal")
#: Voices held out for evaluation.
TEST_VOICES = ("rms",)
FORTUNES_DIR = Path("/usr/share/games/fortunes")


@dataclass(frozen=True)
class Utterance:
    """A synthesised sentence: ``wav`` path, ``phones`` with times, ``text``, ``voice``."""

    wav: Path
    phones: list
    text: str
    voice: str


def flite_available() -> bool:
    return shutil.which("flite") is not None


def parse_psdur(text: str) -> list[Phone]:
    """``"pau:0.19 p:0.25 …"`` (end times, seconds) → phones with start and end times."""
    phones, t0 = [], 0.0
    for tok in text.split():
        sym, _, end = tok.rpartition(":")
        try:
            t1 = float(end)
        except ValueError:
            continue
        if sym:
            phones.append(Phone(sym, t0, t1))
            t0 = t1
    return phones


def speak_flite(
    text: str, out_wav: Path, voice: str = "slt", stretch: float = 1.0, pitch: float | None = None
) -> Utterance:
    """Synthesise ``text`` to ``out_wav`` with flite; returns the phone timing.

    stretch : duration multiplier (>1 slower); pitch : mean F0 in Hz (None = the voice's).
    """
    if not flite_available():
        raise S2DError("flite is not installed; install it with: apt-get install flite")
    text = " ".join(text.split())
    if not re.search(r"[A-Za-z0-9]", text):
        raise InvalidInputError(f"nothing to speak in {text!r}; give a sentence with words")
    cmd = [
        "flite",
        "-voice",
        voice,
        "-t",
        text,
        "-psdur",
        "-o",
        str(out_wav),
        "--setf",
        f"duration_stretch={stretch:.3f}",
    ]
    if pitch is not None:
        cmd += ["--setf", f"int_f0_target_mean={pitch:.1f}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not Path(out_wav).is_file():
        raise S2DError(f"flite failed for voice {voice!r}: {proc.stderr.strip()[:200]}")
    return Utterance(Path(out_wav), parse_psdur(proc.stdout), text, voice)


def _clean(s: str) -> str | None:
    s = " ".join(s.replace("\t", " ").split())
    if not (12 <= len(s) <= 110) or not re.fullmatch(r"[A-Za-z ,.'?!;:-]+", s):
        return None
    words = s.split()
    letters = [c for c in s if c.isalpha()]
    if s[0] in "-'" or sum(c.isupper() for c in letters) > 0.2 * len(letters):
        return None
    return s if 3 <= len(words) <= 16 else None


def load_sentences(n: int, seed: int = 0, folder: Path = FORTUNES_DIR) -> list[str]:
    """``n`` distinct clean English sentences from Debian's fortunes, shuffled by ``seed``."""
    if not folder.is_dir():
        raise S2DError(f"{folder} is missing; install the sentences with: apt-get install fortunes")
    found: set[str] = set()
    for f in sorted(folder.iterdir()):
        if f.suffix or not f.is_file():
            continue
        for entry in f.read_text(errors="replace").split("\n%\n"):
            for sent in re.split(r"(?<=[.?!])\s+", " ".join(entry.split())):
                c = _clean(sent)
                if c:
                    found.add(c)
    out = sorted(found)
    np.random.default_rng(seed).shuffle(out)
    if len(out) < n:
        raise S2DError(f"only {len(out)} sentences found in {folder}, {n} were asked for")
    return out[:n]
