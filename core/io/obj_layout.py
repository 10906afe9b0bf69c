"""An OBJ's own polygons and materials, kept so exports can be written in the user's layout.

Readers fan-triangulate every polygon in file order (``(p0, p1, p2), (p0, p2, p3), ...``), so the
triangles plus the corner count of each polygon give the polygons back exactly
(:func:`polygon_corners`); the same holds for the per-corner UV indices. :class:`ObjLayout` holds
those counts, the ``mtllib`` names, the ``usemtl``/``g``/``o``/``s`` lines with the polygon they
precede, and the OBJ's folder. :func:`polygon_block` writes the ``f`` lines back and
:func:`copy_materials` copies the ``.mtl`` files and the textures they name (only files inside
the OBJ's folder) into an export folder; :func:`write_embedded_materials` writes a ``.mtl``
(and PNG textures) for the materials a glTF/GLB input carries inside itself.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "ObjLayout",
    "polygon_corners",
    "polygon_block",
    "copy_materials",
    "MtlMaterial",
    "read_materials",
    "material_groups",
    "write_embedded_materials",
    "MAP_KEYS",
]

#: ``.mtl`` statements whose last token is a texture file name.
MAP_KEYS = frozenset(
    b"map_ka map_kd map_ks map_ke map_ns map_d map_bump bump disp decal refl norm map_pr map_pm".split()
)
#: A ``.mtl`` larger than this is not a material library (copied files are read whole).
_MAX_MTL_BYTES = 16 * 2**20
#: Textures larger than this are not copied.
_MAX_TEXTURE_BYTES = 512 * 2**20


@dataclass(frozen=True, eq=False)
class ObjLayout:
    """How an OBJ's triangles group into its polygons, and its materials.

    Attributes
    ----------
    sizes : (P,) int64
        Corners of each polygon in file order (>= 3); ``sum(sizes - 2)`` = F triangles.
    mtllib : tuple of str
        Material library names as written after ``mtllib``.
    marks : tuple of (int, str)
        ``usemtl``/``g``/``o``/``s`` lines (text as read) and the polygon index they precede
        (P for lines after the last polygon).
    folder : str or None
        The OBJ's folder, where its ``.mtl`` files are looked for.
    embedded : tuple of MtlMaterial
        Materials carried inside the file itself (glTF/GLB input), named by its ``usemtl``
        marks; they come before any ``.mtl`` material of the same name.
    """

    sizes: np.ndarray
    mtllib: tuple[str, ...] = ()
    marks: tuple[tuple[int, str], ...] = ()
    folder: str | None = None
    embedded: tuple[MtlMaterial, ...] = ()

    @property
    def n_triangles(self) -> int:
        """Triangles of the fan triangulation, F."""
        return int((self.sizes - 2).sum())

    @property
    def trivial(self) -> bool:
        """True when the layout adds nothing to the triangles (all triangles, no materials)."""
        return bool((self.sizes == 3).all()) and not self.mtllib and not self.marks

    def fits(self, faces: np.ndarray) -> bool:
        """Whether ``faces (F, 3)`` can be the fan triangulation of these polygons."""
        return len(faces) == self.n_triangles


def polygon_corners(tris: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Fan triangles ``(F, 3)`` + corner counts ``(P,)`` -> the polygons' corners ``(C,)``.

    ``C = sizes.sum()``; polygon ``p`` is ``out[offsets[p]:offsets[p] + sizes[p]]`` with
    ``offsets = cumsum(sizes) - sizes``. Works for vertex and UV indices alike.
    """
    sizes = np.asarray(sizes, np.int64)
    first_tri = np.cumsum(sizes - 2) - (sizes - 2)  # (P,) the triangle each polygon starts at
    owner = np.repeat(np.arange(len(sizes)), sizes)  # (C,) polygon of each corner
    j = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # corner in poly
    tri = first_tri[owner] + np.maximum(j - 2, 0)  # corner j >= 2 is the 3rd corner of tri j-2
    col = np.minimum(j, 2)
    return np.asarray(tris)[tri, col]


