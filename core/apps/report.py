"""``docs/applications.md``: what each application does, its commands, and the measured tables
(:func:`core.apps.evaluate.evaluate_apps`), with the verdicts worded from the numbers."""

from __future__ import annotations

from pathlib import Path

from core.apps.evaluate import (
    ANY_TOPOLOGY_METHODS,
    EVAL_SEED,
    NEUTRAL_METHODS,
    SCALED_PERFORMER,
    TRANSFER_METHODS,
)

__all__ = ["write_report"]

USAGE = """\
# Applications: timelines, performance transfer, face creator, neutralization

Everything here runs without anny (the bases are shipped in `resources/`); the studio reaches
each through the Face and Timeline docks, the Face menu and File ▸ Transfer motion from….

## Timelines of several expressions

```bash
python main.py sequence --spec "happy:3@1.5s,surprised:1@2s,neutral@1s" --out out/
```

Clips are `LABEL[:SEED][@SECONDS][/TRANSITION]`, played from the neutral face; `neutral`
returns to it. In each clip the face moves into the clip's apex (by default over 1 s, or
`/0.5s`) and holds it until the clip ends. neutral → A plays A's generated motion, A → neutral
plays it backwards, A → B follows the geodesic between the two motions' SRVFs on the sphere
(the apex of the interpolated motion, the paper's mixed expressions), eased so it starts and
ends at rest. The example is 4.5 s = 136 frames at 30 fps; `tests/test_apps_timeline.py`
checks the lengths, the holds and that no frame-to-frame step exceeds the generated motions'
own largest step. In the studio: the Timeline strip (add, remove, ◀ ▶ to reorder, durations,
Build), then the playback bar scrubs it and Export writes it like any motion.

## Performance transfer

```bash
python main.py transfer --source perf/ --neutral face.obj --out out/ --fps 30 \\
    [--source-fps 60] [--mode srvf|absolute|multilinear] [--stabilize]
```

Sources: a folder of `.obj`/`.ply` frames of our topology (natural order), a folder of iBUG
`.pts` files, a `.npy` (T, 68, 3) or a `.csv` with 204 columns; frame 0 is the performer at
rest. Any length and frame rate: the landmarks are resampled linearly in time from
`--source-fps` to `--fps` (the command prints both frame counts). The source's axes are rotated
onto the face's (Kabsch on frame 0; `--no-align` skips it) and `--stabilize` removes head
motion (rigid fit on the nose bridge and inner eye corners each frame). `srvf` (the paper)
encodes the displacement curve divided by the performer's face scale as an SRVF + length and
replays it at the target's scale; `absolute` keeps the performer's displacements in metres;
`multilinear` corrects them for the difference between the performer's and the target's face
with a model of how landmark motion depends on identity, learned from anny
(`resources/transfer_model.npz`, `python main.py build-transfer-model`, see below). S2D-Dec decodes every frame. In the studio: File ▸ Transfer motion from file… / folder…, then
an options dialog with the same choices (mode, source frame rate, stabilisation, alignment).
Exports of timelines, transfers and face-creator faces, from the CLI or the studio, are
re-created bit for bit by `python main.py replay manifest.json --out DIR` (a transfer needs its
source file unchanged).

## Face creator

```bash
python main.py face --random 3 --out face.obj
python main.py face --set age=0.8,nose-width=0.3 --out face.obj
python main.py face --list          # every slider, its group and range
```

Sliders: the six anny phenotypes (gender, age, muscle, weight, height, proportions, 0…1) and
anny's local head changes with left/right pairs merged (nose, mouth, chin, cheeks, eyes, brows,
forehead, ears, head; -1…1; aliases such as `nose-width`, `mouth-width`, `eye-size`). API:
`core.apps.face_basis.load_face_basis().vertices({"age": 0.8})`.

![faces from the sliders](figures/face_creator.png)

In the studio: the Face dock
(live preview, one undo step per slider release, Random face, Reset, Export neutral…); the
moved sliders are saved in the export manifest (`face_sliders`).

## Neutralization

```bash
python main.py neutralize --mesh smile.obj --out neutral.obj [--method joint|basis|paper]
```

In the studio: Face ▸ Neutralize (the face on screen, at the current frame, becomes the
neutral face; undoable).
"""


