"""docs/labels.md + docs/figures/labels_apex.png: every label recipe and a rendered apex.

Run: python docs/scripts/render_labels.py   (needs anny; seed 0, the average identity)
Also renders docs/figures/bone_extremes.png: the largest sampled rotation of each bone group.
"""

import numpy as np
from _render import ROOT, grid, render, save

from core.data.anny_source import BONE_GROUPS, AnnyHead, FaceParams
from core.data.recipes import (
    EXPRESSION_SPLIT_TEST_LABELS,
    HELD_OUT_ACTIONS,
    LABELS,
    RECIPES,
    sample_apex,
)

head = AnnyHead()
fa = head.facial_action_labels
ident = {
    "phenotypes": np.full((1, len(head.phenotype_labels)), 0.5),
    "local_changes": np.zeros((1, len(head.face_local_changes))),
}
rng = np.random.default_rng(0)
imgs = []
for label in LABELS:
    p = sample_apex(label, fa, rng)
    v = head.vertices(ident, np.array([0]), p)[0]
    imgs.append(render(v, head.faces, title=label, size=(300, 340), zoom=1.5))
save(grid(imgs, 7), ROOT / "docs" / "figures" / "labels_apex.png")

ext = []
for group, (bones, deg) in BONE_GROUPS.items():
    for sign in (1, -1):
        if group == "jaw":
            p = FaceParams(np.zeros((1, 52)), np.array([[deg if sign > 0 else 0, 0, 0]]), {})
            if sign < 0:
                p = FaceParams(np.zeros((1, 52)), np.array([[0, 6.0, 0]]), {})
        else:
            p = FaceParams(
                np.zeros((1, 52)),
                np.zeros((1, 3)),
                {b: np.array([[sign * deg, 0, 0]]) for b in bones},
            )
        v = head.vertices(ident, np.array([0]), p)[0]
        title = (
            f"{group} {'+' if sign > 0 else '-'}{deg:.0f} deg x"
            if group != "jaw"
            else (f"jaw open {deg:.0f} deg" if sign > 0 else "jaw side 6 deg")
        )
        ext.append(render(v, head.faces, title=title, size=(300, 340), zoom=1.5))
save(grid(ext, 4), ROOT / "docs" / "figures" / "bone_extremes.png")

lines = [
    "# Expression labels",
    "",
    "Each label is a recipe over anny's 52 facial actions (ARKit names; `*` = both sides) and",
    "the jaw bone, defined in `core/data/recipes.py`. Every sample randomises intensity",
    "(x0.6-1.15), left/right asymmetry (±25 %), side (one-sided labels), small lip-bone",
    "rotations, onset (0-6 frames), rise time (8-20 frames) and adds a blink 30 % of the time.",
    f"Expression split: {', '.join(EXPRESSION_SPLIT_TEST_LABELS)} are held out, and the",
    f"actions {', '.join(HELD_OUT_ACTIONS)} never appear in its training frames.",
    "",
    "| label | set | what it looks like | facial actions at apex | jaw (open°, side°) |",
    "|---|---|---|---|---|",
]
for label in LABELS:
    r = RECIPES[label]
    acts = ", ".join(f"{k} {v:g}" for k, v in r.actions.items())
    kind = "CoMA" if LABELS.index(label) < 12 else "3D-MEAD"
    side = " (one side, random)" if r.one_sided else ""
    lines.append(
        f"| {label} | {kind} | {r.description}{side} | {acts} | {r.jaw[0]:g}, {r.jaw[1]:g} |"
    )
lines += [
    "",
    "Apex of every label (seed 0, average identity; `python docs/scripts/render_labels.py`):",
    "",
    "![apex per label](figures/labels_apex.png)",
    "",
    "Largest rotations sampled per bone group (check of the ranges in `BONE_GROUPS`):",
    "",
    "![bone extremes](figures/bone_extremes.png)",
    "",
]
(ROOT / "docs" / "labels.md").write_text("\n".join(lines))
print("wrote docs/labels.md")
