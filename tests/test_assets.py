"""The shipped default face, landmarks and per-vertex data (resources/)."""

import json

import numpy as np

from core.assets import load_face, load_identity_basis, load_landmarks
from core.data.landmark_rules import IBUG68_MIRROR, IBUG68_NAMES
from core.mesh.hierarchy import MeshHierarchy
from core.mesh.topology import connected_components
from core.paths import RESOURCES


def test_face_arrays_are_consistent():
    face = load_face()
    v, f = face.vertices, face.faces
    assert v.shape == (4312, 3) and v.dtype == np.float32
    assert f.shape[1] == 3 and f.min() == 0 and f.max() == len(v) - 1
    assert np.isfinite(v).all()
    # metres, z up, a head of plausible size, facing -y (nose tip is the most -y point)
    extent = v.max(0) - v.min(0)
    assert 0.12 < extent[0] < 0.25 and 0.15 < extent[2] < 0.35
    assert face.uv is not None and face.face_uv.shape == f.shape
    assert face.face_uv.max() < len(face.uv) and (face.uv >= -1e-6).all()
    labels = connected_components(f, len(v))
    assert np.array_equal(face.skin, labels == np.bincount(labels).argmax())
    assert 0.3 < face.face_mask.mean() < 0.8


def test_landmarks_in_range_named_and_mirrored():
    lm = load_landmarks()
    face = load_face()
    assert lm.indices.shape == (68,) and len(set(lm.indices.tolist())) == 68
    assert lm.indices.min() >= 0 and lm.indices.max() < face.n_vertices
    assert face.skin[lm.indices].all()
    assert lm.names == IBUG68_NAMES and tuple(lm.mirror) == IBUG68_MIRROR
    p = face.vertices[lm.indices]
    mirrored = p[lm.mirror] * np.array([-1, 1, 1])
    np.testing.assert_allclose(mirrored, p, atol=1e-5)  # left/right pairs mirror each other
    midline = np.array([i for i in range(68) if lm.mirror[i] == i])
    assert np.abs(p[midline, 0]).max() < 2e-3


def test_landmark_layout_reads_as_a_face():
    p = load_face().vertices[load_landmarks().indices]
    z = p[:, 2]
    brows, eyes, nose_tip, mouth, chin = (
        z[17:27].mean(),
        z[36:48].mean(),
        z[30],
        z[48:68].mean(),
        z[8],
    )
    assert brows > eyes > nose_tip > mouth > chin
    assert p[36, 0] < p[39, 0] < 0 < p[42, 0] < p[45, 0]  # right eye on -x, outer→inner
    assert p[30, 1] == p[:, 1].min()  # the nose tip is the most forward landmark
    assert p[48, 0] < p[62, 0] < p[54, 0]


def test_loss_weights_follow_landmark_distance():
    face, lm = load_face(), load_landmarks()
    w = face.loss_weights
    assert w.shape == (face.n_vertices,) and w.min() == 0.0 and abs(w.max() - 1.0) < 1e-6
    np.testing.assert_allclose(w[lm.indices], 1.0, atol=1e-6)
    d = np.linalg.norm(face.vertices[:, None] - face.vertices[lm.indices][None], axis=-1).min(1)
    order = np.argsort(d)
    assert np.all(np.diff(w[order]) <= 1e-6)  # monotonically decreasing with distance


def test_mirror_map_is_an_involution_on_the_skin():
    face = load_face()
    skin = np.flatnonzero(face.skin)
    assert (face.mirror[face.mirror[skin]] == skin).mean() > 0.98
    err = np.abs(face.vertices[face.mirror[skin]] * [-1, 1, 1] - face.vertices[skin]).max()
    assert err < 4e-3


def test_hierarchy_matches_face_and_identity_basis_is_orthonormal():
    face = load_face()
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    assert h.sizes[0] == face.n_vertices and len(h.sizes) == 5
    np.testing.assert_array_equal(h.vertices[0], face.vertices)
    basis = load_identity_basis()
    b = basis["basis"].reshape(len(basis["basis"]), -1).astype(np.float64)
    np.testing.assert_allclose(b @ b.T, np.eye(len(b)), atol=1e-4)
    assert np.all(np.diff(basis["std"]) <= 0)


def test_landmarks_json_is_plain_data():
    data = json.loads((RESOURCES / "landmarks.json").read_text())
    assert set(data) >= {"indices", "names", "mirror", "description"}
