"""Timelines: several expressions chained into one long animation (neutral -> A -> B -> ...).

A timeline is a list of :class:`Clip` s, played one after the other from the neutral face.
Each clip lasts ``duration`` seconds: for its first ``transition`` seconds the face moves from
the previous clip's apex to this clip's apex, then it holds that apex. The moves are

- neutral -> A: A's own generated motion (Motion3DGAN, neutral to apex), time-warped;
- A -> neutral: A's motion played backwards;
- A -> B: the apex of the geodesic between A's and B's SRVFs on the sphere (the paper's mixed
  expressions, Sec. 4.4): the frame at ``u`` is the last frame of the motion at ``tau = u`` on
  the geodesic from A to B, so it starts at A's apex and ends at B's apex exactly;
- A -> A, neutral -> neutral: a hold.

Generated motions start and end at rest, so playing one (forwards or backwards) over the
transition keeps its own speed profile; the geodesic move's ``u`` runs through a smoothstep
``3u^2 - 2u^3`` so it too starts and ends at zero speed: clip boundaries are continuous in
position and (nearly) in velocity. All frames' landmarks are built first
and the dense faces decoded in one batched call (:meth:`MotionGenerator.decode`: frame 0 is the
neutral face exactly).

Spec strings (the CLI's ``--spec``): comma-separated ``LABEL[:SEED][@DURATION[s]][/TRANSITION[s]]``
with ``neutral`` as a label, e.g. ``"happy:3@1.5s,surprised:1@2s,neutral@1s"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.errors import InvalidInputError
from core.motion import Motion

__all__ = [
    "NEUTRAL",
    "Clip",
    "parse_spec",
    "format_spec",
    "clip_frames",
    "build_timeline",
    "DEFAULT_TRANSITION",
    "MAX_SECONDS",
]

#: The label of a clip that returns to the neutral face.
NEUTRAL = "neutral"
#: Seconds of the move into a clip's apex when the spec does not say (clipped at the duration).
DEFAULT_TRANSITION = 1.0
#: Longest timeline accepted (seconds), so a typo cannot ask for hours of frames.
MAX_SECONDS = 600.0

_CLIP_RE = re.compile(
    r"^(?P<label>[A-Za-z_]+)(?::(?P<seed>\d+))?"
    r"(?:@(?P<dur>[0-9.]+)s?)?(?:/(?P<tr>[0-9.]+)s?)?$"
)


@dataclass(frozen=True)
class Clip:
    """One timeline entry.

    label : expression label or ``"neutral"``; seed : noise seed (ignored for neutral);
    duration : seconds (> 0) from the end of the previous clip to the end of this one;
    transition : seconds of the move into this clip's apex (None: :data:`DEFAULT_TRANSITION`,
    always clipped at ``duration``); side : side of a one-sided label or None.
    """

    label: str
    seed: int = 0
    duration: float = 1.5
    transition: float | None = None
    side: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise InvalidInputError(f"clip label: expected a label name, found {self.label!r}")
        for name in ("duration", "transition"):
            v = getattr(self, name)
            if v is None and name == "transition":
                continue
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not np.isfinite(v)
                or v <= 0
            ):
                raise InvalidInputError(
                    f"clip {self.label}: {name} must be a positive number of seconds, found {v!r}"
                )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or self.seed < 0
        ):
            raise InvalidInputError(
                f"clip {self.label}: seed must be a non-negative integer, found {self.seed!r}"
            )

    @property
    def is_neutral(self) -> bool:
        return self.label == NEUTRAL

    @property
    def move_seconds(self) -> float:
        """Seconds of the transition into this clip's apex (<= duration)."""
        t = DEFAULT_TRANSITION if self.transition is None else self.transition
        return min(float(t), float(self.duration))

    def key(self) -> tuple:
        """Identity of the apex this clip reaches (two equal keys: a hold between them)."""
        return (NEUTRAL,) if self.is_neutral else (self.label, int(self.seed), self.side)


def parse_spec(text: str) -> list[Clip]:
    """Clips of a spec string such as ``"happy:3@1.5s,surprised:1@2s/0.5s,neutral@1s"``.

    Missing parts default to seed 0, 1.5 s and :data:`DEFAULT_TRANSITION`. Labels are not
    checked here (the generator checks them).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(
            f"spec: expected clips such as 'happy:3@1.5s,surprised:1@2s,neutral@1s', found {text!r}"
        )
    clips = []
    for part in text.split(","):
        m = _CLIP_RE.match(part.strip())
        if m is None:
            raise InvalidInputError(
                f"spec: cannot read clip {part.strip()!r}; expected LABEL[:SEED][@SECONDS[s]]"
                "[/TRANSITION[s]] such as happy:3@1.5s"
            )
        try:
            dur = float(m["dur"]) if m["dur"] else 1.5
            tr = float(m["tr"]) if m["tr"] else None
        except ValueError as exc:
            raise InvalidInputError(f"spec: bad number in clip {part.strip()!r}") from exc
        clips.append(Clip(m["label"], int(m["seed"] or 0), dur, tr))
    check_clips(clips)
    return clips


def format_spec(clips: list[Clip]) -> str:
    """The spec string of ``clips`` (inverse of :func:`parse_spec` up to defaults)."""
    parts = []
    for c in clips:
        s = c.label if c.is_neutral else f"{c.label}:{c.seed}"
        s += f"@{c.duration:g}s"
        if c.transition is not None:
            s += f"/{c.transition:g}s"
        parts.append(s)
    return ",".join(parts)


def check_clips(clips: list[Clip]) -> None:
    """InvalidInputError for an empty or overlong list of clips."""
    if not clips:
        raise InvalidInputError("timeline: expected at least one clip, found none")
    total = sum(c.duration for c in clips)
    if total > MAX_SECONDS:
        raise InvalidInputError(
            f"timeline: {total:g} s is longer than the {MAX_SECONDS:g} s limit; shorten the clips"
        )


def clip_frames(clips: list[Clip], fps: float) -> np.ndarray:
    """Frame index (int, (n_clips + 1,)) where each clip starts; the last entry is the final frame.

    Clip i covers frames ``bounds[i] + 1 .. bounds[i + 1]`` (frame 0 is the neutral face), with
    boundaries at the rounded cumulative times, so the total is ``round(sum(durations) * fps)``
    frames after frame 0 and no clip is shorter than one frame.
    """
    if not np.isfinite(fps) or fps <= 0:
        raise InvalidInputError(f"fps: expected a positive number, found {fps!r}")
    ends = np.round(np.cumsum([c.duration for c in clips]) * fps).astype(int)
    ends = np.maximum(ends, np.arange(1, len(clips) + 1))  # at least one frame per clip
    ends = np.maximum.accumulate(ends)
    for i in range(1, len(ends)):
        ends[i] = max(ends[i], ends[i - 1] + 1)
    return np.concatenate([[0], ends])


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _curve_at(rel: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Displacement curve (T, K, 3) sampled at normalised times ``u`` (n,) in [0, 1] -> (n, K, 3)."""
    pos = np.asarray(u) * (len(rel) - 1)
    i0 = np.minimum(np.floor(pos).astype(int), len(rel) - 2)
    f = (pos - i0)[:, None, None]
    return (1 - f) * rel[i0] + f * rel[i0 + 1]