def polygon_block(
    layout: ObjLayout, faces: np.ndarray, face_uv: np.ndarray | None, normals: bool
) -> str:
    """The ``f`` lines (with the ``usemtl``/``g``/``o``/``s`` lines between them) of an OBJ.

    Parameters
    ----------
    faces : (F, 3) int64, 0-based fan triangles of ``layout``
    face_uv : (F, 3) int64 or None, 0-based per-corner UV indices
    normals : bool, corners reference ``vn`` = their vertex (``v/vt/v`` or ``v//v``)
    """
    sizes = layout.sizes
    cols = [polygon_corners(faces, sizes) + 1]  # (C,) 1-based
    if face_uv is not None:
        cols.append(polygon_corners(face_uv, sizes) + 1)
    piece = "%d"
    if face_uv is not None and normals:
        cols.append(cols[0])
        piece = "%d/%d/%d"
    elif face_uv is not None:
        piece = "%d/%d"
    elif normals:
        cols.append(cols[0])
        piece = "%d//%d"
    values = np.stack(cols, axis=1)  # (C, k)
    ends = np.cumsum(sizes)  # (P,) one past each polygon's last corner
    out, start_poly = [], 0
    marks = sorted(layout.marks, key=lambda m: m[0])
    for p, text in [*marks, (len(sizes), None)]:
        p = min(max(p, start_poly), len(sizes))
        if p > start_poly:
            out.append(
                _polygons_text(
                    piece, values, sizes[start_poly:p], ends[start_poly] - sizes[start_poly]
                )
            )
            start_poly = p
        if text is not None:
            out.append(text + "\n")
    return "".join(out)


def _polygons_text(piece: str, values: np.ndarray, sizes: np.ndarray, c0: int) -> str:
    """``f`` lines of consecutive polygons of ``sizes`` whose corners start at row ``c0``."""
    n = int(sizes.sum())
    kind = np.zeros(n, np.int64)  # 0 middle corner, 1 first, 2 last
    starts = np.cumsum(sizes) - sizes
    kind[starts] = 1
    kind[starts + sizes - 1] = 2
    variants = np.array([piece + " ", "f " + piece + " ", piece + "\n"], dtype=object)
    fmt = "".join(variants[kind].tolist())
    return fmt % tuple(values[c0 : c0 + n].ravel().tolist())


def _inside(path: Path, folder: Path) -> Path | None:
    """``path`` resolved when it is a regular file inside ``folder`` (else None)."""
    try:
        real = path.resolve()
        if real.is_relative_to(folder.resolve()) and real.is_file():
            return real
    except (OSError, ValueError):
        pass
    return None


def copy_materials(layout: ObjLayout, dest: Path) -> tuple[list[str], list[str]]:
    """Copy the OBJ's ``.mtl`` files and their textures into ``dest``; names as written there.

    Each file is written under its base name; texture references in a copied ``.mtl`` are
    rewritten to those base names. Files outside the OBJ's folder, missing, too large or
    clashing with a name already taken are skipped.

    Returns
    -------
    (mtllib names for the OBJ header, all file names copied into ``dest``)
    """
    if layout.folder is None or not layout.mtllib:
        return [], []
    folder = Path(layout.folder)
    taken: dict[str, Path] = {}
    libs: list[str] = []

    def claim(src: Path) -> str | None:
        name = src.name
        if name.startswith(".") or name == "manifest.json" or name.lower().endswith(".obj"):
            return None
        if name in taken:
            return name if taken[name] == src else None
        taken[name] = src
        return name

    for lib in layout.mtllib:
        src = _inside(folder / lib, folder)
        if src is None or src.stat().st_size > _MAX_MTL_BYTES:
            continue
        name = claim(src)
        if name is None:
            continue
        lines = []
        for line in src.read_bytes().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].lower() in MAP_KEYS:
                tex = _inside(src.parent / parts[-1].decode("utf-8", "replace"), folder)
                if tex is not None and tex.stat().st_size <= _MAX_TEXTURE_BYTES:
                    tex_name = claim(tex)
                    if tex_name is not None:
                        shutil.copyfile(tex, dest / tex_name)
                        line = b" ".join([*parts[:-1], tex_name.encode("utf-8")])
            lines.append(line)
        (dest / name).write_bytes(b"\n".join(lines) + b"\n")
        libs.append(name)
    return libs, sorted(taken)


@dataclass(frozen=True, eq=False)
class MtlMaterial:
    """One ``newmtl`` of an OBJ's ``.mtl``: ``name``, ``color`` (Kd, 3 floats) or None,
    ``texture`` (bytes, "image/png" or "image/jpeg") of its ``map_Kd`` or None."""

    name: str
    color: tuple[float, float, float] | None = None
    texture: tuple[bytes, str] | None = None


def _image(path: Path | None) -> tuple[bytes, str] | None:
    if path is None or path.stat().st_size > _MAX_TEXTURE_BYTES:
        return None
    data = path.read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data, "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return data, "image/jpeg"
    return None


