"""Re-meshed copies of our template with a known correspondence (for tests and benchmarks).

:func:`remesh_template` subdivides the template's skin (every triangle into 4, midpoints on the
surface), shuffles the vertex order, optionally drops the eyeballs and the back of the head, and
maps the result into another frame (units, axes). Every new vertex is a known barycentric point
of the template, so a registration can be scored exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.fit.align import Similarity

__all__ = ["Remeshed", "remesh_template", "random_rotation"]


@dataclass(frozen=True)
class Remeshed:
    """A re-meshed face: ``vertices`` (V, 3) in its own frame, ``faces`` (F, 3), and its exact
    correspondence ``src_tri`` (V, 3) template vertex ids with ``src_bary`` (V, 3) weights;
    ``to_template`` maps its frame back into the template frame."""

    vertices: np.ndarray
    faces: np.ndarray
    src_tri: np.ndarray
    src_bary: np.ndarray
    to_template: Similarity

    def on_template(self, template_vertices: np.ndarray) -> np.ndarray:
        """Positions (..., V, 3) of the re-meshed vertices on a deformed template (..., V_t, 3)."""
        tv = np.asarray(template_vertices, float)
        return np.einsum("vk,...vkc->...vc", self.src_bary, tv[..., self.src_tri, :])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation (3, 3)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def remesh_template(
    template_vertices: np.ndarray,
    template_faces: np.ndarray,
    keep: np.ndarray,
    *,
    seed: int = 0,
    scale: float = 100.0,
    rotation: np.ndarray | None = None,
) -> Remeshed:
    """Subdivide the template faces whose corners are all in ``keep`` (V_t,) bool, shuffle.

    ``scale`` user units per metre (100 = centimetres); ``rotation`` (3, 3) from the template
    axes into the user's (default: y up, face towards +z, the OBJ convention).
    """
    rng = np.random.default_rng(seed)
    tv = np.asarray(template_vertices, float)
    tf = np.asarray(template_faces, np.int64)
    tf = tf[keep[tf].all(axis=1)]
    edges = np.sort(np.concatenate([tf[:, [0, 1]], tf[:, [1, 2]], tf[:, [2, 0]]]), axis=1)
    uniq, inv = np.unique(edges, axis=0, return_inverse=True)
    used = np.unique(tf)
    n_old = len(used)
    remap = np.full(len(tv), -1)
    remap[used] = np.arange(n_old)
    src_tri = np.concatenate(
        [np.stack([used] * 3, axis=1), np.stack([uniq[:, 0], uniq[:, 1], uniq[:, 1]], axis=1)]
    )
    src_bary = np.concatenate(
        [np.tile([1.0, 0.0, 0.0], (n_old, 1)), np.tile([0.5, 0.5, 0.0], (len(uniq), 1))]
    )
    m = n_old + inv.ravel().reshape(3, -1).T  # (F, 3) midpoint ids of edges 01, 12, 20
    a, b, c = remap[tf[:, 0]], remap[tf[:, 1]], remap[tf[:, 2]]
    faces = np.concatenate(
        [
            np.stack([a, m[:, 0], m[:, 2]], 1),
            np.stack([m[:, 0], b, m[:, 1]], 1),
            np.stack([m[:, 2], m[:, 1], c], 1),
            m,
        ]
    )
    perm = rng.permutation(len(src_tri))
    inv_perm = np.argsort(perm)
    src_tri, src_bary = src_tri[perm], src_bary[perm]
    faces = inv_perm[faces]
    pos = np.einsum("vk,vkc->vc", src_bary, tv[src_tri])
    if rotation is None:  # template (z up, face -y) -> OBJ (y up, face +z)
        rotation = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
    shift = rng.normal(size=3) * 0.05
    user = scale * pos @ rotation.T + shift * scale
    to_t = Similarity(1.0 / scale, rotation.T, -(rotation.T @ shift))
    return Remeshed(user, faces, src_tri, src_bary, to_t)
