"""Study: leave one family out with the per-frame leave-one-landmark-out residual.

``python main.py evaluate-generalization --steps 0`` (``core.eval.generalization``) run one
family at a time, twice: as shipped, and with every biharmonic residual it builds (the
interpolation row and the residual inside the gated decoder) replaced by the per-frame choice of
``study_loo_decoder.py``, its stiffness prior computed from that split's training frames (the
held-out family's frames are never used). Printed per family: interpolation alone and the
shipped architecture (gated, at its ridge initialisation), old and new.

Run: nice -n 19 python docs/scripts/study_loo_lofo.py   (~8 min under load)
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

torch.set_num_threads(1)

from study_loo_decoder import build  # noqa: E402
from study_unseen_ceiling import family_frames  # noqa: E402

from core.assets import load_face, load_landmarks  # noqa: E402
from core.data.synth import load_synth  # noqa: E402
from core.eval.generalization import HELD_OUT_FAMILIES, evaluate_generalization  # noqa: E402
from core.models import landmark_residual  # noqa: E402

ROWS = ("biharmonic interpolation", "S2D-Dec+ residual, gated")


def main() -> None:
    t0 = time.time()
    data = load_synth()
    face, lms = load_face(), load_landmarks()
    shipped = landmark_residual.LandmarkResidual.from_face
    for fam in HELD_OUT_FAMILIES:
        res = {}
        for name in ("shipped", "leave-one-out choice"):
            if name == "shipped":
                landmark_residual.LandmarkResidual.from_face = shipped
            else:
                sel = build(face, lms, data, family_frames(data, fam, "without", "train"))
                landmark_residual.LandmarkResidual.from_face = staticmethod(
                    lambda *a, _s=sel, **k: _s
                )
            out = evaluate_generalization(data, steps=0, families=(fam,), log=print)
            res[name] = out["families"][fam]["scores"]
        landmark_residual.LandmarkResidual.from_face = shipped
        cells = "; ".join(
            f"{row}: {res['shipped'][row]['explained']:.1%} -> "
            f"{res['leave-one-out choice'][row]['explained']:.1%}"
            for row in ROWS
        )
        print(f"== unseen {fam}: {cells} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
