"""Helpers of the 3-D views (no window needed): vertex normals and the frame hand-over's
coverage test."""

from __future__ import annotations

import numpy as np

from core.assets import load_face
from core.mesh.normals import VertexNormals


def reference_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals, the plain way: each face's cross product added to its
    three corners."""
    v = vertices.astype(np.float64)
    acc = np.zeros_like(v)
    for a, b, c in faces:
        n = np.cross(v[b] - v[a], v[c] - v[a])
        acc[[a, b, c]] += n
    return acc / np.linalg.norm(acc, axis=1, keepdims=True)


def test_vertex_normals_match_a_plain_reference_on_the_face():
    face = load_face()
    rng = np.random.default_rng(0)
    v = face.vertices + rng.normal(0, 0.001, face.vertices.shape)  # not the neutral exactly
    got = VertexNormals(face.faces, len(v))(v)
    assert got.dtype == np.float32 and got.shape == v.shape
    np.testing.assert_allclose(got, reference_normals(v, face.faces), atol=1e-4)  # float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_vertex_normals_of_a_cube_corner_and_an_unused_vertex():
    # three faces meeting at the origin, each with normal pointing out of the unit cube
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [5, 5, 5]], np.float32)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2]])  # normals -z, -y, -x
    n = VertexNormals(f, len(v))(v)
    np.testing.assert_allclose(n[0], -np.ones(3) / np.sqrt(3), atol=1e-6)
    np.testing.assert_allclose(n[3], [-1 / np.sqrt(2), -1 / np.sqrt(2), 0], atol=1e-6)
    assert np.all(np.isfinite(n)) and np.allclose(n[4], 0.0)  # no faces: zero, not NaN


def test_tiles_opaquely():
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - the render window factory
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow

    from app.widgets.gl_view import tiles_opaquely

    def window(viewports, alpha=1.0, layer1=False):
        rw = vtkRenderWindow()
        rw.SetOffScreenRendering(True)
        rw.SetNumberOfLayers(2)
        for vp in viewports:
            ren = vtkRenderer()
            ren.SetViewport(*vp)
            ren.SetBackgroundAlpha(alpha)
            rw.AddRenderer(ren)
        if layer1:  # a transparent overlay on layer 1 does not matter
            ren = vtkRenderer()
            ren.SetLayer(1)
            rw.AddRenderer(ren)
        return rw

    grid = [(c / 3, r / 3, (c + 1) / 3, (r + 1) / 3) for r in range(3) for c in range(3)]
    assert tiles_opaquely(window([(0, 0, 1, 1)]))
    assert tiles_opaquely(window(grid, layer1=True))
    assert not tiles_opaquely(window(grid[:-1]))  # one cell of the grid is never cleared
    assert not tiles_opaquely(window([(0, 0, 1, 1)], alpha=0.0))
    assert not tiles_opaquely(window([(0, 0, 0.5, 1), (0.5, 0, 1, 0.9)]))
    assert not tiles_opaquely(window([]))
