"""Phones → visemes → rig parameters per frame, with coarticulation.

Each phone has a viseme target (facial-action weights and a jaw angle). Targets are blended with
Cohen–Massaro dominance curves: phone i, centred at ``c_i``, has dominance
``alpha_i * exp(-theta * |t - c_i|)`` and the parameters at time t are the dominance-weighted
mean of the targets (silence included, so pauses relax to the rest face). Bilabials (p, b, m) are
dominant and, after blending, their segments are *forced* closed (jaw and lip-opening actions
clamped to zero, eased in and out over two frames). The whole mouth timeline is shifted earlier by
a lead of tens of milliseconds (lips move before the sound). A per-utterance :class:`Style`
scales the jaw, rounding, spreading and speed.

Phones use the ARPAbet names of flite and pocketsphinx (case-insensitive); ``pau``/``sil`` and
any unknown symbol are silence.

Shapes: T frames, P rig parameters (52 actions + jaw degrees).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Phone",
    "Style",
    "VISEMES",
    "PHONE_TO_VISEME",
    "BILABIALS",
    "viseme_of",
    "phones_to_params",
    "closure_mask",
    "apply_closure",
    "mouth_opening",
    "FPS",
]

#: Frames per second of every speech animation.
FPS = 30.0


@dataclass(frozen=True)
class Phone:
    """One phone: ARPAbet ``symbol``, ``start`` and ``end`` in seconds."""

    symbol: str
    start: float
    end: float


@dataclass(frozen=True)
class Style:
    """Per-utterance articulation style (1.0 = the average speaker)."""

    jaw: float = 1.0
    rounding: float = 1.0
    spread: float = 1.0
    speed: float = 1.0
    lead: float = 0.04  # seconds the lips lead the sound

    @staticmethod
    def sample(rng: np.random.Generator) -> Style:
        return Style(
            jaw=rng.uniform(0.7, 1.3),
            rounding=rng.uniform(0.7, 1.3),
            spread=rng.uniform(0.7, 1.3),
            speed=rng.uniform(0.8, 1.25),
            lead=rng.uniform(0.02, 0.07),
        )


# viseme: (actions {name: weight}, jaw degrees, dominance alpha)
VISEMES: dict[str, tuple[dict, float, float]] = {
    "rest": ({}, 0.0, 0.6),
    "PBM": ({"mouthPress*": 0.35}, 0.0, 3.0),
    "FV": ({"mouthRollLower": 0.7, "mouthUpperUp*": 0.25}, 2.0, 2.0),
    "TH": ({"mouthUpperUp*": 0.15}, 4.0, 1.0),
    "TDN": ({"mouthStretch*": 0.15}, 3.5, 0.8),
    "L": ({}, 5.0, 0.7),
    "SZ": ({"mouthStretch*": 0.3, "mouthSmile*": 0.1}, 2.0, 1.2),
    "SH": ({"mouthFunnel": 0.55, "mouthPucker": 0.35}, 3.0, 1.5),
    "KG": ({}, 5.0, 0.6),
    "R": ({"mouthPucker": 0.45, "mouthFunnel": 0.25}, 3.5, 1.0),
    "W": ({"mouthPucker": 0.9, "mouthFunnel": 0.2}, 2.0, 2.0),
    "IY": ({"mouthStretch*": 0.45, "mouthSmile*": 0.2}, 4.0, 1.0),
    "EH": ({"mouthStretch*": 0.3, "mouthLowerDown*": 0.15}, 7.5, 1.0),
    "AA": ({"mouthLowerDown*": 0.3}, 11.0, 1.0),
    "AO": ({"mouthFunnel": 0.35, "mouthLowerDown*": 0.2}, 9.5, 1.0),
    "UW": ({"mouthPucker": 0.8, "mouthFunnel": 0.45}, 4.0, 1.3),
    "OW": ({"mouthFunnel": 0.6, "mouthPucker": 0.4}, 7.0, 1.1),
    "ER": ({"mouthFunnel": 0.3, "mouthPucker": 0.3}, 5.0, 1.0),
}

PHONE_TO_VISEME: dict[str, str] = {
    "p": "PBM",
    "b": "PBM",
    "m": "PBM",
    "f": "FV",
    "v": "FV",
    "th": "TH",
    "dh": "TH",
    "t": "TDN",
    "d": "TDN",
    "n": "TDN",
    "l": "L",
    "s": "SZ",
    "z": "SZ",
    "sh": "SH",
    "zh": "SH",
    "ch": "SH",
    "jh": "SH",
    "k": "KG",
    "g": "KG",
    "ng": "KG",
    "hh": "KG",
    "r": "R",
    "w": "W",
    "y": "IY",
    "iy": "IY",
    "ih": "IY",
    "ey": "EH",
    "eh": "EH",
    "ae": "EH",
    "ay": "AA",
    "aa": "AA",
    "ah": "AA",
    "ax": "EH",
    "aw": "AA",
    "ao": "AO",
    "oy": "AO",
    "uw": "UW",
    "uh": "OW",
    "ow": "OW",
    "er": "ER",
    "axr": "ER",
}

BILABIALS = frozenset({"p", "b", "m"})
#: Parameters that open the lips; clamped to zero during a bilabial closure.
_OPENERS = (
    "mouthFunnel",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "jawOpen",
    "mouthPucker",
)


def viseme_of(symbol: str) -> str:
    """Viseme name of an ARPAbet phone (stress digits ignored); silence/unknown → ``"rest"``."""
    s = symbol.lower().rstrip("012")
    return PHONE_TO_VISEME.get(s, "rest")


def _expand(actions: dict, names: tuple[str, ...]) -> np.ndarray:
    w = np.zeros(len(names) + 1)
    for key, val in actions.items():
        for name in (key[:-1] + "Left", key[:-1] + "Right") if key.endswith("*") else (key,):
            w[names.index(name)] += val
    return w


def _target(vis: str, names: tuple[str, ...], style: Style) -> np.ndarray:
    actions, jaw, _ = VISEMES[vis]
    w = _expand(actions, names)
    for i, n in enumerate(names):
        if n.startswith(("mouthPucker", "mouthFunnel")):
            w[i] *= style.rounding
        elif n.startswith(("mouthStretch", "mouthSmile")):
            w[i] *= style.spread
    w[-1] = jaw * style.jaw
    return w


def phones_to_params(
    phones: list[Phone],
    n_frames: int,
    names: tuple[str, ...],
    style: Style = Style(),
    fps: float = FPS,
) -> np.ndarray:
    """Mouth/jaw rig parameters of a phone sequence.

    phones : list of :class:`Phone` (times in seconds, any order); names : the rig's 52 action
    names. Returns params (n_frames, 53) float32; frames outside every phone are at rest.
    """
    P = len(names) + 1
    out = np.zeros((n_frames, P), np.float32)
    speech = [p for p in phones if viseme_of(p.symbol) != "rest" and p.end > p.start]
    if n_frames == 0 or not speech:
        return out
    t = np.arange(n_frames) / fps + style.lead  # (T,) sound time each frame shows
    syms = [viseme_of(p.symbol) for p in phones]
    centres = np.array([(p.start + p.end) / 2 for p in phones])
    durs = np.array([max(p.end - p.start, 1e-3) for p in phones])
    alphas = np.array([VISEMES[s][2] for s in syms])
    theta = 25.0 * style.speed / np.clip(durs / 0.08, 0.6, 1.5)  # short phones are sharper
    targets = np.stack([_target(s, names, style) for s in syms])  # (N, P)
    # silence: sharp edges, and a dominance that grows with the pause (short gaps barely close)
    rest = np.array(syms) == "rest"
    alphas = np.where(rest, 0.2 + 1.3 * np.clip((durs - 0.05) / 0.25, 0, 1), alphas)
    theta = np.where(rest, 40.0, theta)
    dist = np.abs(t[:, None] - centres[None]) - durs[None] / 2  # (T, N) 0 inside the phone
    dom = alphas[None] * np.exp(-theta[None] * np.clip(dist, 0, None))
    out[:] = (dom @ targets) / np.maximum(dom.sum(axis=1, keepdims=True), 1e-9)
    return apply_closure(out, closure_mask(phones, n_frames, style.lead, fps), names)


def closure_mask(
    phones: list[Phone], n_frames: int, lead: float = 0.04, fps: float = FPS
) -> np.ndarray:
    """(T,) float32 in [0, 1]: 1 on frames inside a p/b/m (shifted by ``lead``), eased to 0
    over two frames on either side; every bilabial closes at least its middle frame."""
    close = np.zeros(n_frames, np.float32)
    for p in phones:
        if p.symbol.lower().rstrip("012") not in BILABIALS:
            continue
        f0 = (p.start - lead) * fps
        f1 = (p.end - lead) * fps
        mid = int(round((f0 + f1) / 2))
        lo, hi = max(int(np.ceil(f0)), 0), min(int(np.floor(f1)) + 1, n_frames)
        close[lo:hi] = 1.0
        if 0 <= mid < n_frames:
            close[mid] = 1.0
        lo, hi = min(lo, max(mid, 0)), max(hi, min(mid + 1, n_frames))
        for k, v in ((lo - 1, 0.6), (lo - 2, 0.25), (hi, 0.6), (hi + 1, 0.25)):
            if 0 <= k < n_frames:
                close[k] = max(close[k], v)
    return close


def apply_closure(params: np.ndarray, close: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Clamp the jaw and the lip-opening actions of params (T, P) by ``1 - close`` (T,)."""
    idx = [names.index(n) for n in _OPENERS] + [len(names)]
    out = params.copy()
    out[:, idx] *= (1.0 - close)[:, None]
    return out


def mouth_opening(vertices: np.ndarray, upper_lip: int, lower_lip: int) -> np.ndarray:
    """Inner-lip gap (metres) of faces (T, V, 3) → (T,): z of the upper minus the lower lip."""
    return vertices[:, upper_lip, 2] - vertices[:, lower_lip, 2]
