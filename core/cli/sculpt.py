"""``python main.py build-prior``: rebuild the studio's landmark prior (``core.sculpt``)."""

from __future__ import annotations

__all__ = ["register", "cmd_build_prior"]


def register(sub) -> None:
    """Add ``build-prior``."""
    from core.sculpt import DEFAULT_RIDGE

    p = sub.add_parser(
        "build-prior", help="rebuild resources/landmark_prior.npz from the synthesised data"
    )
    p.add_argument("--ridge", type=float, default=DEFAULT_RIDGE)
    p.add_argument("--out", default=None, help="output npz (default resources/landmark_prior.npz)")
    p.set_defaults(func=cmd_build_prior)


def cmd_build_prior(args) -> int:
    from core.assets import load_landmarks
    from core.data.synth import load_synth
    from core.paths import RESOURCES
    from core.sculpt import PRIOR_NAME, build_landmark_prior, save_landmark_prior

    lms = load_landmarks()
    prior = build_landmark_prior(load_synth(), ridge=args.ridge, mirror=lms.mirror)
    out = save_landmark_prior(args.out or RESOURCES / PRIOR_NAME, prior)
    print(f"wrote {out} ({prior['n_samples']} samples, ridge {prior['ridge']})")
    return 0
