"""``python main.py evaluate``'s bookkeeping: stale models are skipped and said so, rows are
named from the weights' metadata, and the findings quote the measured figures."""

from types import SimpleNamespace

from core.eval.report import _markdown, _row_name, _stale


def test_models_trained_on_other_data_are_stale():
    data = SimpleNamespace(config=SimpleNamespace(n_identities=320, seed=0))
    assert not _stale({"data": {"n_identities": 320, "seed": 0}}, data)
    assert _stale({"data": {"n_identities": 240, "seed": 0}}, data)
    assert _stale({}, data)  # no record of its data: not comparable


def test_the_default_row_is_named_from_its_metadata():
    meta = {
        "train_config": {"linear_skip": True, "landmark_residual": True, "steps": 450},
        "gate_config": {"rank": 62},
    }
    name = _row_name("S2D-Dec+ (default: anything)", meta)
    assert name == (
        "S2D-Dec+ (default: S3 loss, linear shortcut, biharmonic residual + gate, 450 steps)"
    )
    assert _row_name("ablation S1", meta) == "ablation S1"


def test_markdown_lists_skipped_models_and_quotes_the_figures():
    row = {"all_mean": 0.1, "all_std": 0.2, "face_mean": 0.107, "face_std": 0.2}
    split = {
        "n_train_frames": 100,
        "n_baseline_train_frames": 60,
        "n_test_frames": 10,
        "mean_motion_mm": {"all": 1.0, "face": 1.5},
        "nonlinearity": {"train_residual_pct": 8.0, "test_residual_pct": 11.8},
        "rows": {
            "S2D-Dec+ (default: x)": row,
            "Ridge regression (linear map)": {**row, "face_mean": 0.109},
            "PCA-220 fit to landmarks": {**row, "face_mean": 0.124},
        },
        "skipped": ["ablation S1 (`id_S1.safetensors`: stale, trained on older data)"],
        "baseline_lambdas": {"ridge": 1e-7},
    }
    md = _markdown({"data": {"seed": 0}, "seconds": 600, "splits": {"identity": split}})
    assert "Not evaluated: ablation S1 (`id_S1.safetensors`: stale" in md
    assert "(baselines fitted on a seeded subset of 60)" in md
    assert "0.107 mm on the face region against 0.109 mm for ridge" in md
    assert "leaves 12 % of the dense motion" in md
