"""Sculpting in the core: the edit model, the residual decode and the replay of studio exports.

- :mod:`core.edit.model`: landmark offsets on a base motion as an ordered list of edits
  (:class:`~core.edit.model.DragEdit`, :class:`~core.edit.model.ResetEdit`);
- :mod:`core.edit.residual`: ``V = V_ref + (D(X) - D(X_ref))``, used by generation and edits;
- :mod:`core.edit.replay`: ``python main.py replay manifest.json --out DIR``.

The drag maths (prior, symmetry, pins, temporal falloff) is :mod:`core.sculpt`.
"""
