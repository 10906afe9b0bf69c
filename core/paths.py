"""Folders of the project: every path constant of the core comes from here.

ROOT is the repository (or installed tree) root; RESOURCES the shipped face, landmarks,
hierarchy and priors; MODELS the shipped weights; DOCS the documentation that the evaluation
commands rewrite; :func:`user_cache_dir` the per-user cache (data sets, traces, the studio log).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ROOT", "RESOURCES", "MODELS", "DOCS", "user_cache_dir"]

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
MODELS = ROOT / "models"
DOCS = ROOT / "docs"


def user_cache_dir() -> Path:
    """``~/.cache/sparse2dense-studio`` (looked up at call time: tests move ``HOME``)."""
    return Path.home() / ".cache" / "sparse2dense-studio"
