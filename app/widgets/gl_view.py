"""The studio's VTK view widget: pyvistaqt's ``QtInteractor`` with a cheaper frame hand-over.

pyvistaqt renders VTK into VTK's own framebuffer, then (``paintGL`` -> ``_blit``) blits it into
the ``QOpenGLWidget``'s framebuffer with ``GL_LINEAR`` and clears the alpha channel to 1 so
that compositors do not blend the window with what is behind it. On a CPU rasteriser
(llvmpipe) both are full-frame shader passes: 2-4 ms of CPU time per frame at 855x780 (the
frame costs of ``tests/benchmarks/bench_gui.py``, in ``docs/studio.md``). :class:`StudioInteractor` skips them when they cannot change
a pixel:

* VTK's frame has exactly the widget's size in device pixels, so a ``GL_NEAREST`` blit reads
  the same texels as ``GL_LINEAR`` does (every sample lands on a texel centre) and Mesa
  copies it without a shader;
* the renderers of the bottom layer tile the whole frame (one full-viewport renderer, or a
  grid of them) and clear to an opaque background (:func:`opaque_background`); opaque
  geometry writes alpha 1, and VTK blends translucent geometry with
  ``glBlendFuncSeparate(..., ONE, ONE_MINUS_SRC_ALPHA)``, which keeps a destination alpha of 1
  at 1. The alpha clear is then a no-op.

Otherwise (a transparent background, a part of the frame no renderer clears, a size
mismatch) it falls back to pyvistaqt's hand-over. ``tests/test_app_window.py`` compares both
hand-overs pixel for pixel, for the main view and for the compare grid.
"""

from __future__ import annotations

import itertools

from pyvistaqt import QtInteractor

__all__ = ["StudioInteractor", "opaque_background", "tiles_opaquely"]

_GL_DRAW_FRAMEBUFFER = 0x8CA9
_GL_COLOR_BUFFER_BIT = 0x00004000
_GL_NEAREST = 0x2600
_GL_SCISSOR_TEST = 0x0C11


def opaque_background(plotter) -> None:
    """Make every renderer of ``plotter`` clear to an opaque background (alpha 1)."""
    for renderer in plotter.renderers:
        renderer.SetBackgroundAlpha(1.0)


def tiles_opaquely(render_window) -> bool:
    """Whether the bottom-layer renderers of ``render_window`` clear every pixel of the frame to
    an opaque background: each erases with background alpha 1, and every cell of the grid their
    viewport edges make lies inside one of them."""
    collection = render_window.GetRenderers()
    collection.InitTraversal()
    boxes = []
    for _ in range(collection.GetNumberOfItems()):
        ren = collection.GetNextItem()
        if ren.GetLayer() != 0:
            continue  # overlays draw over the frame; they do not clear its colour
        if not ren.GetErase() or ren.GetBackgroundAlpha() < 1.0:
            return False
        boxes.append(tuple(ren.GetViewport()))  # (xmin, ymin, xmax, ymax), normalised
    if not boxes:
        return False
    xs = sorted({0.0, 1.0, *(b[0] for b in boxes), *(b[2] for b in boxes)})
    ys = sorted({0.0, 1.0, *(b[1] for b in boxes), *(b[3] for b in boxes)})
    for x0, x1 in itertools.pairwise(xs):
        for y0, y1 in itertools.pairwise(ys):
            if x1 <= 0.0 or x0 >= 1.0 or y1 <= 0.0 or y0 >= 1.0:
                continue  # outside the frame
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes):
                return False
    return True


class StudioInteractor(QtInteractor):
    """``QtInteractor`` whose frame hand-over is a plain copy when that is exact (see the
    module docstring). ``fast_handovers`` counts the frames handed over that way."""

    fast_handovers = 0
    #: False forces pyvistaqt's hand-over (tests compare the two).
    fast_handover_enabled = True

    def _fast_handover_ok(self, rect) -> bool:
        rw = getattr(self, "_RenderWindow", None)
        if not self.fast_handover_enabled or rw is None or getattr(self, "_gl", None) is None:
            return False
        if tuple(rw.GetSize()) != (rect.width(), rect.height()) or rect.x() or rect.y():
            return False
        return tiles_opaquely(rw)

    def _blit(self, target_id, rect):
        if not self._fast_handover_ok(rect):
            return super()._blit(target_id, rect)
        rw, f = self._RenderWindow, self._gl
        f.glBindFramebuffer(_GL_DRAW_FRAMEBUFFER, target_id)
        f.draw_buffer_attachment0()
        scissor = bool(f.glIsEnabled(_GL_SCISSOR_TEST))
        if scissor:  # the scissor test applies to glBlitFramebuffer
            rw.GetState().vtkglDisable(_GL_SCISSOR_TEST)
            f.glDisable(_GL_SCISSOR_TEST)
        w, h = rw.GetSize()
        rw.BlitDisplayFramebuffer(0, 0, 0, w, h, 0, 0, w, h, _GL_COLOR_BUFFER_BIT, _GL_NEAREST)
        if scissor:
            rw.GetState().vtkglEnable(_GL_SCISSOR_TEST)
            f.glEnable(_GL_SCISSOR_TEST)
        self.fast_handovers += 1
        return None
