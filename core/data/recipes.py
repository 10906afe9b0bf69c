"""Expression label recipes: how each of the 19 labels is made from anny's controls.

A recipe gives the APEX of an expression as facial-action weights plus jaw/bone rotations;
:func:`sample_apex` randomises intensity (x0.6-1.15), left/right asymmetry, and adds small
bone noise so that two samples of a label differ. :func:`sequence_weights` turns an apex into a
30-frame neutral→apex curve with random onset, speed and an occasional blink.
The table in ``docs/labels.md`` is generated from :data:`RECIPES` (``python main.py labels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.data.anny_source import BONE_GROUPS, FaceParams

__all__ = [
    "COMA_LABELS",
    "MEAD_LABELS",
    "LABELS",
    "Recipe",
    "RECIPES",
    "EXPRESSION_SPLIT_TEST_LABELS",
    "ONE_SIDED_LABELS",
    "HELD_OUT_ACTIONS",
    "sample_apex",
    "sequence_weights",
    "sample_sequence",
    "sample_random_mixture",
    "trainable_actions",
]

COMA_LABELS = (
    "bareteeth",
    "cheeks_in",
    "eyebrow",
    "high_smile",
    "lips_back",
    "lips_up",
    "mouth_down",
    "mouth_extreme",
    "mouth_middle",
    "mouth_open",
    "mouth_side",
    "mouth_up",
)
MEAD_LABELS = ("angry", "contempt", "disgusted", "fear", "happy", "sad", "surprised")
LABELS = COMA_LABELS + MEAD_LABELS


@dataclass(frozen=True)
class Recipe:
    """Apex of a label. ``actions``: symmetric pairs may be written ``"mouthSmile*"`` (both
    sides); ``jaw``: (open, side) degrees; ``one_sided``: the expression happens on one random
    side (contempt, mouth_side); ``description`` goes into docs."""

    description: str
    actions: dict = field(default_factory=dict)
    jaw: tuple = (0.0, 0.0)
    one_sided: bool = False


RECIPES: dict[str, Recipe] = {
    "bareteeth": Recipe(
        "lips pulled apart to show the teeth",
        {"mouthUpperUp*": 0.9, "mouthLowerDown*": 0.8, "mouthStretch*": 0.5},
        jaw=(3.0, 0.0),
    ),
    "cheeks_in": Recipe(
        "cheeks sucked in, lips slightly pursed",
        {"cheekPuff": -1.0, "mouthPucker": 0.5, "mouthFunnel": 0.2},
    ),
    "eyebrow": Recipe(
        "both eyebrows raised high", {"browInnerUp": 1.0, "browOuterUp*": 1.0, "eyeWide*": 0.3}
    ),
    "high_smile": Recipe(
        "broad open smile with squinting cheeks",
        {"mouthSmile*": 1.0, "cheekSquint*": 0.8, "eyeSquint*": 0.4, "mouthUpperUp*": 0.3},
        jaw=(6.0, 0.0),
    ),
    "lips_back": Recipe(
        "lips stretched back and pressed",
        {"mouthStretch*": 1.0, "mouthPress*": 0.5, "mouthRollLower": 0.3},
    ),
    "lips_up": Recipe(
        "upper lip raised, nose wrinkled",
        {"mouthUpperUp*": 1.0, "noseSneer*": 0.6, "mouthShrugUpper": 0.5},
    ),
    "mouth_down": Recipe(
        "mouth corners pulled down",
        {"mouthFrown*": 1.0, "mouthShrugLower": 0.6, "mouthLowerDown*": 0.3},
    ),
    "mouth_extreme": Recipe(
        "jaw wide open with stretched lips and raised brows",
        {"mouthStretch*": 0.6, "mouthFunnel": 0.3, "eyeWide*": 0.5, "browInnerUp": 0.5},
        jaw=(28.0, 0.0),
    ),
    "mouth_middle": Recipe(
        "half-open rounded mouth", {"mouthFunnel": 0.6, "mouthPucker": 0.3}, jaw=(12.0, 0.0)
    ),
    "mouth_open": Recipe("jaw dropped, relaxed lips", {"mouthLowerDown*": 0.3}, jaw=(20.0, 0.0)),
    "mouth_side": Recipe(
        "mouth and jaw pulled to one side",
        {"mouthLeft": 1.0, "jawLeft": 0.6},
        jaw=(2.0, 5.0),
        one_sided=True,
    ),
    "mouth_up": Recipe(
        "lips pushed up, chin raised",
        {"mouthShrugUpper": 0.7, "mouthShrugLower": 1.0, "mouthPress*": 0.5, "mouthRollLower": 0.3},
    ),
    "angry": Recipe(
        "brows down and together, eyes narrowed, lips pressed",
        {
            "browDown*": 1.0,
            "eyeSquint*": 0.6,
            "noseSneer*": 0.4,
            "mouthPress*": 0.7,
            "mouthFrown*": 0.3,
        },
    ),
    "contempt": Recipe(
        "one-sided smirk",
        {"mouthSmileLeft": 0.8, "mouthDimpleLeft": 0.6, "eyeSquintLeft": 0.3, "browDownLeft": 0.2},
        one_sided=True,
    ),
    "disgusted": Recipe(
        "nose wrinkled, upper lip raised, brows lowered",
        {
            "noseSneer*": 1.0,
            "mouthUpperUp*": 0.6,
            "browDown*": 0.5,
            "mouthFrown*": 0.4,
            "cheekSquint*": 0.5,
        },
    ),
    "fear": Recipe(
        "inner brows up, eyes wide, lips stretched",
        {"browInnerUp": 1.0, "browOuterUp*": 0.4, "eyeWide*": 1.0, "mouthStretch*": 0.8},
        jaw=(8.0, 0.0),
    ),
    "happy": Recipe(
        "smile with raised cheeks",
        {"mouthSmile*": 0.85, "cheekSquint*": 0.5, "eyeSquint*": 0.3, "mouthDimple*": 0.3},
        jaw=(3.0, 0.0),
    ),
    "sad": Recipe(
        "inner brows raised, mouth corners down",
        {"browInnerUp": 0.9, "mouthFrown*": 0.9, "mouthShrugLower": 0.5, "eyeBlink*": 0.2},
    ),
    "surprised": Recipe(
        "brows raised, eyes wide, jaw dropped",
        {"browInnerUp": 1.0, "browOuterUp*": 1.0, "eyeWide*": 1.0, "mouthFunnel": 0.3},
        jaw=(18.0, 0.0),
    ),
}

#: Labels whose expression happens on one random side (Motion3DGAN splits each into two classes).
ONE_SIDED_LABELS = tuple(name for name in LABELS if RECIPES[name].one_sided)

#: Labels kept out of the decoder's training data for the expression split.
EXPRESSION_SPLIT_TEST_LABELS = ("mouth_side", "cheeks_in", "lips_up")
#: Signature actions of the held-out labels; random training mixtures never use them either,
#: so expression-split test expressions are truly unseen.
HELD_OUT_ACTIONS = (
    "mouthLeft",
    "mouthRight",
    "jawLeft",
    "jawRight",
    "cheekPuff",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "mouthShrugUpper",
)


def _expand(actions: dict, labels: list[str], asym: float, flip: bool) -> np.ndarray:
    w = np.zeros(len(labels))
    for name, val in actions.items():
        if name.endswith("*"):
            base = name[:-1]
            left = val * (1.0 + asym)
            right = val * (1.0 - asym)
            for side, v in (("Left", left), ("Right", right)):
                w[labels.index(base + side)] += v
        else:
            if flip:
                name = name.replace("Left", "@").replace("Right", "Left").replace("@", "Right")
            w[labels.index(name)] += val
    return w


def sample_apex(label: str, labels: list[str], rng: np.random.Generator) -> FaceParams:
    """One random apex (B=1) of ``label``: intensity, asymmetry, side and bone noise vary."""
    rec = RECIPES[label]
    intensity = rng.uniform(0.6, 1.15)
    asym = rng.uniform(-0.25, 0.25)
    flip = bool(rec.one_sided and rng.random() < 0.5)
    fa = np.clip(_expand(rec.actions, labels, asym, flip) * intensity, -1.0, 1.2)
    side = rec.jaw[1] * (-1 if flip else 1)
    jaw = np.array(
        [
            [
                rec.jaw[0] * intensity + rng.normal(0, 0.7),
                side * intensity + rng.normal(0, 0.4),
                rng.normal(0, 0.4),
            ]
        ]
    )
    jaw[:, 0] = np.clip(jaw[:, 0], 0.0, 30.0)
    bones = {}
    for name in BONE_GROUPS["lips"][0]:
        if rng.random() < 0.25:
            bones[name] = rng.normal(0, 1.5, size=(1, 3))
    return FaceParams(fa[None], jaw, bones)


def sequence_weights(rng: np.random.Generator, n_frames: int = 30) -> np.ndarray:
    """Neutral→apex activation (n_frames,) in [0, 1]: random onset (0-6 frames), rise time
    (8-20 frames) and a smoothstep ease; 0 at frame 0, reaches 1 by the end."""
    onset = rng.uniform(0, 6)
    rise = rng.uniform(8, min(20, n_frames - 1 - onset))
    t = np.clip((np.arange(n_frames) - onset) / rise, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _blink(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """Occasional blink (probability 0.3): a 5-frame closing and reopening, else zeros."""
    out = np.zeros(n_frames)
    if rng.random() < 0.3:
        c = rng.integers(3, n_frames - 3)
        for k, v in zip(range(c - 2, c + 3), (0.4, 0.9, 1.0, 0.9, 0.4), strict=True):
            out[k] = v
    return out


def sample_sequence(
    label: str, labels: list[str], rng: np.random.Generator, n_frames: int = 30
) -> FaceParams:
    """A neutral→apex sequence (B = n_frames) of ``label``; frame 0 is the neutral face."""
    apex = sample_apex(label, labels, rng)
    s = sequence_weights(rng, n_frames)[:, None]
    fa = s * apex.facial_actions
    blink = _blink(rng, n_frames)
    for side in ("Left", "Right"):
        i = labels.index("eyeBlink" + side)
        fa[:, i] = np.maximum(fa[:, i], blink)
    bones = {k: s * v for k, v in apex.bones.items()}
    return FaceParams(fa, s * apex.jaw_deg, bones)


def trainable_actions(labels: list[str], exclude_actions: tuple[str, ...] = ()) -> list[int]:
    """Indices of the facial actions random training mixtures may use: all of ``labels`` but
    ``exclude_actions`` and the gaze (``eyeLook*``) and tongue actions."""
    return [
        i
        for i, lab in enumerate(labels)
        if lab not in exclude_actions and not lab.startswith(("eyeLook", "tongue"))
    ]


def sample_random_mixture(
    labels: list[str], rng: np.random.Generator, n: int, exclude_actions: tuple[str, ...] = ()
) -> FaceParams:
    """Random sparse expression mixtures for decoder training (B = n).

    Each frame activates 1-6 facial actions (independent left/right weights, so asymmetric),
    opens the jaw with probability 0.6 (0-30°, plus small sideways rotations), and rotates a
    random subset of lip, brow and eyelid bones within the ranges of ``BONE_GROUPS``.
    """
    allowed = trainable_actions(labels, exclude_actions)
    fa = np.zeros((n, len(labels)))
    for b in range(n):
        k = rng.integers(1, 7)
        pick = rng.choice(allowed, size=k, replace=False)
        fa[b, pick] = rng.uniform(0.2, 1.0, size=k)
    jaw = np.zeros((n, 3))
    open_ = rng.random(n) < 0.6
    jaw[open_, 0] = rng.uniform(0, BONE_GROUPS["jaw"][1], size=open_.sum())
    jaw[:, 1:] = rng.normal(0, 1.5, size=(n, 2)) * (rng.random((n, 1)) < 0.3)
    bones = {}
    for group in ("lips", "brows", "eyelids"):
        names, max_deg = BONE_GROUPS[group]
        for name in names:
            active = rng.random(n) < 0.15
            aa = rng.normal(0, max_deg / 2.5, size=(n, 3))
            norm = np.linalg.norm(aa, axis=1, keepdims=True)
            aa = np.where(norm > max_deg, aa / norm * max_deg, aa) * active[:, None]
            bones[name] = aa
    return FaceParams(fa, jaw, bones)
