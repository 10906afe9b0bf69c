"""Sparse2Dense Studio entry point.

``python main.py`` opens the studio; ``python main.py <command> --help`` lists the headless
commands (info, decode, generate, interpolate, train, evaluate, bench, build-assets, …).
"""

from __future__ import annotations

import sys


def _tune_process() -> None:
    """Before torch is imported: keep large tensors on the heap (glibc), see core.runtime."""
    from core.runtime import tune_malloc

    tune_malloc()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _tune_process()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        from app.main import run_app

        return run_app(argv)
    from core.cli import run_cli

    return run_cli(argv)


if __name__ == "__main__":
    sys.exit(main())
