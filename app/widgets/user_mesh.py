"""Show a face of another topology in the viewport: the user's own mesh, moved like the template.

The session animates the fitted template (template topology, template frame); this maps each
template-topology vertex array (V_t, 3) to the user's mesh in the same frame (V, 3), so the
landmarks, picking and camera stay as they are:
``user_in_template_frame + W @ (vertices - fitted_template)`` (``W`` the fit's binding matrix).
"""

from __future__ import annotations

import numpy as np

__all__ = ["UserMeshMap"]


class UserMeshMap:
    """Maps template-topology vertices (V_t, 3) to a user's mesh (V, 3), template frame."""

    def __init__(self, user) -> None:
        fit = user.fit
        self.user = user
        self.faces = np.asarray(user.mesh.faces, np.int64)
        self.base = fit.to_template.apply(user.mesh.vertices).astype(np.float32)  # (V, 3)
        self.template = fit.template_vertices.astype(np.float32)  # (V_t, 3)
        self.w = fit.binding.matrix(len(self.template)).astype(np.float32)  # (V, V_t)
        self.skin = np.ones(len(self.base), bool)

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """(V_t, 3) -> (V, 3) float32."""
        return self.base + self.w @ (np.asarray(vertices, np.float32) - self.template)