def read_materials(layout: ObjLayout) -> dict[str, MtlMaterial]:
    """The materials of the OBJ's ``.mtl`` files (inside its folder) by name, after those
    embedded in the file (glTF/GLB)."""
    out: dict[str, MtlMaterial] = {m.name: m for m in layout.embedded}
    if layout.folder is None:
        return out
    folder = Path(layout.folder)
    for lib in layout.mtllib:
        src = _inside(folder / lib, folder)
        if src is None or src.stat().st_size > _MAX_MTL_BYTES:
            continue
        name, color, tex = None, None, None
        for line in [*src.read_bytes().splitlines(), b"newmtl"]:
            parts = line.split()
            if parts[:1] == [b"newmtl"]:
                if name is not None:
                    out.setdefault(name, MtlMaterial(name, color, tex))
                name = b" ".join(parts[1:]).decode("utf-8", "replace")
                color = tex = None
            elif len(parts) >= 4 and parts[0] == b"Kd":
                try:
                    color = tuple(min(max(float(x), 0.0), 1.0) for x in parts[1:4])
                except ValueError:
                    color = None
            elif len(parts) >= 2 and parts[0].lower() == b"map_kd":
                tex = _image(_inside(src.parent / parts[-1].decode("utf-8", "replace"), folder))
    return out


def material_groups(
    layout: ObjLayout | None, n_faces: int
) -> tuple[list[MtlMaterial], np.ndarray] | None:
    """The materials the OBJ's triangles use, in order of first use, and the material of each
    fan triangle ``(F,)`` int; None without ``usemtl`` lines or a layout of other faces.
    Triangles before the first ``usemtl`` get a material named ``default``."""
    if layout is None or layout.n_triangles != n_faces:
        return None
    used = sorted((p, t.split(None, 1)[1]) for p, t in layout.marks if t.startswith("usemtl "))
    if not used:
        return None
    starts = np.array([p for p, _ in used], np.int64)
    which = np.searchsorted(starts, np.arange(len(layout.sizes)), side="right") - 1  # (P,)
    distinct = list(dict.fromkeys(["default"] + [n for _, n in used]))
    name_id = np.array([0] + [distinct.index(n) for _, n in used])  # per usemtl (+ before)
    tri_id = np.repeat(name_id[which + 1], layout.sizes - 2)  # (F,) index into distinct
    ids, first = np.unique(tri_id, return_index=True)
    order = ids[np.argsort(first)]  # in order of first use
    remap = np.zeros(len(distinct), np.int64)
    remap[order] = np.arange(len(order))
    known = read_materials(layout)
    return [known.get(distinct[i], MtlMaterial(distinct[i])) for i in order], remap[tri_id]


#: The ``.mtl`` written for a glTF/GLB face's own materials (:func:`write_embedded_materials`).
EMBEDDED_MTL = "materials.mtl"


def _safe_name(name: str) -> str:
    """``name`` with every character outside ``[A-Za-z0-9_.-]`` made ``_`` (no leading dot)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "material"


def _png(texture: tuple[bytes, str]) -> bytes:
    """The image as PNG bytes: PNG as is, anything else decoded and re-encoded by imageio."""
    data, mime = texture
    if mime == "image/png":
        return data
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", iio.imread(io.BytesIO(data)), extension=".png")


def write_embedded_materials(
    layout: ObjLayout, dest: Path, taken: set[str]
) -> tuple[ObjLayout, list[str], list[str]]:
    """Write the materials a glTF/GLB face carries (``layout.embedded``) as one ``.mtl`` in
    ``dest``, each texture once next to it as ``<material>.png``.

    Material names are made safe for OBJ/MTL tools (``[A-Za-z0-9_.-]``, unique), and the
    ``usemtl`` lines of the returned layout use those names. Each material gets ``Kd`` from its
    base colour and ``map_Kd`` for its texture. ``taken`` holds file names already used in
    ``dest`` (frames, manifest, copies); the names written are added to it.

    Returns
    -------
    (layout with renamed ``usemtl`` lines, mtllib names for the OBJ header, file names written)
    """
    if not layout.embedded:
        return layout, [], []
    mtl, k = EMBEDDED_MTL, 1
    while mtl in taken:
        k += 1
        mtl = f"materials_{k}.mtl"
    taken.add(mtl)
    rename: dict[str, str] = {}
    used: set[str] = set()
    lines, files = [], [mtl]
    for m in layout.embedded:
        base = name = _safe_name(m.name)
        k = 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        rename[m.name] = name
        lines.append(f"newmtl {name}")
        if m.color is not None:
            r, g, b = m.color
            lines.append(f"Kd {r:.6f} {g:.6f} {b:.6f}")
        if m.texture is not None:
            tex, k = f"{name}.png", 1
            while tex in taken:
                k += 1
                tex = f"{name}_{k}.png"
            taken.add(tex)
            (dest / tex).write_bytes(_png(m.texture))
            files.append(tex)
            lines.append(f"map_Kd {tex}")
        lines.append("")
    (dest / mtl).write_text("\n".join(lines), encoding="ascii")
    marks = []
    for p, text in layout.marks:
        if text.startswith("usemtl "):
            old = text.split(None, 1)[1]
            text = f"usemtl {rename.get(old, _safe_name(old))}"
        marks.append((p, text))
    return replace(layout, marks=tuple(marks)), [mtl], sorted(files)
