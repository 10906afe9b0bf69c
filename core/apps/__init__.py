"""Applications of the sparse-to-dense core (paper Sec. 4.4 and beyond).

- :mod:`core.apps.timeline`: several expressions chained into one animation;
- :mod:`core.apps.sources`: reading motions to transfer (mesh frames, landmark files);
- :mod:`core.apps.transfer`: performance transfer onto another face;
- :mod:`core.apps.face_basis`: the face creator's named sliders over a compact identity basis;
- :mod:`core.apps.neutralize`: the neutral face of an expressive face.

Nothing here imports Qt; the studio and the CLI call these functions.
"""
