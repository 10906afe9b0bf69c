"""core.io.export*: atomic sequence/GLB/video/manifest export, round trips, cancel and failures."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.errors import ExportError, InvalidInputError
from core.io.atomic import ExportCancelled
from core.io.export import export_glb, export_sequence, export_video, write_manifest
from core.io.export_gltf import y_up_to_z_up, z_up_to_y_up
from core.io.mesh_io import load_mesh

T, V = 4, 12


@pytest.fixture
def anim():
    """(T, V, 3) float32 frames, (F, 3) faces of a strip, and seam UVs (vertex 1 has two)."""
    rng = np.random.default_rng(0)
    base = rng.normal(scale=0.1, size=(V, 3))
    frames = np.stack([base + 0.01 * k * rng.normal(size=(V, 3)) for k in range(T)]).astype(
        np.float32
    )
    faces = np.array([[i, i + 1, i + 2] if i % 2 == 0 else [i, i + 2, i + 1] for i in range(V - 2)])
    uv = rng.random((V + 1, 2))
    face_uv = faces.copy()
    face_uv[2, 0] = V  # a seam: vertex 2 has UV 2 in faces 0/1 and UV V in face 2
    return frames, faces, uv, face_uv


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------------ export_sequence
def test_obj_sequence_round_trip_with_corner_uvs(tmp_path, anim):
    frames, faces, uv, face_uv = anim
    out = export_sequence(
        tmp_path / "seq",
        frames,
        faces,
        "obj",
        uv=uv,
        face_uv=face_uv,
        manifest={"fps": 30, "label": "smile"},
    )
    assert out == tmp_path / "seq"
    assert _listing(tmp_path) == ["seq"]  # no temporaries left
    names = [f"frame_{k:04d}.obj" for k in range(1, T + 1)]
    assert _listing(out) == sorted(names + ["manifest.json"])
    for k, name in enumerate(names):
        mesh = load_mesh(out / name)
        np.testing.assert_allclose(mesh.vertices, frames[k], atol=5.1e-7, rtol=0)
        np.testing.assert_array_equal(mesh.faces, faces)
        np.testing.assert_array_equal(mesh.face_uv, face_uv)
        np.testing.assert_allclose(mesh.uv[mesh.face_uv], uv[face_uv], atol=5.1e-7, rtol=0)
    text = (out / names[0]).read_text()
    assert "\nf 1/1/1 2/2/2 3/3/3\n" in text and "v " in text and text.count("\nvn ") == V
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == {
        "fps": 30,
        "label": "smile",
        "format": "obj",
        "n_frames": T,
        "n_vertices": V,
        "n_faces": len(faces),
        "units": "m",
        "up": "z",
        "has_uv": True,
        "has_normals": True,
        "files": names,
        "frames": list(range(1, T + 1)),
        "read_back": "trimesh.load(path, process=False, maintain_order=True)",
    }


def test_ply_and_npz_sequences_are_exact(tmp_path, anim):
    frames, faces, _, _ = anim
    export_sequence(tmp_path / "ply", frames, faces, "ply", name_pattern="f{:d}")
    assert _listing(tmp_path / "ply") == sorted(
        [f"f{k}.ply" for k in range(1, T + 1)] + ["manifest.json"]
    )
    for k in range(T):
        mesh = load_mesh(tmp_path / "ply" / f"f{k + 1}.ply")
        np.testing.assert_array_equal(mesh.vertices.astype(np.float32), frames[k])
        np.testing.assert_array_equal(mesh.faces, faces)
    export_sequence(tmp_path / "npz", frames, faces, "npz")
    assert _listing(tmp_path / "npz") == ["manifest.json", "sequence.npz"]
    with np.load(tmp_path / "npz" / "sequence.npz") as data:
        np.testing.assert_array_equal(data["frames"], frames)
        np.testing.assert_array_equal(data["faces"], faces)


def test_progress_is_reported_and_cancel_leaves_nothing(tmp_path, anim):
    frames, faces, _, _ = anim
    calls = []
    export_sequence(tmp_path / "ok", frames, faces, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, T) for k in range(1, T + 1)]

    def cancel_at_2(done, total):
        return done < 2

    with pytest.raises(ExportCancelled, match="cancelled after 2 of 4 steps; nothing was written"):
        export_sequence(tmp_path / "cancelled", frames, faces, progress=cancel_at_2)
    assert _listing(tmp_path) == ["ok"]
    assert issubclass(ExportCancelled, ExportError)


def test_existing_folder_refused_then_replaced_atomically(tmp_path, anim):
    frames, faces, _, _ = anim
    out = tmp_path / "seq"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    with pytest.raises(
        ExportError, match="already exists; choose another name or allow overwriting"
    ):
        export_sequence(out, frames, faces)
    with pytest.raises(ExportCancelled):
        export_sequence(out, frames, faces, overwrite=True, progress=lambda d, t: False)
    assert _listing(out) == ["old.txt"]  # a cancelled overwrite keeps the old export
    export_sequence(out, frames, faces, overwrite=True)
    assert "old.txt" not in _listing(out) and "frame_0001.obj" in _listing(out)
    assert _listing(tmp_path) == ["seq"]  # neither temporary nor backup left


def test_unwritable_destination_gives_export_error_and_writes_nothing(tmp_path, anim):
    frames, faces, _, _ = anim
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        ExportError, match=r"file/seq: .*is a file, not a folder; choose another folder"
    ):
        export_sequence(blocker / "seq", frames, faces)
    with pytest.raises(ExportError, match="does not exist; create it or choose another folder"):
        export_sequence(tmp_path / "missing" / "seq", frames, faces)
    assert _listing(tmp_path) == ["file"]


def test_read_only_folder_gives_permission_message(tmp_path, anim):
    frames, faces, _, _ = anim
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: chmod does not make folders read-only")
        with pytest.raises(
            ExportError,
            match=r"cannot write to .*locked/seq: permission denied; choose another folder",
        ):
            export_sequence(locked / "seq", frames, faces)
        assert _listing(locked) == []
    finally:
        locked.chmod(0o700)


def test_unexpected_failure_mid_way_is_wrapped_and_cleaned(tmp_path, anim):
    frames, faces, _, _ = anim

    def boom(done, total):
        if done == 3:
            raise RuntimeError("disk vanished")

    with pytest.raises(
        ExportError, match=r"RuntimeError: disk vanished\); nothing was written"
    ) as info:
        export_sequence(tmp_path / "seq", frames, faces, progress=boom)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert _listing(tmp_path) == []


def test_invalid_inputs_are_refused_before_writing(tmp_path, anim):
    frames, faces, uv, face_uv = anim
    nan = frames.copy()
    nan[2, 5, 1] = np.nan
    with pytest.raises(InvalidInputError, match=r"NaN/inf in 1 of 4 frame\(s\) \(first: frame 2\)"):
        export_sequence(tmp_path / "a", nan, faces)
    with pytest.raises(InvalidInputError, match=r"\(T, V, 3\)"):
        export_sequence(tmp_path / "a", frames[0], faces)
    with pytest.raises(InvalidInputError, match="index vertices"):
        export_sequence(tmp_path / "a", frames, faces + V)
    with pytest.raises(InvalidInputError, match="fmt must be one of"):
        export_sequence(tmp_path / "a", frames, faces, "stl")
    with pytest.raises(InvalidInputError, match="seams"):
        export_sequence(tmp_path / "a", frames, faces, "ply", uv=uv, face_uv=face_uv)
    with pytest.raises(InvalidInputError, match="name_pattern"):
        export_sequence(tmp_path / "a", frames, faces, name_pattern="same")
    with pytest.raises(InvalidInputError, match="name_pattern"):
        export_sequence(tmp_path / "a", frames, faces, name_pattern="{:d}/x")
    with pytest.raises(InvalidInputError, match="manifest must hold JSON"):
        export_sequence(tmp_path / "a", frames, faces, manifest={"x": object()})
    with pytest.raises(InvalidInputError, match="manifest must hold JSON"):
        export_sequence(tmp_path / "a", frames, faces, manifest={"x": float("nan")})
    assert _listing(tmp_path) == []


def test_write_manifest_converts_numpy_and_replaces_atomically(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("old")
    write_manifest(
        path, {"n": np.int64(3), "xs": np.arange(3), "p": tmp_path / "a", "f": np.float32(0.5)}
    )
    assert json.loads(path.read_text()) == {
        "n": 3,
        "xs": [0, 1, 2],
        "p": str(tmp_path / "a"),
        "f": 0.5,
    }
    with pytest.raises(InvalidInputError):
        write_manifest(path, {"bad": float("inf")})
    assert json.loads(path.read_text())["n"] == 3
    assert _listing(tmp_path) == ["m.json"]


# ------------------------------------------------------------------------------------- GLB
def _read_glb(path):
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and bin_len % 4 == 0
    assert 20 + json_len + 8 + bin_len == len(data)
    return doc, data[28 + json_len : 28 + json_len + bin_len]


_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_DTYPES = {5126: np.float32, 5125: np.uint32}


def _accessor(doc, blob, index):
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    n = _COMPONENTS[acc["type"]]
    dtype = np.dtype(_DTYPES[acc["componentType"]])
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    assert acc["count"] * n * dtype.itemsize <= view["byteLength"]
    return np.frombuffer(blob, dtype, acc["count"] * n, start).reshape(acc["count"], n)


def _validate_structure(doc, blob):
    """What Khronos' validator checks that matters here: bounds, alignment, min/max, counts."""
    assert doc["asset"]["version"] == "2.0"
    assert doc["buffers"] == [{"byteLength": len(blob)}]
    for view in doc["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
        assert view["byteOffset"] + view["byteLength"] <= doc["buffers"][0]["byteLength"]
    for i, acc in enumerate(doc["accessors"]):
        values = _accessor(doc, blob, i)
        if "min" in acc:
            np.testing.assert_array_equal(values.min(axis=0), np.float32(acc["min"]))
            np.testing.assert_array_equal(values.max(axis=0), np.float32(acc["max"]))
    prim = doc["meshes"][0]["primitives"][0]
    n_vertices = doc["accessors"][prim["attributes"]["POSITION"]]["count"]
    assert "min" in doc["accessors"][prim["attributes"]["POSITION"]]
    indices = _accessor(doc, blob, prim["indices"])
    assert indices.dtype == np.uint32 and indices.max() < n_vertices
    for target in prim["targets"]:
        assert doc["accessors"][target["POSITION"]]["count"] == n_vertices
        assert "min" in doc["accessors"][target["POSITION"]]
    sampler = doc["animations"][0]["samplers"][0]
    n_keys = doc["accessors"][sampler["input"]]["count"]
    assert "min" in doc["accessors"][sampler["input"]]
    n_weights = doc["accessors"][sampler["output"]]["count"]
    assert n_weights == n_keys * len(prim["targets"]) == n_keys * len(doc["meshes"][0]["weights"])


def test_glb_structure_and_frames_via_raw_parsing(tmp_path, anim):
    frames, faces, _, _ = anim
    path = export_glb(tmp_path / "a.glb", frames, faces, fps=25, names=[f"k{i}" for i in range(T)])
    assert _listing(tmp_path) == ["a.glb"]
    doc, blob = _read_glb(path)
    _validate_structure(doc, blob)
    prim = doc["meshes"][0]["primitives"][0]
    assert doc["meshes"][0]["extras"]["targetNames"] == ["k0", "k1", "k2", "k3"]
    assert set(prim["attributes"]) == {"POSITION", "NORMAL"} and len(prim["targets"]) == T
    channel = doc["animations"][0]["channels"][0]
    assert channel["target"] == {"node": 0, "path": "weights"}
    sampler = doc["animations"][0]["samplers"][0]
    assert sampler["interpolation"] == "LINEAR"
    np.testing.assert_allclose(_accessor(doc, blob, sampler["input"]).ravel(), np.arange(T) / 25)
    np.testing.assert_array_equal(_accessor(doc, blob, sampler["output"]).reshape(T, T), np.eye(T))
    base = _accessor(doc, blob, prim["attributes"]["POSITION"])
    normals = _accessor(doc, blob, prim["attributes"]["NORMAL"])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-6)
    for k in (0, 2, T - 1):
        y_up = base + _accessor(doc, blob, prim["targets"][k]["POSITION"])
        np.testing.assert_allclose(y_up_to_z_up(y_up), frames[k], atol=1e-5)
    np.testing.assert_array_equal(_accessor(doc, blob, prim["indices"]).reshape(-1, 3), faces)


