"""The emotion layer: a slow global motion from the project's expression recipes, and how each
emotion changes articulation; :func:`animate` composes it with the speech visemes.

The layer is the recipe's apex (``core.data.recipes.RECIPES``, the 7 MEAD emotions) times an
envelope that eases in over the first 0.3–0.8 s and drifts slowly (0.1–0.4 Hz) between 70 % and
100 % of the chosen intensity, plus blinks every 2–5 s. Mouth actions of the recipe that open the
lips are halved while speaking so the visemes stay readable; bilabial closures are re-applied after
composition so the emotion cannot open a p/b/m.

Shapes: T frames, P rig parameters (52 actions + jaw degrees).
"""

from __future__ import annotations

import numpy as np

from core.data.recipes import MEAD_LABELS, RECIPES
from core.errors import InvalidInputError
from core.speech.visemes import FPS, Phone, Style, apply_closure, closure_mask, phones_to_params

__all__ = [
    "EMOTIONS",
    "ARTICULATION",
    "check_emotion",
    "emotion_layer",
    "animate",
    "GLOBAL_PREFIXES",
    "global_mask",
]

EMOTIONS = MEAD_LABELS

#: How each emotion changes articulation: multipliers of (jaw, rounding, spread).
ARTICULATION: dict[str, tuple[float, float, float]] = {
    "angry": (1.1, 0.9, 1.2),
    "contempt": (0.85, 0.9, 1.0),
    "disgusted": (0.9, 0.8, 1.1),
    "fear": (1.05, 0.9, 1.4),
    "happy": (1.0, 0.7, 1.5),
    "sad": (0.7, 1.0, 0.8),
    "surprised": (1.3, 1.1, 0.9),
}

#: Parameters of the upper face (the "global" part of the motion); the rest is mouth and jaw.
GLOBAL_PREFIXES = ("brow", "eye", "cheekSquint", "noseSneer")


def global_mask(names: tuple[str, ...]) -> np.ndarray:
    """(P,) bool: True for upper-face parameters (the jaw degrees, last, are local)."""
    return np.array([n.startswith(GLOBAL_PREFIXES) for n in names] + [False])


def check_emotion(emotion: str) -> str:
    """The emotion name, or a one-line error listing the valid ones."""
    if emotion not in EMOTIONS:
        raise InvalidInputError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
    return emotion


def _recipe_vector(emotion: str, names: tuple[str, ...], rng: np.random.Generator) -> np.ndarray:
    rec = RECIPES[emotion]
    flip = bool(rec.one_sided and rng.random() < 0.5)
    asym = rng.uniform(-0.15, 0.15)
    w = np.zeros(len(names) + 1)
    for key, val in rec.actions.items():
        if key.endswith("*"):
            for side, s in (("Left", 1 + asym), ("Right", 1 - asym)):
                w[names.index(key[:-1] + side)] += val * s
        else:
            if flip:
                key = key.replace("Left", "@").replace("Right", "Left").replace("@", "Right")
            w[names.index(key)] += val
    w[-1] = rec.jaw[0] * 0.4  # a resting jaw offset; speech does the rest
    return w


def emotion_layer(
    emotion: str,
    n_frames: int,
    names: tuple[str, ...],
    rng: np.random.Generator,
    intensity: float = 1.0,
    fps: float = FPS,
) -> np.ndarray:
    """Global emotion motion (n_frames, P) float32 (blinks included)."""
    check_emotion(emotion)
    t = np.arange(n_frames) / fps
    ease = np.clip(t / rng.uniform(0.3, 0.8), 0, 1)
    ease = ease * ease * (3 - 2 * ease)
    f, ph = rng.uniform(0.1, 0.4), rng.uniform(0, 2 * np.pi)
    env = intensity * ease * (0.85 + 0.15 * np.sin(2 * np.pi * f * t + ph))  # (T,)
    out = env[:, None] * _recipe_vector(emotion, names, rng)[None]
    k = rng.uniform(0.3, 2.0)
    while k < t[-1] if n_frames else False:  # blinks: 5 frames, 2-5 s apart
        c = int(k * fps)
        for d, v in zip(range(-2, 3), (0.4, 0.9, 1.0, 0.9, 0.4), strict=True):
            if 0 <= c + d < n_frames:
                for side in ("Left", "Right"):
                    i = names.index("eyeBlink" + side)
                    out[c + d, i] = max(out[c + d, i], v)
        k += rng.uniform(2.0, 5.0)
    return out.astype(np.float32)


def animate(
    phones: list[Phone],
    n_frames: int,
    emotion: str,
    names: tuple[str, ...],
    rng: np.random.Generator,
    intensity: float = 1.0,
    style: Style | None = None,
    fps: float = FPS,
) -> np.ndarray:
    """Full face parameters (n_frames, P) float32 for phones spoken with ``emotion``.

    ``style=None`` samples a random articulation style from ``rng``; the emotion then scales its
    jaw, rounding and spreading (:data:`ARTICULATION`, blended by ``intensity``).
    """
    check_emotion(emotion)
    style = Style.sample(rng) if style is None else style
    jaw, rnd, spr = (1 + intensity * (m - 1) for m in ARTICULATION[emotion])
    style = Style(
        jaw=style.jaw * jaw,
        rounding=style.rounding * rnd,
        spread=style.spread * spr,
        speed=style.speed,
        lead=style.lead,
    )
    mouth = phones_to_params(phones, n_frames, names, style, fps)
    layer = emotion_layer(emotion, n_frames, names, rng, intensity, fps)
    speaking = (np.abs(mouth).sum(axis=1, keepdims=True) > 1e-3).astype(np.float32)
    local = ~global_mask(names)
    layer[:, local] *= 1.0 - 0.5 * speaking  # lip-opening recipe parts halve while speaking
    params = mouth + layer
    params[:, :-1] = np.clip(params[:, :-1], -1.0, 1.2)
    params[:, -1] = np.clip(params[:, -1], 0.0, 30.0)
    return apply_closure(params, closure_mask(phones, n_frames, style.lead, fps), names)
