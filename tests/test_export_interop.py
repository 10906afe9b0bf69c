"""Exports other tools read: OBJ normals through trimesh, the up axis, units and the manifest schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.io.export import export_sequence
from core.io.manifest import (
    SCHEMA_VERSION,
    build_manifest,
    guess_units,
    model_entry,
    to_up,
    validate_manifest,
)
from core.mesh.normals import vertex_normals

trimesh = pytest.importorskip("trimesh")


@pytest.fixture
def tetra():
    """Two frames of a closed tetrahedron (outward winding), z-up, in metres."""
    v = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], np.float64)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    frames = np.stack([v, v * 1.5 + 0.01]).astype(np.float32)
    return frames, f


def _provenance(frames, units=None):
    sha = "ab" * 32
    return build_manifest(
        producer="cli",
        motion={"kind": "generate", "label": "happy", "seed": 0, "length": 1.0},
        fps=30.0,
        face_name="default face",
        face_path=None,
        face_vertices=frames[0],
        models={"motion3dgan": {"file": "m.safetensors", "sha256": sha}},
        units=units,
    )


def test_obj_normals_read_back_by_trimesh_in_topology_order(tmp_path, tetra):
    frames, f = tetra
    out = export_sequence(tmp_path / "s", frames, f, "obj", manifest=_provenance(frames))
    for k in range(2):
        mesh = trimesh.load(out / f"frame_{k + 1:04d}.obj", process=False, maintain_order=True)
        np.testing.assert_allclose(mesh.vertices, frames[k], atol=1e-6)
        np.testing.assert_array_equal(mesh.faces, f)
        want = vertex_normals(frames[k : k + 1], f)[0]
        np.testing.assert_allclose(mesh.vertex_normals, want, atol=2e-6)
        # outward: each vertex normal points away from the centroid of a convex solid
        assert np.all(np.sum(want * (frames[k] - frames[k].mean(0)), axis=1) > 0)
    validate_manifest(json.loads((out / "manifest.json").read_text()))


@pytest.mark.parametrize("fmt", ["obj", "ply", "npz"])
def test_up_y_is_a_proper_rotation_in_every_format(tmp_path, tetra, fmt):
    frames, f = tetra
    out = export_sequence(tmp_path / fmt, frames, f, fmt, up="y", manifest=_provenance(frames))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["up"] == "y"
    validate_manifest(manifest)
    if fmt == "npz":
        got = np.load(out / "sequence.npz")["frames"][1]
    else:
        got = trimesh.load(out / manifest["files"][1], process=False, maintain_order=True).vertices
    want = np.stack([frames[1][:, 0], frames[1][:, 2], -frames[1][:, 1]], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-6)
    if fmt == "obj":  # normals rotate with the mesh (winding kept: still outward)
        mesh = trimesh.load(out / manifest["files"][1], process=False, maintain_order=True)
        np.testing.assert_allclose(
            mesh.vertex_normals, to_up(vertex_normals(frames[1:], f)[0], "y"), atol=2e-6
        )


def test_the_default_face_looks_forward_in_both_conventions():
    from core.assets import load_face, load_landmarks

    face, lm = load_face(), load_landmarks()
    nose = face.vertices[lm.indices[30]]  # iBUG 30: nose tip
    centre = face.vertices.mean(0)
    assert np.argmax(np.abs(nose - centre)) in (1, 2)
    assert nose[1] < centre[1]  # z-up: the face looks towards -y
    assert to_up(nose, "y")[2] > to_up(centre, "y")[2]  # y-up: towards +z


@pytest.mark.parametrize(("scale", "unit"), [(1.0, "m"), (100.0, "cm"), (1000.0, "mm")])
def test_units_follow_the_face_actually_used(scale, unit):
    from core.assets import load_face

    v = load_face().vertices * scale
    assert guess_units(v) == unit
    m = _provenance(v[None])
    assert m["face"]["units"] == unit


def test_validate_manifest_reports_every_problem(tmp_path, tetra):
    frames, f = tetra
    out = export_sequence(tmp_path / "s", frames, f, "obj", manifest=_provenance(frames))
    good = json.loads((out / "manifest.json").read_text())
    assert good["schema_version"] == SCHEMA_VERSION and validate_manifest(good) is good
    bad = {**good, "up": "x", "frames": [0, 1], "models": {"m": {"sha256": "abc"}}}
    del bad["fps"]
    with pytest.raises(InvalidInputError, match="missing 'fps'"):
        validate_manifest(bad)
    bad["fps"] = 30.0
    with pytest.raises(InvalidInputError) as exc:
        validate_manifest(bad)
    text = str(exc.value)
    assert "'up'" in text and "'frames' should be 1..2" in text and "64-hex" in text
    edited = {**good, "edits": [{"frame": 0, "landmark": "nose"}]}
    with pytest.raises(InvalidInputError, match="edit frame 0"):
        validate_manifest(edited)


def test_model_entry_has_the_full_sha256(tmp_path):
    import hashlib

    p = tmp_path / "w.safetensors"
    p.write_bytes(b"weights")
    assert model_entry(p) == {
        "file": "w.safetensors",
        "sha256": hashlib.sha256(b"weights").hexdigest(),
    }
