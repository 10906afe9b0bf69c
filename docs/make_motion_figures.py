"""Rendered figures of docs/motion3dgan.md (pyvista off-screen; never imported by core).

    python docs/make_motion_figures.py [--seeds 4] [--weights models/motion3dgan.safetensors]

- ``docs/figures/motion_grid.png``: apex frames, one row per label: a ground-truth test sequence
  of that label (first column, landmarks decoded with S2D-Dec on the default face) and
  Motion3DGAN samples with seeds 0..n-1 on the default face;
- ``docs/figures/motion_interpolation.png``: mixed apexes (``MotionGenerator.mix_apex``) between
  a few label pairs, tau = 0, 0.25, ..., 1.

Without S2D-Dec weights the neutral face is drawn with the apex landmarks in red instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "scripts"))
sys.path.insert(0, str(ROOT))

from _render import grid, render, save  # noqa: E402

PAIRS = (("happy", 0, "surprised", 0), ("mouth_side", 1, "eyebrow", 1), ("sad", 2, "angry", 2))


def _tile(gen, face, neutral, landmarks, title, dense: bool):
    """Render the last frame of a landmark sequence (T, 68, 3) on the neutral face."""
    if dense:
        verts = gen.decode(neutral, landmarks)[-1]
        return render(verts, face.faces, title=title, size=(200, 230), zoom=1.55)
    return render(
        neutral, face.faces, points=landmarks[-1], title=title, size=(200, 230), zoom=1.55
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--weights", default=str(ROOT / "models" / "motion3dgan.safetensors"))
    ap.add_argument("--decoder-weights", default=str(ROOT / "models" / "s2d_decoder.safetensors"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "figures"))
    args = ap.parse_args(argv)

    import numpy as np

    from core.assets import load_face, load_landmarks
    from core.data.recipes import LABELS
    from core.data.synth import SynthConfig, load_or_generate
    from core.eval.motion_eval import labelled_sequences
    from core.generate import MotionGenerator
    from core.motion import Motion

    face, lmk = load_face(), load_landmarks()
    gen = MotionGenerator.load(args.weights, "cpu", args.decoder_weights)
    dense = Path(args.decoder_weights).is_file()
    neutral = face.vertices
    lm0 = lmk.gather(neutral)
    data = load_or_generate(SynthConfig(), lmk.indices, progress=False)
    gt_lm, gt_lab, _ = labelled_sequences(data, "test")

    tiles = []
    for k, label in enumerate(LABELS):
        seq = gt_lm[np.nonzero(gt_lab == k)[0][0]]
        # GT motion replayed on the default face (same SRVF transfer as the generator uses)
        gt = gen.landmark_motion(*gen.encode(seq), lm0)  # GT motion replayed on this face
        tiles.append(_tile(gen, face, neutral, gt, f"{label} GT", dense))
        q, length = gen.sample_srvf([label] * args.seeds, list(range(args.seeds)))
        for s in range(args.seeds):
            lm = gen.landmark_motion(q[s], length[s], lm0)
            tiles.append(_tile(gen, face, neutral, lm, f"{label} seed {s}", dense))
        print(f"rendered {label}")
    out = Path(args.out)
    save(grid(tiles, args.seeds + 1), out / "motion_grid.png")

    tiles = []
    for la, sa, lb, sb in PAIRS:
        q, length = gen.sample_srvf([la, lb], [sa, sb])
        a, b = (
            Motion(
                gen.landmark_motion(q[i], length[i], lm0),
                np.repeat(neutral[None], 30, 0),
                srvf=q[i].astype(np.float32),
                meta={"length": float(length[i])},
            )
            for i in (0, 1)
        )
        for tau in np.linspace(0, 1, 5):
            lm = gen.landmark_motion(*gen.interpolate_srvf(a, b, float(tau)), lm0)
            tiles.append(_tile(gen, face, neutral, lm, f"{la}->{lb} {tau:.2f}", dense))
    save(grid(tiles, 5), out / "motion_interpolation.png")
    print(f"wrote {out / 'motion_grid.png'} and {out / 'motion_interpolation.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