def test_glb_frames_in_vtk_gltf_reader(tmp_path, anim):
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonDataModel import vtkPolyData
    from vtkmodules.vtkIOGeometry import vtkGLTFReader

    frames, faces, _, _ = anim
    export_glb(tmp_path / "a.glb", frames, faces, fps=30)
    reader = vtkGLTFReader()
    reader.SetFileName(str(tmp_path / "a.glb"))
    reader.UpdateInformation()
    assert reader.GetNumberOfAnimations() == 1
    reader.EnableAnimation(0)
    reader.SetApplyDeformationsToGeometry(True)
    for k in (0, 1, T - 1):
        reader.UpdateTimeStep(k / 30)
        blocks = reader.GetOutput().NewIterator()
        blocks.InitTraversal()
        polys = []
        while not blocks.IsDoneWithTraversal():
            if isinstance(blocks.GetCurrentDataObject(), vtkPolyData):
                polys.append(blocks.GetCurrentDataObject())
            blocks.GoToNextItem()
        assert len(polys) == 1
        points = vtk_to_numpy(polys[0].GetPoints().GetData())
        np.testing.assert_allclose(y_up_to_z_up(points), frames[k], atol=1e-5)


def test_glb_axis_conversion_and_pygltflib_load(tmp_path, anim):
    import pygltflib

    p = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(z_up_to_y_up(p), [[1.0, 3.0, -2.0]])  # z-up -> y-up
    np.testing.assert_array_equal(y_up_to_z_up(z_up_to_y_up(p)), p)
    frames, faces, _, _ = anim
    export_glb(tmp_path / "one.glb", frames[:1], faces, normals=False)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "one.glb"))
    assert len(gltf.meshes[0].primitives[0].targets) == 1 and len(gltf.animations) == 1
    assert gltf.meshes[0].primitives[0].attributes.NORMAL is None
    _validate_structure(*_read_glb(tmp_path / "one.glb"))


