"""Headless command line: ``python main.py <command> …`` (no Qt is imported here).

One module per command family, each with a ``register(sub)`` that adds its sub-commands:

- :mod:`core.cli.assets`: ``build-assets``, ``info``
- :mod:`core.cli.decoder`: ``decode``, ``train-decoder``
- :mod:`core.cli.motion`: ``generate``, ``interpolate``
- :mod:`core.cli.motion_train`: ``train-gan``, ``train-classifier``
- :mod:`core.cli.evaluate`: ``evaluate``, ``evaluate-motion``
- :mod:`core.cli.bench`: ``bench decoder|generate``
- :mod:`core.cli.sculpt`: ``build-prior``
- :mod:`core.cli.replay`: ``replay`` (a studio export from its manifest)
- :mod:`core.cli.speech`: ``speak``, ``train-speech``, ``evaluate-speech``, ``build-speech-rig``
- :mod:`core.cli.apps`: ``sequence``, ``transfer``, ``face``, ``neutralize``,
  ``build-face-basis``, ``build-transfer-model``, ``evaluate-apps``
- :mod:`core.cli.fit`: ``fit`` (any face mesh -> FIT.npz; also ``--neutral``/``--mesh`` of
  another topology for ``generate``, ``interpolate`` and ``decode``)

The commands parse arguments and call plain functions of ``core`` with typed arguments; the
CLI is the top layer of ``core`` (``tests/test_import_layers.py``).
"""

from __future__ import annotations

import argparse
import sys

from core.errors import S2DError

__all__ = ["run_cli", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``main.py`` parser with every sub-command registered."""
    from core.cli import (
        apps,
        assets,
        bench,
        decoder,
        evaluate,
        fit,
        motion,
        motion_train,
        replay,
        sculpt,
        speech,
    )

    p = argparse.ArgumentParser(prog="main.py", description="Sparse2Dense Studio (headless)")
    sub = p.add_subparsers(dest="command", required=True)
    for family in (
        assets,
        decoder,
        evaluate,
        bench,
        motion,
        motion_train,
        sculpt,
        replay,
        speech,
        apps,
        fit,
    ):
        family.register(sub)
    return p


def run_cli(argv: list[str]) -> int:
    """Run one command; a domain error prints one line and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except S2DError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
