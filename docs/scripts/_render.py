"""Off-screen rendering helpers for the documentation figures (pyvista on EGL, no display)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402
import pyvista as pv  # noqa: E402

pv.global_theme.multi_samples = 0
SKIN = (0.86, 0.70, 0.58)


def polydata(vertices, faces):
    f = np.hstack([np.full((len(faces), 1), 3), faces]).ravel()
    return pv.PolyData(np.asarray(vertices, np.float32), f)


def render(
    vertices,
    faces,
    points=None,
    azimuth=0.0,
    size=(360, 400),
    title=None,
    zoom=1.45,
    point_color="crimson",
    labels=None,
):
    pl = pv.Plotter(off_screen=True, window_size=size, lighting="three lights")
    pl.set_background("white")
    pl.add_mesh(polydata(vertices, faces), color=SKIN, smooth_shading=True, specular=0.15)
    if points is not None:
        pl.add_points(
            np.asarray(points), color=point_color, point_size=7, render_points_as_spheres=True
        )
        if labels is not None:
            pl.add_point_labels(
                np.asarray(points),
                labels,
                font_size=8,
                point_size=1,
                shape_opacity=0.0,
                always_visible=True,
            )
    pl.camera_position = "xz"
    pl.camera.azimuth = azimuth
    pl.reset_camera()
    pl.camera.zoom(zoom)
    if title:
        pl.add_text(title, font_size=9, color="black")
    img = pl.screenshot(return_img=True)
    pl.close()
    return img


def grid(images, cols):
    rows = []
    blank = np.full_like(images[0], 255)
    for i in range(0, len(images), cols):
        row = list(images[i : i + cols])
        row += [blank] * (cols - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def save(img, path):
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, img)
    print("wrote", path)
