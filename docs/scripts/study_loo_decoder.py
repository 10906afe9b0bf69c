"""Study: the per-frame leave-one-landmark-out residual inside the *shipped* decoder.

``study_loo_select.py`` measures the choice among three least-bending priors (anchor 2 cm
plain; 2 cm and 5 cm with the stiffness prior) on unseen families with interpolation alone.
Here the shipped decoder's residual ``B`` is swapped for that choice (the learned part and
the gate unchanged; the stiffness prior from the training identities' frames of all families),
and what it must not hurt is measured, old and new in the same run:

* the identity split: face-region error (mm) on the held-out identities' frames
  (``make_split(data, "identity", "test")``, as ``python main.py evaluate``);
* the drag benchmark (``tests/benchmarks/bench_drag.py``), direct and smooth mode.

Run: nice -n 19 python docs/scripts/study_loo_decoder.py   (~10 min under load)
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

import torch  # noqa: E402

torch.set_num_threads(1)

from study_loo_select import loo_closed_form  # noqa: E402
from study_unseen_ceiling import Interp, frames  # noqa: E402

from core.assets import load_face, load_landmarks  # noqa: E402
from core.data.synth import load_synth  # noqa: E402


class SelectiveResidual(torch.nn.Module):
    """r (B, K, 3) → (B, V, 3): per sample, the basis whose leave-one-out map predicts r best."""

    def __init__(self, bases: np.ndarray, loo: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("bases", torch.as_tensor(bases, dtype=torch.float32))  # (P, V, K)
        self.register_buffer("loo", torch.as_tensor(loo, dtype=torch.float32))  # (P, K, K)
        self.picks = []

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        pred = torch.einsum("pjk,bkc->pbjc", self.loo.to(r.dtype), r)  # (P, B, K, 3)
        err = (pred - r[None]).norm(dim=-1).mean(-1)  # (P, B)
        pick = err.argmin(0)  # (B,)
        self.picks.append(pick.numpy())
        out = torch.einsum("bvk,bkc->bvc", self.bases.to(r.dtype)[pick], r)
        return out

    def apply_numpy(self, r: np.ndarray) -> np.ndarray:
        """The same for numpy arrays (B, K, 3) → (B, V, 3) float64."""
        with torch.no_grad():
            return self(torch.as_tensor(np.asarray(r), dtype=torch.float64)).numpy()


def build(face, lms, data, frames_from=None) -> SelectiveResidual:
    """The residual with the stiffness prior from 3000 of ``frames_from`` (frame indices;
    default: every training identity's frame)."""
    interp = Interp(face, np.asarray(lms.indices))
    rng = np.random.default_rng(0)
    pool = (
        np.flatnonzero(~data.id_test[data.frame_identity]) if frames_from is None else frames_from
    )
    ti = rng.choice(pool, min(3000, len(pool)), replace=False)
    _, dsp, ss, _ = frames(data, ti)
    mob = np.sqrt(((dsp / ss[:, None, None]) ** 2).sum(-1).mean(0))
    mob = np.maximum(mob, 1e-3 * mob.max())
    stiff = interp.m / mob**2
    stiff *= interp.Q.diagonal().mean() / stiff.mean()
    kws = [{}, {"stiff": stiff}, {"anchor": 0.05, "stiff": stiff}]
    bases = [interp.basis(**kw) for kw in kws]
    loo = [loo_closed_form(interp, b, kw) for b, kw in zip(bases, kws, strict=True)]
    return SelectiveResidual(np.stack(bases), np.stack(loo))


def main() -> None:
    import bench_drag

    from core.eval.decoder_eval import predict_decoder, summarize, vertex_errors_mm
    from core.pipeline import S2DPipeline
    from core.train.s2d_train import make_split

    t0 = time.time()
    data = load_synth()
    face, lms = load_face(), load_landmarks()
    new = build(face, lms, data)
    pipe = S2DPipeline.load(device="cpu")
    old = pipe.decoder.residual
    test = make_split(data, "identity", "test")
    print(f"built in {time.time() - t0:.0f} s; {len(test)} held-out identity frames", flush=True)
    for name, res in (("shipped residual", old), ("leave-one-out choice", new)):
        pipe.decoder.residual = res
        new.picks.clear()
        pred = predict_decoder(pipe.decoder, test, pipe.normalization)
        s = summarize(vertex_errors_mm(pred, test.disp), face.face_mask)
        picks = np.concatenate(new.picks) if new.picks else np.zeros(0, int)
        share = np.bincount(picks, minlength=3) / max(1, len(picks))
        print(
            f"identity split, {name}: face {s['face_mean']:.3f} mm, all {s['all_mean']:.3f} mm"
            + (f" (picks {', '.join(f'{v:.0%}' for v in share)})" if len(picks) else ""),
            flush=True,
        )
        for mode in ("direct", "smooth"):
            spread = bench_drag.drag_spread(mode, lms)

            def decode(targets):
                return pipe.decode(pipe.face.vertices, targets)

            out = bench_drag.run(decode, face, lms.indices, spread=spread)
            cells = ", ".join(
                f"{mm} mm {r['clean_fraction']:.1%} (flip max {r['flipped_max']}, worst "
                f"{r['worst_vertex_ratio_max']:.2f}x)"
                for mm, r in out.items()
            )
            print(f"drags {mode}, {name}: {cells}", flush=True)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
