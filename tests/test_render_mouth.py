"""core.io.render: what shows through an open mouth in command-line videos is the dark mouth
interior (darkening with its depth behind the lips), not the lip-coloured long triangles of the
mouth bag; nothing outside the mouth changes."""

import numpy as np

from core.assets import load_face, load_landmarks
from core.io.render import mouth_contour, render_frames
from core.mesh.albedo import MOUTH_RGB
from core.pipeline import S2DPipeline

#: Landmarks that drop with the jaw: the chin line, the lower outer and inner lip.
JAW = [*range(5, 12), *range(55, 60), 65, 66, 67]


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