def build_timeline(
    gen, clips: list[Clip], neutral=None, fps: float = 30.0, decode: bool = True
) -> Motion:
    """One Motion playing ``clips`` from the neutral face.

    Parameters
    ----------
    gen : core.generate.MotionGenerator
        Loaded Motion3DGAN (+ decoder when ``decode``).
    clips : list of Clip
    neutral : (V, 3) float or None
        Neutral face of the model topology (default: the shipped face).
    fps : float
    decode : bool
        False: landmarks only (vertices are the neutral repeated), e.g. for a quick preview.

    Returns
    -------
    Motion
        landmarks (T, 68, 3) and vertices (T, V, 3) with ``T = clip_frames(clips, fps)[-1] + 1``;
        ``meta["timeline"]`` holds the spec and the clip start frames.
    """
    check_clips(clips)
    if neutral is None:
        from core.assets import load_face

        nv = load_face().vertices
    else:
        nv = gen.pipeline.check_neutral(neutral)[0] if decode else np.asarray(neutral, np.float32)
    lm0 = _landmarks_of(nv)  # (K, 3)
    motions = {}
    for c in clips:
        if not c.is_neutral and c.key() not in motions:
            gen.label_index(c.label)
            side = gen.side_of(c.label, c.seed, c.side)
            q, length = gen.sample_srvf([c.label], [c.seed], [side])
            lm = gen.landmark_motion(q[0], length[0], lm0.astype(np.float32))
            motions[c.key()] = Motion(
                lm,
                np.zeros((len(lm), 1, 3)),
                c.label,
                c.seed,
                fps,
                q[0].astype(np.float32),
                {"length": float(length[0])},
            )
    bounds = clip_frames(clips, fps)
    out = np.empty((bounds[-1] + 1, *lm0.shape))
    out[0] = lm0
    prev = (NEUTRAL,)
    for i, c in enumerate(clips):
        start, end = bounds[i], bounds[i + 1]
        n = end - start
        n_move = min(n, max(1, int(round(c.move_seconds * fps))))
        u = np.arange(1, n_move + 1) / n_move  # (n_move,) ends at exactly 1
        target = c.key()
        out[start + 1 : start + 1 + n_move] = _move(gen, motions, prev, target, u, lm0)
        out[start + 1 + n_move : end + 1] = out[start + n_move]
        prev = target
    lm = out.astype(np.float32)
    verts = gen.decode(nv, lm) if decode else np.repeat(nv[None], len(lm), 0)
    meta = {
        **gen.meta,
        "units": "m",
        "timeline": {
            "spec": format_spec(clips),
            "clip_start_frames": bounds[:-1].tolist(),
            "fps": float(fps),
        },
    }
    return Motion(lm, verts, None, None, float(fps), None, meta)


def _landmarks_of(nv: np.ndarray) -> np.ndarray:
    from core.assets import load_landmarks

    return load_landmarks().gather(nv).astype(np.float64)


def _move(
    gen, motions: dict, prev: tuple, target: tuple, u: np.ndarray, lm0: np.ndarray
) -> np.ndarray:
    """Landmarks (n, K, 3) of the move from apex ``prev`` to apex ``target`` at times u (n,)
    in (0, 1]: a motion's own curve keeps its own timing (it starts and ends at rest), the
    geodesic between two apexes is eased by a smoothstep."""
    if prev == target:
        apex = lm0 if target == (NEUTRAL,) else motions[target].landmarks[-1]
        return np.repeat(np.asarray(apex, np.float64)[None], len(u), 0)
    if prev == (NEUTRAL,):
        rel = motions[target].landmarks.astype(np.float64) - lm0
        return lm0 + _curve_at(rel, u)
    if target == (NEUTRAL,):
        rel = motions[prev].landmarks.astype(np.float64) - lm0
        return lm0 + _curve_at(rel, 1.0 - u)
    a, b = motions[prev], motions[target]
    return np.stack(
        [
            gen.landmark_motion(*gen.interpolate_srvf(a, b, float(t)), lm0.astype(np.float32))[-1]
            for t in _smoothstep(u)
        ]
    )
