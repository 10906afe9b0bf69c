"""Folders of the project: every path constant of the core comes from here.

ROOT is the repository (or installed tree) root; RESOURCES the shipped face, landmarks,
hierarchy and priors; MODELS the shipped weights; DOCS the documentation that the evaluation
commands rewrite.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ROOT", "RESOURCES", "MODELS", "DOCS"]

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
MODELS = ROOT / "models"
DOCS = ROOT / "docs"
