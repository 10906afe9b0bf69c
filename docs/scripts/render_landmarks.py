"""docs/figures/landmarks.png: the 68 landmarks on the default face (front, side, jaw open).

Run: python docs/scripts/render_landmarks.py   (the jaw-open view needs anny)
"""

from _render import ROOT, grid, render, save

from core.assets import load_face, load_landmarks

face, lm = load_face(), load_landmarks()
v = face.vertices
imgs = [
    render(v, face.faces, v[lm.indices], 0, (520, 560), "front", zoom=1.6),
    render(v, face.faces, v[lm.indices], 90, (520, 560), "side", zoom=1.6),
    render(
        v,
        face.faces,
        v[lm.indices],
        0,
        (520, 560),
        "indices",
        zoom=1.75,
        labels=[str(i) for i in range(68)],
    ),
]
try:
    import numpy as np

    from core.data.anny_source import AnnyHead, FaceParams

    head = AnnyHead()
    ident = {
        "phenotypes": np.full((1, len(head.phenotype_labels)), 0.5),
        "local_changes": np.zeros((1, len(head.face_local_changes))),
    }
    vo = head.vertices(
        ident, np.array([0]), FaceParams(np.zeros((1, 52)), np.array([[22.0, 0, 0]]), {})
    )[0]
    imgs.append(render(vo, face.faces, vo[lm.indices], 0, (520, 560), "jaw open 22°", zoom=1.6))
except Exception as exc:  # noqa: BLE001
    print("skipping jaw-open view:", exc)
save(grid(imgs, 4), ROOT / "docs" / "figures" / "landmarks.png")
