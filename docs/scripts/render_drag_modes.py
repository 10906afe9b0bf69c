"""docs/figures/drag_modes.png: 10 mm drags of single landmarks, direct vs smooth mode.

Each column drags one landmark 10 mm in the frontal plane on the default face. Top row: that
landmark alone (*direct*) decoded without the fold repair (``S2DPipeline.decode``, the studio
before the eighth session); middle row: the same drag decoded as the studio decodes it now (per-edit
gate and fold repair, ``core.edit.residual.decode_as_edit``); bottom row: the landmarks
within ``core.sculpt.SMOOTH_RADIUS`` follow (*smooth*, the studio's default), decoded as the
studio does. Triangles that turned over are drawn dark red; their count is in the title.

Run: python docs/scripts/render_drag_modes.py [--weights W] [--out PNG]
"""

import argparse

import numpy as np
import pyvista as pv
from _render import ROOT, SKIN, grid, polydata, save

from core.assets import load_face, load_landmarks
from core.edit.residual import decode_as_edit
from core.geometry.fold_repair import flipped_faces
from core.pipeline import DEFAULT_DECODER, S2DPipeline
from core.sculpt import DragPlan

#: (landmark, drag direction, caption)
DRAGS = [
    (57, (0.0, 0.0, -1.0), "lower lip 57 down"),
    (48, (-1.0, 0.0, 0.0), "mouth corner 48 out"),
    (62, (1.0, 0.0, 0.0), "inner lip 62 sideways"),
    (41, (0.0, 0.0, 1.0), "lower eyelid 41 up"),
    (19, (0.0, 0.0, 1.0), "brow 19 up"),
]


def _view(v, faces, flipped, points, moved, title, focus):
    pl = pv.Plotter(off_screen=True, window_size=(300, 300), lighting="three lights")
    pl.set_background("white")
    mesh = polydata(v, faces)
    colors = np.tile(np.array(SKIN) * 255, (len(faces), 1)).astype(np.uint8)
    colors[flipped] = (120, 0, 0)
    mesh.cell_data["rgb"] = colors
    pl.add_mesh(mesh, scalars="rgb", rgb=True, smooth_shading=False, specular=0.15)
    pl.add_points(points, color="steelblue", point_size=6, render_points_as_spheres=True)
    if len(moved):
        pl.add_points(points[moved], color="crimson", point_size=8, render_points_as_spheres=True)
    pl.camera_position = "xz"
    pl.reset_camera()
    pl.camera.focal_point = focus
    pl.camera.position = (focus[0], focus[1] - 0.25, focus[2])
    pl.camera.view_angle = 16.0
    pl.add_text(title, font_size=8, color="black")
    img = pl.screenshot(return_img=True)
    pl.close()
    return img


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default=str(DEFAULT_DECODER))
    p.add_argument("--out", default=str(ROOT / "docs" / "figures" / "drag_modes.png"))
    args = p.parse_args()
    face, lms = load_face(), load_landmarks()
    pipe = S2DPipeline.load(args.weights, device="cpu")
    v0 = face.vertices.astype(np.float64)
    p0 = v0[lms.indices]
    rows = {"direct, no repair": [], "direct": [], "smooth": []}
    for k, vec, caption in DRAGS:
        drag = 0.010 * np.asarray(vec)
        for row in rows:
            mode = row.split(",")[0]
            plan = DragPlan(k, lms.mirror, mode, positions=p0)
            target = p0 + plan.delta(drag)
            t = target[None].astype(np.float32)
            if row == "direct, no repair":
                v = pipe.decode(face.vertices, t)[0]
            else:
                v = decode_as_edit(pipe, face.vertices, t)[0]
            flipped = flipped_faces(v0, v, face.faces)
            moved = np.flatnonzero(np.abs(target - p0).max(1) > 1e-6)
            title = f"{row}: {caption}\n{int(flipped.sum())} flipped"
            rows[row].append(_view(v, face.faces, flipped, target, moved, title, p0[k]))
    save(grid(sum(rows.values(), []), len(DRAGS)), args.out)


if __name__ == "__main__":
    main()
