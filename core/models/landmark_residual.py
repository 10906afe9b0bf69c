"""A smooth deformation of the mesh that takes given displacements at the 68 landmark vertices.

``R = B r``: ``r`` (K, 3) is what a learned decoder left undone at the landmarks (target minus
predicted displacement), ``B`` (V, K) holds one biharmonic basis function per landmark: the
deformation of least bending (discrete energy ``x^T L^T M^-1 L x`` with the cotangent Laplacian
``L`` and the lumped mass ``M``) that is 1 at its landmark, 0 at the other landmarks and 0 on
the *anchored* vertices (the eyeballs, and skin farther than ``anchor_distance`` from every
landmark: the back of the head and the neck do not follow a lip drag). Added to a decoder's
output it makes the landmarks land exactly where they were asked to, with a deformation that
fades smoothly over the skin (Jacobson et al., "Bounded biharmonic weights", 2011, without the
bounds). ``B`` depends only on the neutral template and is computed once (~0.2 s).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["ANCHOR_DISTANCE", "cotangent_laplacian", "biharmonic_basis", "LandmarkResidual"]

#: Skin vertices farther than this (metres, straight line) from every landmark are held still
#: (measured, leave-one-family-out with interpolation alone: 2 cm explains 58 / 62 / 52 % of
#: unseen action / bone / local-change motion, 5 cm 52 / 56 / -9 %; drags clean 88 % vs 87.5 %).
ANCHOR_DISTANCE = 0.02
#: Cotangents are clamped to this magnitude so near-degenerate triangles do not dominate.
MAX_COTANGENT = 1e3


def cotangent_laplacian(vertices: np.ndarray, faces: np.ndarray):
    """Cotangent Laplacian (positive semi-definite) and lumped mass of a triangle mesh.

    vertices (V, 3), faces (F, 3) → (L, m): L scipy.sparse (V, V) csr, m (V,) vertex areas
    (a third of the adjacent triangle areas, floored at a tiny positive value).
    """
    from scipy import sparse

    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    n = len(v)
    rows, cols, vals = [], [], []
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    for c in range(3):
        i, j, k = f[:, (c + 1) % 3], f[:, (c + 2) % 3], f[:, c]
        a, b = v[i] - v[k], v[j] - v[k]
        cot = (a * b).sum(1) / np.maximum(np.linalg.norm(np.cross(a, b), axis=1), 1e-30)
        w = 0.5 * np.clip(cot, -MAX_COTANGENT, MAX_COTANGENT)
        rows += [i, j, i, j]
        cols += [j, i, i, j]
        vals += [-w, -w, w, w]
    L = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    m = np.zeros(n)
    np.add.at(m, f.ravel(), np.repeat(area / 3.0, 3))
    return L, np.maximum(m, 1e-12)


def biharmonic_basis(
    vertices: np.ndarray, faces: np.ndarray, landmark_idx: np.ndarray, anchored: np.ndarray
) -> np.ndarray:
    """Biharmonic basis functions (V, K) float64 (see the module docstring).

    landmark_idx : (K,) vertex indices; anchored : (V,) bool vertices held at zero (must not
    contain a landmark). Row ``landmark_idx[k]`` of the result is the unit vector e_k.
    """
    from scipy import sparse
    from scipy.sparse.linalg import splu

    L, m = cotangent_laplacian(vertices, faces)
    Q = (L.T @ sparse.diags(1.0 / m) @ L).tocsc()  # (V, V) bending energy
    n = len(m)
    lm = np.asarray(landmark_idx, np.int64)
    known = np.asarray(anchored, bool).copy()
    known[lm] = True
    free = np.flatnonzero(~known)
    X = np.zeros((n, len(lm)))
    X[lm, np.arange(len(lm))] = 1.0
    rhs = -(Q[free][:, lm] @ np.eye(len(lm)))
    X[free] = splu(Q[free][:, free].tocsc()).solve(np.asarray(rhs))
    return X


class LandmarkResidual(nn.Module):
    """r (B, K, 3) displacements at the landmarks → (B, V, 3) smooth displacement ``B r``.

    Parameters
    ----------
    basis : (V, K) tensor, from :func:`biharmonic_basis` (a buffer: moves with ``.to()``, not
        saved in ``state_dict``; rebuild it from the template with :meth:`from_face`).
    """

    def __init__(self, basis: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("basis", basis.to(torch.float32), persistent=False)

    @classmethod
    def from_face(
        cls,
        vertices: np.ndarray,
        faces: np.ndarray,
        landmark_idx: np.ndarray,
        anchor_distance: float = ANCHOR_DISTANCE,
    ) -> LandmarkResidual:
        """The residual of a template: vertices (V, 3) of the neutral face, faces (F, 3).

        The largest connected component is the skin; other components are anchored.
        """
        from scipy.spatial import cKDTree

        from core.mesh.topology import connected_components

        v = np.asarray(vertices, np.float64)
        comp = connected_components(np.asarray(faces, np.int64), len(v))
        skin = comp == np.bincount(comp).argmax()
        d, _ = cKDTree(v[landmark_idx]).query(v)
        anchored = ~skin | (d > anchor_distance)
        anchored[np.asarray(landmark_idx)] = False
        basis = biharmonic_basis(v, faces, landmark_idx, anchored)
        return cls(torch.from_numpy(basis))

    def forward(self, landmark_residual: torch.Tensor) -> torch.Tensor:
        """(B, K, 3) → (B, V, 3)."""
        return torch.einsum(
            "vk,bkc->bvc", self.basis.to(landmark_residual.dtype), landmark_residual
        )

    def apply_numpy(self, landmark_residual: np.ndarray) -> np.ndarray:
        """The same for numpy arrays (B, K, 3) → (B, V, 3) float64."""
        return np.einsum(
            "vk,bkc->bvc", self.basis.double().numpy(), np.asarray(landmark_residual, np.float64)
        )