def test_glb_refuses_bad_input(tmp_path, anim):
    frames, faces, _, _ = anim
    with pytest.raises(InvalidInputError, match="fps must be a positive number"):
        export_glb(tmp_path / "a.glb", frames, faces, fps=0)
    with pytest.raises(InvalidInputError, match="one name per frame"):
        export_glb(tmp_path / "a.glb", frames, faces, names=["a"])
    (tmp_path / "f").write_text("")
    with pytest.raises(ExportError, match="is a file, not a folder"):
        export_glb(tmp_path / "f" / "a.glb", frames, faces)
    assert _listing(tmp_path) == ["f"]


def _gltf_validator_dir():
    """(node, node_modules folder) of Khronos' glTF validator: GLTF_VALIDATOR_NODE_PATH, or the
    copy that .ci/setup.sh installs into .cache/node when npm is available."""
    node = shutil.which("node")
    folder = os.environ.get("GLTF_VALIDATOR_NODE_PATH") or str(
        Path(__file__).resolve().parents[1] / ".cache" / "node" / "node_modules"
    )
    if node and folder and os.path.isdir(os.path.join(folder, "gltf-validator")):
        return node, folder
    return None


@pytest.mark.skipif(
    _gltf_validator_dir() is None,
    reason="no gltf-validator: .ci/setup.sh installs it with npm, or set GLTF_VALIDATOR_NODE_PATH",
)
def test_glb_passes_khronos_validator(tmp_path, anim):
    node, folder = _gltf_validator_dir()
    frames, faces, _, _ = anim
    export_glb(tmp_path / "a.glb", frames, faces)
    script = (
        "const v=require('gltf-validator');const fs=require('fs');"
        "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[1])))"
        ".then(r=>console.log(JSON.stringify({e:r.issues.numErrors,w:r.issues.numWarnings,"
        "a:r.info.animationCount,m:r.info.hasMorphTargets})))"
    )
    out = subprocess.run(
        [node, "-e", script, str(tmp_path / "a.glb")],
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": folder},
        timeout=60,
    )
    assert json.loads(out.stdout) == {"e": 0, "w": 0, "a": 1, "m": True}, out.stderr


