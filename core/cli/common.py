"""Arguments shared by several command families (data set, threads, project folders)."""

from __future__ import annotations

__all__ = ["add_data_args", "load_data", "set_threads"]


def add_data_args(p) -> None:
    """``--identities --mixtures --data-seed --cache``: which synthesised data set to use."""
    from core.data.synth import SynthConfig

    d = SynthConfig()
    p.add_argument("--identities", type=int, default=d.n_identities, help="synthesised identities")
    p.add_argument(
        "--mixtures",
        type=int,
        default=d.mixtures_per_identity,
        help="random action+bone mixtures per identity (plus the deformation families "
        "of core/data/families.py, SynthConfig defaults)",
    )
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="data cache folder (default ~/.cache/…)")


def load_data(args):
    """The synthesised data set selected by :func:`add_data_args` (generated on first use)."""
    from core.data.synth import SynthConfig, load_synth

    cfg = SynthConfig(
        n_identities=args.identities, mixtures_per_identity=args.mixtures, seed=args.data_seed
    )
    return load_synth(cfg, cache_dir=args.cache)


def set_threads(args) -> None:
    """Apply ``--threads`` (torch CPU threads) when given."""
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(int(args.threads))
