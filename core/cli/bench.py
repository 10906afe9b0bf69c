"""``python main.py bench decoder|generate``: speed of the shipped models on this machine."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "cmd_bench"]


def register(sub) -> None:
    """Add ``bench``."""
    p = sub.add_parser("bench", help="speed of the shipped models (decoder, generate)")
    p.add_argument("what", choices=("decoder", "generate"))
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="write the results as JSON")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from core.bench import bench_decoder, bench_generate, machine_info

    result = {"machine": machine_info(args.device)}
    if args.what == "decoder":
        result["decoder"] = bench_decoder(args.runs, args.device)
    else:
        result["generate"] = bench_generate(args.runs, args.device)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0
