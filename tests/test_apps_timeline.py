"""Timelines (core.apps.timeline): spec parsing, lengths, holds, continuity at clip boundaries."""

import numpy as np
import pytest

from core.apps.timeline import Clip, build_timeline, clip_frames, format_spec, parse_spec
from core.assets import load_face, load_landmarks
from core.errors import InvalidInputError
from core.generate import MotionGenerator

SPEC = "happy:3@1.5s,surprised:1@2s,neutral@1s"


@pytest.fixture(scope="module")
def gen():
    return MotionGenerator.load(device="cpu")


@pytest.fixture(scope="module")
def timeline(gen):
    return build_timeline(gen, parse_spec(SPEC), fps=30.0)


def test_spec_round_trip_and_defaults():
    clips = parse_spec(SPEC + ",sad@2/0.5s")
    assert [c.label for c in clips] == ["happy", "surprised", "neutral", "sad"]
    assert [c.seed for c in clips] == [3, 1, 0, 0]
    assert [c.duration for c in clips] == [1.5, 2.0, 1.0, 2.0]
    assert clips[3].transition == 0.5 and clips[0].transition is None
    assert parse_spec(format_spec(clips)) == clips


@pytest.mark.parametrize(
    "bad", ["", "happy:x", "happy@-1s", "happy@0s", "happy:1@1s,,sad", "happy@700s"]
)
def test_bad_specs_raise_one_clear_error(bad):
    with pytest.raises(InvalidInputError):
        parse_spec(bad)


def test_clip_frames_total_and_at_least_one_frame_each():
    clips = [Clip("happy", 0, 1.5), Clip("sad", 0, 2.0), Clip("neutral", 0, 1.0)]
    assert clip_frames(clips, 30).tolist() == [0, 45, 105, 135]
    tiny = [Clip("happy", 0, 0.001), Clip("sad", 0, 0.001)]
    assert clip_frames(tiny, 30).tolist() == [0, 1, 2]


def test_length_neutral_start_holds_and_apexes(gen, timeline):
    assert timeline.n_frames == round(4.5 * 30) + 1
    assert timeline.meta["timeline"]["clip_start_frames"] == [0, 45, 105]
    face = load_face().vertices
    np.testing.assert_array_equal(timeline.vertices[0], face)
    lm0 = load_landmarks().gather(face)
    # happy's apex is reached after the 1 s transition and held until the clip ends
    happy = gen.generate("happy", 3).landmarks[-1]
    np.testing.assert_allclose(timeline.landmarks[30:46], np.repeat(happy[None], 16, 0), atol=1e-6)
    surprised = gen.generate("surprised", 1).landmarks[-1]
    np.testing.assert_allclose(
        timeline.landmarks[75:106], np.repeat(surprised[None], 31, 0), atol=1e-5
    )
    np.testing.assert_allclose(timeline.landmarks[-1], lm0, atol=1e-6)


def test_no_jump_beyond_the_motions_own_speed(gen, timeline):
    step = np.linalg.norm(np.diff(timeline.landmarks, axis=0), axis=-1).max(-1)  # (T-1,)
    own = max(
        np.linalg.norm(np.diff(gen.generate(lab, s).landmarks, axis=0), axis=-1).max()
        for lab, s in (("happy", 3), ("surprised", 1))
    )
    assert step.max() <= own * 1.01
    for b in timeline.meta["timeline"]["clip_start_frames"][1:]:
        # the smoothstep starts every move at rest: the boundary step is a small fraction
        assert step[b] <= 0.2 * own


def test_same_clip_twice_holds(gen):
    m = build_timeline(gen, parse_spec("happy:3@1s,happy:3@1s"), fps=10, decode=False)
    assert m.n_frames == 21
    np.testing.assert_allclose(m.landmarks[10:], np.repeat(m.landmarks[10][None], 11, 0))


def test_unknown_label_raises_before_decoding(gen):
    with pytest.raises(InvalidInputError, match="label"):
        build_timeline(gen, parse_spec("happy@1s,grumpy@1s"))
