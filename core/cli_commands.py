"""Sub-commands of the CLI beyond build-assets (registered by :func:`register`)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the sub-commands to an argparse sub-parser collection."""
