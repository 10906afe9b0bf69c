"""``docs/figures/face_creator.png``: faces of the face creator's sliders, drawn with matplotlib
(a painter's-algorithm front view with Lambert shading; no OpenGL needed).

Made by ``python main.py evaluate-apps`` (only needs the shipped basis).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["draw_face", "face_creator_figure", "FIGURE_FACES"]

#: (title, slider values) of the faces in the figure.
FIGURE_FACES = (
    ("default", {}),
    ("age 0.1", {"age": 0.1}),
    ("age 1.0, weight 0.9", {"age": 1.0, "weight": 0.9}),
    ("nose-width 1, mouth-width -1", {"nose-width": 1.0, "mouth-width": -1.0}),
    ("random face #3", None),
)


def draw_face(ax, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Front view (looking along +y) of a mesh: vertices (V, 3), faces (F, 3)."""
    from matplotlib.collections import PolyCollection

    v = np.asarray(vertices, np.float64)
    tri = v[faces]  # (F, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    light = np.array([-0.4, -1.0, 0.5])
    light /= np.linalg.norm(light)
    shade = np.clip(n @ light, 0.0, 1.0)
    front = n[:, 1] < 0  # facing the viewer (-y)
    order = np.argsort(-tri[:, :, 1].mean(1))  # far (large y) first
    order = order[front[order]]
    skin = np.array([0.86, 0.67, 0.55])
    colors = np.clip(skin[None] * (0.25 + 0.75 * shade[order, None]), 0, 1)
    ax.add_collection(
        PolyCollection(
            tri[order][:, :, [0, 2]], facecolors=colors, edgecolors="none", antialiased=False
        )
    )
    ax.set_xlim(v[:, 0].min(), v[:, 0].max())
    ax.set_ylim(v[:, 2].min(), v[:, 2].max())
    ax.set_aspect("equal")
    ax.axis("off")


def face_creator_figure(path: Path) -> Path:
    """Write the figure (one row of :data:`FIGURE_FACES`) to ``path``; returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.apps.face_basis import load_face_basis
    from core.assets import load_face

    basis, faces = load_face_basis(), load_face().faces
    fig, axes = plt.subplots(1, len(FIGURE_FACES), figsize=(3 * len(FIGURE_FACES), 3.6))
    for ax, (title, values) in zip(axes, FIGURE_FACES, strict=True):
        draw_face(ax, basis.vertices(basis.random(3) if values is None else values), faces)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return Path(path)
