"""Study: which single deformation sources the landmark interpolation explains, and which not.

Each source of the three families of ``core.data.families`` is applied alone to a few fresh
anny identities (not in the training data): every facial action at weight 1 (gaze and tongue
actions left out, as in training), every face-rig bone of ``RIG_BONES`` rotated about x, y and z
by its range, the jaw opened by its range, and every local change of ``LOCAL_SOURCES`` moved
+1 and -1 from the identity's own setting. The biharmonic landmark interpolation
(``core.models.landmark_residual``, the decoder's fallback on unseen families) is given the exact
target landmarks; printed per source: the share of its face-region motion explained, the face
motion (mm), and the ratio of landmark motion to face motion (small: the skin moves where no
landmark is) and where the most error is (the distance of that vertex to the nearest\nlandmark). Sources are grouped (the bone axes and the local-change signs together) and the
worst are listed per family. anny's expression units are never read.

Run: nice -n 19 python docs/scripts/study_unseen_sources.py 4   (identities; ~2 min)
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

torch.set_num_threads(1)

from core.assets import load_face, load_landmarks  # noqa: E402
from core.data.anny_source import AnnyHead, FaceParams  # noqa: E402
from core.data.families import (  # noqa: E402
    JAW_OPEN,
    LOCAL_PREFIXES,
    RIG_BONES,
    refuse_expression_units,
)
from core.data.recipes import trainable_actions  # noqa: E402
from core.models.landmark_residual import LandmarkResidual  # noqa: E402
from core.models.normalization import landmark_scale  # noqa: E402


def sources(head):
    """[(family, group name, FaceParams kwargs builder, local delta (Lc,) or None)]."""
    fa = head.facial_action_labels
    out = [("actions", fa[i], {"action": i}) for i in trainable_actions(fa)]
    names = [b for b in RIG_BONES if b in head.bone_labels]
    refuse_expression_units(names)
    for b in names:
        for ax in range(3):
            out.append(("bones", b, {"bone": (b, ax, RIG_BONES[b])}))
    out.append(("bones", "jaw", {"jaw": JAW_OPEN}))
    lc = head.face_local_changes
    refuse_expression_units(lc)
    for i, lab in enumerate(lc):
        if lab.startswith(LOCAL_PREFIXES):
            for sign in (1.0, -1.0):
                out.append(("local", lab, {"local": (i, sign)}))
    return out


def params_of(head, spec, n):
    p = head.neutral_params(n)
    if "action" in spec:
        p.facial_actions[:, spec["action"]] = 1.0
    if "bone" in spec:
        b, ax, deg = spec["bone"]
        aa = np.zeros((n, 3))
        aa[:, ax] = deg
        p = FaceParams(p.facial_actions, p.jaw_deg, {b: aa})
    if "jaw" in spec:
        p.jaw_deg[:, 0] = spec["jaw"]
    return p


def main() -> None:
    n_id = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    t0 = time.time()
    head = AnnyHead()
    face, lms = load_face(), load_landmarks()
    mask = np.asarray(face.face_mask, bool)
    lm = np.asarray(lms.indices)
    res = LandmarkResidual.from_face(face.vertices, face.faces, lm)
    rng = np.random.default_rng(123)
    ident = head.sample_identities(rng, n_id)
    rows = np.arange(n_id)
    neutral = head.vertices(ident, rows).astype(np.float64)
    scale = landmark_scale(neutral[:, lm])
    print(f"anny loaded in {time.time() - t0:.0f} s", flush=True)
    stats: dict = {}
    for fam, name, spec in sources(head):
        p = params_of(head, spec, n_id)
        idn = ident
        if "local" in spec:
            i, sign = spec["local"]
            local = ident["local_changes"].copy()
            local[:, i] = np.clip(local[:, i] + sign, -1.0, 1.0)
            idn = {"phenotypes": ident["phenotypes"], "local_changes": local}
        v = head.vertices(idn, rows, p).astype(np.float64)
        disp = v - neutral  # (n, V, 3)
        x = disp[:, lm] / scale[:, None, None]
        pred = res.apply_numpy(x) * scale[:, None, None]
        err = np.linalg.norm(pred[:, mask] - disp[:, mask], axis=-1).mean(1)  # (n,)
        mot = np.linalg.norm(disp[:, mask], axis=-1).mean(1)
        lmm = np.linalg.norm(disp[:, lm], axis=-1).mean(1)
        s = stats.setdefault((fam, name), [0.0, 0.0, 0.0, np.zeros(len(mask))])
        s[0] += err.sum()
        s[1] += mot.sum()
        s[2] += lmm.sum()
        s[3] = s[3] + np.linalg.norm(pred - disp, axis=-1).sum(0)  # (V,) error per vertex
    print(f"{len(stats)} sources in {time.time() - t0:.0f} s", flush=True)
    for fam in ("actions", "bones", "local"):
        items = [(k[1], v) for k, v in stats.items() if k[0] == fam and v[1] > 0]
        err = sum(v[0] for _, v in items)
        mot = sum(v[1] for _, v in items)
        print(f"== {fam}: {len(items)} sources, explained overall {1 - err / mot:.1%}")
        items.sort(key=lambda kv: -kv[1][0])  # by error carried
        for name, (e, m, lmm, ev) in items:
            worst = int(np.argmax(np.where(mask, ev, 0.0)))  # the vertex with most error
            d = np.linalg.norm(face.vertices[lm] - face.vertices[worst], axis=1)
            print(
                f"   {name:32s} explained {1 - e / m:6.1%}  face motion {1000 * m / n_id:5.2f} mm"
                f"  share of the family's error {e / err:5.1%}  landmark/face motion "
                f"{lmm / m:4.2f}  most error {1000 * d.min():4.1f} mm from {lms.names[d.argmin()]}"
            )


if __name__ == "__main__":
    main()