def _table(
    rows: dict,
    methods,
    splits=("inside", "outside"),
    heads=("inside the recipes", "outside the recipes"),
) -> list[str]:
    lines = ["| method | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for m in methods:
        cells = []
        for split in splits:
            v = rows[split][m]
            cells.append(f"**{v:.3f}**" if v == min(rows[split].values()) else f"{v:.3f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _best(rows: dict, split: str) -> str:
    return min(rows[split], key=rows[split].get)


def _wins(res: dict) -> str:
    wins = res["srvf_wins"]["inside"] + res["srvf_wins"]["outside"]
    if not wins:
        return "none of the expressions"
    jaw = {"mouth_open", "mouth_extreme", "mouth_middle", "surprised"} & set(wins)
    why = (
        " (anny opens the jaw by a rotation, whose displacement grows with the face)" if jaw else ""
    )
    return ", ".join(wins) + why


def _modes_sentence(t: dict, srvf: str, absolute: str) -> str:
    a, q = t["inside"][absolute], t["inside"][srvf]
    if a < q:
        return (
            f"Among the landmark-driven methods absolute mode is better on anny ({a:.3f} vs "
            f"{q:.3f} mm inside): anny applies the same expression offsets to every identity "
            "whatever its size, so the paper's rescaling to the target's scale only adds "
            "error. "
        )
    return f"Among the landmark-driven methods SRVF mode is better ({q:.3f} vs {a:.3f} mm). "


def _diagnosis(res: dict) -> list[str]:
    """Why the landmark-driven transfer does (not) beat raw displacement."""
    d = res.get("transfer_diagnosis")
    if not d:
        return []
    t = res["transfer"]
    ml = "S2D multilinear (learned)"
    raw = "raw displacement"
    beats = [k for k in ("inside", "outside") if t[k][ml] < t[k][raw]]
    verdict = (
        "beats raw displacement " + " and ".join(f"{k} the recipes" for k in beats)
        if beats
        else "does not beat raw displacement"
    )
    return [
        "*Landmark-driven transfer against raw displacement.* S2D-Dec given identity B's "
        f"**true** landmarks is {d['inside']['oracle']:.3f} mm inside / "
        f"{d['outside']['oracle']:.3f} mm outside the recipes (the floor of every "
        "landmark-driven method), below raw displacement "
        f"({t['inside'][raw]:.3f} / {t['outside'][raw]:.3f}). The loss is in the landmarks: "
        "A's landmark displacements copied onto B are "
        f"{d['inside']['landmarks']:.3f} / {d['outside']['landmarks']:.3f} mm away from B's "
        "own (anny's expressions differ between identities, most where the jaw opens, where "
        "the landmarks are), and the decoder turns that into dense error. The `multilinear` "
        "mode carries them with a model of how landmark motion depends on identity "
        "(`core.apps.motion_model`: identity code x expression code, after Vlasic et al. 2005, "
        "fitted on 240 other anny identities that all perform the same 320 expressions, "
        "held-out actions excluded; its sizes and gate chosen on development identities, seeds "
        "777-779, never on these): its landmarks are "
        f"{d['inside']['multilinear landmarks']:.3f} / "
        f"{d['outside']['multilinear landmarks']:.3f} mm from B's, and S2D-Dec from them "
        f"{verdict} ({t['inside'][ml]:.3f} / {t['outside'][ml]:.3f} mm). On the development "
        "identities (3 x 8 identities, 16 + 11 expressions each) it beat raw inside the "
        "recipes on all three draws (0.087 / 0.098 / 0.077 vs 0.112 / 0.128 / 0.154 mm) but "
        "not outside (0.124 / 0.115 / 0.118 vs 0.107 / 0.100 / 0.084; S2D absolute 0.151 / "
        "0.152 / 0.127): there the decoder's own error is near raw's. `srvf` stays the default "
        "because `multilinear`, like `absolute`, needs a source in metres. Tried and not better than copying (development identities, 2026-12-07): a "
        "local similarity or affine map of each landmark's displacement fitted between A's "
        "and B's neutral landmarks (Gaussian neighbourhoods of 0.1-0.6 face radii; global "
        "scale alone: 0.38 vs 0.30 mm on the landmarks, anny's expressions do not grow with "
        "the face), a learned per-landmark correction (landmarks better, dense S2D error "
        "worse), a dense deformation transfer (per-triangle deformation gradients of A applied "
        "to B, Sumner & Popović 2004: 0.476 / 0.592 mm on these items), raw + the decoder's "
        "B-minus-A correction (equals raw to 0.001 mm).",
        "",
    ]


def _any_topology(res: dict) -> list[str]:
    """The neutralization of faces re-meshed into another topology."""
    a, c = res.get("any_topology"), res.get("any_topology_counts", {})
    if not a or not all(c.values()):
        return []
    return [
        "#### A face of another topology",
        "",
        f"The first {c['inside']} apexes inside and {c['outside']} outside, re-meshed "
        "(subdivided, shuffled, in centimetres, y up), fitted from their 68 landmarks as "
        "`neutralize --mesh` does, and neutralized in that topology. The any-face fit is made "
        "for neutral faces: its template follows an expression only partly, the rest stays in "
        "the binding, so neutralizing the fitted template leaves most of the expression. "
        "`joint ICP` fits the joint model to the mesh's own surface (point-to-plane ICP, 6 "
        "iterations, about 3 s) and carries the fitted expression back "
        "(`core.apps.neutralize_any`; the CLI default for another topology).",
        "",
        *_table(a, ANY_TOPOLOGY_METHODS),
        "",
    ]


def write_report(res: dict, path: Path) -> Path:
    """Write ``docs/applications.md`` from :func:`core.apps.evaluate.evaluate_apps`'s result."""
    from core.io.atomic import atomic_write_bytes

    t, n, basis = res["transfer"], res["neutralize"], res["basis"]
    srvf, absolute = "S2D SRVF (paper)", "S2D absolute"
    lines = [
        USAGE,
        "## Measured on anny",
        "",
        "`python main.py evaluate-apps` (needs anny; "
        f"{res['seconds']:.0f} s on 2 shared cores): {res['identities']} anny identities drawn "
        f"with seed {EVAL_SEED} (never used to build the bases), "
        f"{res['counts']['inside']} expressions inside the recipes and "
        f"{res['counts']['outside']} outside (the expression-split test labels and random mixtures "
        "of held-out actions with face-rig bone poses). Errors are the mean per-vertex distance "
        "in the face region, in mm. Decoder: `models/s2d_decoder.safetensors` (sha256 "
        f"{res['decoder_sha256']}…).",
        "",
        "### Performance transfer",
        "",
        "Identity A performs a 30-frame motion; identity B must perform it; the truth is anny's "
        f"B with the same expression parameters. *Scaled performer*: the same, with A's face and "
        f"motion shrunk ×{SCALED_PERFORMER} (a smaller performer whose expressions scale with "
        "the face). Raw displacement copies A's dense displacement (it needs mesh frames of our "
        "topology); the others see only the 68 landmarks.",
        "",
        *_table(
            t,
            TRANSFER_METHODS,
            ("inside", "outside", "scaled"),
            ("inside the recipes", "outside the recipes", "scaled performer"),
        ),
        "",
        f"Best inside: {_best(t, 'inside')}; outside: {_best(t, 'outside')}; scaled performer: "
        f"{_best(t, 'scaled')}. "
        + _modes_sentence(t, srvf, absolute)
        + f"The SRVF mode wins on {_wins(res)}. "
        "With a performer whose expressions scale with the face the SRVF mode is "
        f"{'better' if t['scaled'][srvf] < t['scaled'][absolute] else 'not better'} "
        f"({t['scaled'][srvf]:.3f} vs {t['scaled'][absolute]:.3f} mm). Use `--mode "
        "multilinear` (or `absolute`) for performers whose landmarks are in metres, `srvf` "
        "(default) for landmarks in other units (pixels, mm). The RBF deformer (no "
        "learned face prior) is "
        f"{'behind' if t['inside']['RBF (TPS) absolute'] > t['inside'][absolute] else 'ahead of'}"
        f" the decoder ({t['inside']['RBF (TPS) absolute']:.3f} vs {t['inside'][absolute]:.3f} "
        "mm inside).",
        "",
        *_diagnosis(res),
        "### Neutralization",
        "",
        "The apex of each expression on a held-out identity, against its true neutral face. "
        "`none` returns the input; `basis` fits the identity basis alone; `paper` moves the "
        "landmarks to the mean neutral landmarks (aligned on the nose and eye corners) through "
        "S2D-Dec; `joint` (default) fits the identity and expression bases together and "
        "subtracts the fitted expression.",
        "",
        *_table(n, NEUTRAL_METHODS),
        "",
        f"`joint` removes {100 * (1 - n['inside']['joint'] / n['inside']['none']):.0f} % of the "
        f"expression inside the recipes and "
        f"{100 * (1 - n['outside']['joint'] / n['outside']['none']):.0f} % outside (held-out "
        "actions the expression basis never saw). The paper's recipe is "
        f"{'worse' if n['inside']['paper'] > n['inside']['none'] else 'better'} than doing "
        f"nothing ({n['inside']['paper']:.3f} vs {n['inside']['none']:.3f} mm inside): S2D-Dec "
        "was trained to add expressions to a neutral face, not to remove one from an "
        "expressive face.",
        "",
        *_any_topology(res),
        "### Face creator basis",
        "",
        f"`resources/face_sliders.npz`: {basis['face_sliders_bytes'] / 1e6:.2f} MB, "
        f"{basis['n_sliders']} sliders ({basis['phenotype_components']} PCA components over "
        f"anny's {basis['phenotype_grid_points']} phenotype grid faces, interpolated "
        "multilinearly as anny does; local changes linear on each side). Held-out "
        f"reconstruction against anny on {basis['held_out_identities']} random identities: "
        f"mean {basis['held_out_mean_mm']:.4f} mm, max {basis['held_out_max_mm']:.3f} mm. "
        "`resources/expression_basis.npz` (the neutralizer's, 96 PCA components of anny "
        "expression displacements without the held-out actions) is built by the same command, "
        "`python main.py build-face-basis` (about 30 s with anny).",
        "",
    ]
    atomic_write_bytes(path, "\n".join(lines).encode())
    return Path(path)
