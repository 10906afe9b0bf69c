"""core.io.render: what shows through an open mouth in command-line videos is the dark mouth
interior (darkening with its depth behind the lips), not the lip-coloured long triangles of the
mouth bag, and the teeth; nothing outside the mouth changes."""

import functools

import numpy as np

from core.assets import load_face, load_landmarks
from core.io.render import face_colors, mouth_contour, mouth_teeth, render_frames
from core.mesh.albedo import MOUTH_RGB
from core.pipeline import S2DPipeline

#: Landmarks that drop with the jaw: the chin line, the lower outer and inner lip.
JAW = [*range(5, 12), *range(55, 60), 65, 66, 67]


@functools.cache
def _open_mouth(gap: float = 0.012) -> np.ndarray:
    """(V, 3) the shipped face with the jaw's landmarks lowered by ``gap`` (metres), decoded by
    the shipped S2D-Dec: an open mouth."""
    pipe = S2DPipeline.load(device="cpu")
    lm = pipe.face_landmarks(pipe.face.vertices)[None].copy()  # (1, 68, 3)
    lm[0, JAW, 2] -= gap
    return pipe.decode(pipe.face.vertices, lm)[0]


def test_open_mouth_shows_a_dark_interior_and_nothing_else_changes():
    face, lm = load_face(), np.asarray(load_landmarks().indices)
    faces = np.asarray(face.faces)
    frames = np.stack([face.vertices, _open_mouth()])  # (2, V, 3)
    ring = mouth_contour(frames[0], faces)
    np.testing.assert_array_equal(ring, lm[60:68])
    plain = render_frames(frames, faces, (240, 240))
    mouth = render_frames(frames, faces, (240, 240), mouth=ring)
    np.testing.assert_array_equal(plain[0], mouth[0])  # closed: no interior shows
    changed = np.abs(plain[1].astype(int) - mouth[1].astype(int)).max(-1) > 0  # (H, W)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 20  # the gap between the lips
    # only inside the mouth: a box around the inner lips on screen, and no brighter than the
    # colour just behind the lips
    assert np.ptp(xs) < 40 and np.ptp(ys) < 30
    assert mouth[1][changed].max() <= MOUTH_RGB.max() + 1
    assert mouth[1][changed].mean() < plain[1][changed].mean()


def test_other_topologies_get_no_contour():
    face = load_face()
    assert mouth_contour(face.vertices[:-1], np.asarray(face.faces)[:10]) is None


def _teeth_coloured(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: light, unsaturated pixels (off-white teeth; skin and lips are redder)."""
    rgb = image.astype(float)
    return (rgb[..., 0] > 120) & (rgb[..., 2] > 0.8 * rgb[..., 0])


def test_open_mouth_shows_teeth_behind_the_lips_and_a_closed_one_none():
    face = load_face()
    faces = np.asarray(face.faces)
    frames = np.stack([face.vertices, _open_mouth()])  # (2, V, 3): closed (neutral), open
    colors, ring = face_colors(frames[0], faces), mouth_contour(frames[0], faces)
    teeth = mouth_teeth(frames[0], faces)
    assert teeth is not None
    bare = render_frames(frames, faces, (240, 240), colors, mouth=ring)
    shown = render_frames(frames, faces, (240, 240), colors, mouth=ring, teeth=teeth)
    # the mouth's opening: where the interior was darkened, in a box 3 px wider
    ys, xs = np.nonzero(
        np.abs(bare[1].astype(int) - render_frames(frames[1:], faces, (240, 240), colors)[0]).max(
            -1
        )
        > 0
    )
    box = np.zeros((240, 240), bool)
    box[ys.min() - 3 : ys.max() + 4, xs.min() - 3 : xs.max() + 4] = True
    assert box.sum() < 0.03 * box.size
    changed = [(shown[k] != bare[k]).any(-1) for k in range(2)]
    assert not (changed[0] | changed[1])[~box].any()  # nothing outside the mouth changes
    # open: teeth-coloured pixels in the opening, where there were none; closed: none at all
    assert not _teeth_coloured(bare[1])[box].any()
    assert _teeth_coloured(shown[1])[box].sum() > 25
    assert not _teeth_coloured(shown[0])[box].any()
    # the incisors in front are lit, deeper teeth and the interior stay darker
    teeth_px = shown[1][_teeth_coloured(shown[1]) & box].astype(float)
    assert teeth_px.mean(0)[0] > 180 and teeth_px.mean(0)[2] > 0.8 * teeth_px.mean(0)[0]


def test_other_topologies_get_no_teeth():
    face = load_face()
    assert mouth_teeth(face.vertices[:-1], np.asarray(face.faces)[:10]) is None
