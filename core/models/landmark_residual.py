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

__all__ = [
    "ANCHOR_DISTANCE",
    "BASIS_FILE",
    "cotangent_laplacian",
    "biharmonic_basis",
    "anchored_vertices",
    "compute_basis",
    "template_key",
    "write_basis_file",
    "LandmarkResidual",
]

#: The basis of the shipped template, precomputed (``write_basis_file``): loading it instead of
#: solving saves ~0.5 s of every start (the solve and scipy's imports). Used only when its key
#: (a hash of the template and the anchor distance) matches; any other template is solved.
BASIS_FILE = "landmark_residual.npz"

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
        key = template_key(vertices, faces, landmark_idx, anchor_distance)
        cached = _shipped_basis(key)
        if cached is not None:
            return cls(torch.from_numpy(cached))
        return cls(torch.from_numpy(compute_basis(vertices, faces, landmark_idx, anchor_distance)))

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


def template_key(vertices, faces, landmark_idx, anchor_distance: float = ANCHOR_DISTANCE) -> str:
    """sha256 of what the basis depends on: vertices (V, 3), faces (F, 3), landmark indices
    (K,) and the anchor distance."""
    import hashlib

    h = hashlib.sha256()
    for a, dt in ((vertices, np.float64), (faces, np.int64), (landmark_idx, np.int64)):
        h.update(np.ascontiguousarray(np.asarray(a, dt)).tobytes())
    h.update(repr(float(anchor_distance)).encode())
    return h.hexdigest()


def compute_basis(vertices, faces, landmark_idx, anchor_distance: float = ANCHOR_DISTANCE):
    """Solve the template's basis: (V, K) float32. The largest connected component is the
    skin; other components, and skin farther than ``anchor_distance`` from every landmark,
    are anchored."""
    v = np.asarray(vertices, np.float64)
    idx = np.asarray(landmark_idx, np.int64)
    anchored = anchored_vertices(v, faces, idx, anchor_distance)
    return biharmonic_basis(v, faces, idx, anchored).astype(np.float32)


def anchored_vertices(
    vertices, faces, landmark_idx, anchor_distance: float = ANCHOR_DISTANCE
) -> np.ndarray:
    """(V,) bool: the vertices the residual holds still — every component but the largest (the
    skin) and the skin farther than ``anchor_distance`` from every landmark (never a landmark)."""
    from core.mesh.topology import connected_components

    v = np.asarray(vertices, np.float64)
    idx = np.asarray(landmark_idx, np.int64)
    comp = connected_components(np.asarray(faces, np.int64), len(v))
    skin = comp == np.bincount(comp).argmax()
    d = np.sqrt(((v[:, None, :] - v[idx][None]) ** 2).sum(-1)).min(1)  # (V,) to the landmarks
    anchored = ~skin | (d > anchor_distance)
    anchored[idx] = False
    return anchored


def _shipped_basis(key: str, path=None) -> np.ndarray | None:
    """The precomputed basis when the shipped file's key is ``key``; else None."""
    from core.paths import RESOURCES

    path = RESOURCES / BASIS_FILE if path is None else path
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            return np.asarray(z["basis"], np.float32)
    except (OSError, KeyError, ValueError):
        return None  # missing or unreadable: solve instead


def write_basis_file(vertices, faces, landmark_idx, path=None) -> None:
    """Precompute the basis of a template into ``resources/`` (see ``BASIS_FILE``)."""
    from core.io.atomic import atomic_savez
    from core.paths import RESOURCES

    path = RESOURCES / BASIS_FILE if path is None else path
    basis = compute_basis(vertices, faces, landmark_idx)
    atomic_savez(
        path,
        {"basis": basis, "key": np.array(template_key(vertices, faces, landmark_idx))},
        compressed=True,
    )