# ----------------------------------------------------------------------------------- video
@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, size=(5, 30, 20, 3), dtype=np.uint8)


def test_mp4_is_padded_to_macro_blocks_not_resized(tmp_path, rgb):
    import imageio.v3 as iio

    rgb[:, :, :, :] = 0
    rgb[:, :, -1, 0] = 255  # the right-most column is red: padding repeats it
    calls = []
    export_video(tmp_path / "a.mp4", rgb, 25, progress=lambda d, t: calls.append(d))
    assert calls == [1, 2, 3, 4, 5]
    assert _listing(tmp_path) == ["a.mp4"]
    back = iio.imread(tmp_path / "a.mp4")
    assert back.shape == (5, 32, 32, 3)
    assert back[:, :30, :19, 0].mean() < 20 and back[:, :30, 21:, 0].mean() > 200


def test_gif_keeps_size_and_frame_count(tmp_path, rgb):
    import imageio.v3 as iio

    export_video(tmp_path / "a.gif", rgb, 20)
    back = iio.imread(tmp_path / "a.gif")
    assert back.shape[:3] == (5, 30, 20)
    assert iio.immeta(tmp_path / "a.gif", index=0)["duration"] == 50  # ms


def test_video_cancel_and_bad_input_leave_nothing(tmp_path, rgb):
    with pytest.raises(ExportCancelled):
        export_video(tmp_path / "a.mp4", rgb, 30, progress=lambda d, t: d < 3)
    with pytest.raises(InvalidInputError, match=r"\.mp4 or \.gif"):
        export_video(tmp_path / "a.avi", rgb, 30)
    with pytest.raises(InvalidInputError, match="uint8"):
        export_video(tmp_path / "a.mp4", rgb.astype(np.float32), 30)
    with pytest.raises(InvalidInputError, match=r"drop alpha"):
        export_video(tmp_path / "a.mp4", np.zeros((2, 16, 16, 4), np.uint8), 30)
    with pytest.raises(InvalidInputError, match="fps"):
        export_video(tmp_path / "a.gif", rgb, -1)
    assert _listing(tmp_path) == []
