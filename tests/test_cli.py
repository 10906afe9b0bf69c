"""The CLI package: every command family registers, parses, and calls typed core functions."""

from __future__ import annotations

import inspect

import pytest

from core.cli import build_parser, run_cli

#: Commands of this package's families; other families may add more.
COMMANDS = (
    "build-assets",
    "info",
    "decode",
    "train-decoder",
    "generate",
    "interpolate",
    "train-gan",
    "train-classifier",
    "evaluate",
    "evaluate-motion",
    "evaluate-generalization",
    "bench",
    "build-prior",
    "sequence",
    "transfer",
    "face",
    "neutralize",
    "build-face-basis",
    "build-transfer-model",
    "evaluate-apps",
)


def _registered() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def test_the_command_families_are_registered():
    assert set(COMMANDS) <= set(_registered())


@pytest.mark.parametrize("command", _registered())
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        run_cli([command, "--help"])
    assert exc.value.code == 0
    assert command in capsys.readouterr().out


def test_bench_generate_parses_to_a_defined_function():
    args = build_parser().parse_args(["bench", "generate", "--runs", "1"])
    from core.bench import bench_generate

    assert args.what == "generate" and callable(bench_generate)


def test_evaluation_takes_typed_arguments_not_a_namespace():
    from core.eval.motion_report import MotionEvalConfig, run_motion_evaluation
    from core.eval.report import run_evaluation

    assert list(inspect.signature(run_evaluation).parameters) == [
        "data",
        "out",
        "max_test_frames",
        "max_train_frames",
        "expression_steps",
    ]
    assert list(inspect.signature(run_motion_evaluation).parameters) == ["data", "cfg"]
    assert "docs" in {f for f in MotionEvalConfig.__dataclass_fields__}


def test_a_domain_error_is_one_line_and_exit_2(tmp_path, capsys):
    rc = run_cli(
        ["decode", "--input", str(tmp_path / "missing.npz"), "--output", str(tmp_path / "out.npz")]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "out.npz").exists()
