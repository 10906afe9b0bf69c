"""Glossary consistency: the landmark count is one constant; L is never the spiral length."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_literal_68_appears_only_in_core_glossary():
    bad = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if path.name == "glossary.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value == 68:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "use core.glossary.N_LANDMARKS (or MOUTH, INNER_LIPS):\n" + "\n".join(bad)


def test_the_glossary_constants():
    from core.glossary import INNER_LIPS, LANDMARK_DIMS, MOUTH, N_LANDMARKS

    assert (N_LANDMARKS, LANDMARK_DIMS) == (68, 204)
    assert len(range(N_LANDMARKS)[MOUTH]) == 20 and len(range(N_LANDMARKS)[INNER_LIPS]) == 8


def test_spiral_length_is_s_not_l():
    pattern = re.compile(r"\(V, L\)|\bL \* C|\bL\*C|V\*L\b")
    bad = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in sorted((ROOT / "core").rglob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not bad, "the spiral length is S (core/glossary.py); L is a curve length:\n" + "\n".join(
        bad
    )
