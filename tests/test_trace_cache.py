"""core.trace_cache: a decoder trace made in one run is loaded (not traced) in the next, gives
the same faces, and a changed, damaged or disagreeing file is never used."""

import numpy as np
import pytest
import torch

from core.assets import load_face, load_landmarks
from core.mesh.hierarchy import MeshHierarchy
from core.models.linear_skip import SkipDecoder
from core.models.s2d_decoder import DecoderConfig, S2DDecoder
from core.paths import RESOURCES
from core.pipeline import S2DPipeline
from core.trace_cache import ENV, KEEP, TraceCache, default_trace_cache, module_digest


def _decoder(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    cfg = DecoderConfig.from_hierarchy(h, channels=(16, 8, 8, 8, 8), output_scale=0.05)
    dec = SkipDecoder(S2DDecoder(cfg, h)).eval()
    with torch.no_grad():
        for prm in dec.parameters():
            prm.normal_(0.0, 0.05)
    return dec


@pytest.fixture(scope="module")
def decoders():
    return _decoder(0), _decoder(1)


def _pipe(dec, cache, sizes=(1, 3)) -> S2DPipeline:
    p = S2DPipeline(dec, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})
    p.use_traced(sizes, cache=cache)
    return p


def _targets(pipe, n, seed=0):
    lm = pipe.face_landmarks(pipe.face.vertices)[None]
    rng = np.random.default_rng(seed)
    return (lm + 0.003 * rng.normal(size=(n, 68, 3))).astype(np.float32)


def _no_tracing(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("traced although the cache holds the trace")

    monkeypatch.setattr(torch.jit, "trace", refuse)


def test_a_cached_trace_is_loaded_and_decodes_the_same_faces(decoders, tmp_path, monkeypatch):
    cache = TraceCache(tmp_path / "traces")
    first = _pipe(decoders[0], cache)
    lm = _targets(first, 3)
    made = {b: first.decode(first.face.vertices, lm[:b]) for b in (1, 3)}
    files = sorted(f.name for f in cache.folder.iterdir())
    assert (
        len(files) == 2
        and files[0].startswith("decoder-b1-")
        and files[1].startswith("decoder-b3-")
    )
    _no_tracing(monkeypatch)
    second = _pipe(decoders[0], TraceCache(tmp_path / "traces"))
    for b in (1, 3):
        np.testing.assert_array_equal(second.decode(second.face.vertices, lm[:b]), made[b])
    assert second.trace_status() == {1: "traced", 3: "traced"}
    second.use_traced(())
    eager = second.decode(second.face.vertices, lm)
    np.testing.assert_allclose(made[3], eager, rtol=1e-5, atol=1e-7)


def test_other_weights_get_their_own_file_and_old_files_are_evicted(decoders, tmp_path):
    cache = TraceCache(tmp_path)
    a, b = decoders
    assert module_digest(a) != module_digest(b)
    assert cache.key(1, "cpu", ("x",)) != cache.key(3, "cpu", ("x",))
    assert cache.key(1, "cpu", ("x",)) != cache.key(1, "cuda", ("x",))
    for dec in (a, b):
        p = _pipe(dec, cache, sizes=(1,))
        p.decode(p.face.vertices, _targets(p, 1))
    assert len(list(tmp_path.glob("decoder-b1-*.pt"))) == 2
    for i in range(KEEP + 1):  # more weights than kept: the least recently used files go
        p = _pipe(_decoder(10 + i), cache, sizes=(1,))
        p.decode(p.face.vertices, _targets(p, 1))
    assert len(list(tmp_path.glob("decoder-b1-*.pt"))) == KEEP


def test_damaged_or_disagreeing_files_are_replaced_by_a_fresh_trace(decoders, tmp_path, caplog):
    cache = TraceCache(tmp_path)
    a, b = decoders
    pa = _pipe(a, cache, sizes=(1,))
    lm = _targets(pa, 1)
    pa.decode(pa.face.vertices, lm)
    (path,) = tmp_path.glob("decoder-b1-*.pt")
    eager = _pipe(a, None, sizes=()).decode(pa.face.vertices, lm)

    path.write_bytes(b"not a TorchScript archive")
    caplog.clear()
    with caplog.at_level("WARNING"):
        p = _pipe(a, cache, sizes=(1,))
        np.testing.assert_allclose(p.decode(p.face.vertices, lm), eager, rtol=1e-5, atol=1e-7)
    assert "ignoring the cached trace" in caplog.text and p.trace_status() == {1: "traced"}
    assert path.stat().st_size > 1000  # rewritten

    pb = _pipe(b, None, sizes=(1,))  # another decoder's trace under a's key
    pb.decode(pb.face.vertices, lm)
    TraceCache(tmp_path / "other").save(1, "k", pb._traces[1])
    (tmp_path / "other" / "decoder-b1-k.pt").replace(path)
    caplog.clear()
    with caplog.at_level("WARNING"):
        p = _pipe(a, cache, sizes=(1,))
        np.testing.assert_allclose(p.decode(p.face.vertices, lm), eager, rtol=1e-5, atol=1e-7)
    assert "disagrees with the eager one (max" in caplog.text and "tracing again" in caplog.text
    assert p.trace_status() == {1: "traced"}


def test_default_folder_and_switching_the_cache_off(tmp_path, monkeypatch):
    for off in ("off", "0", ""):
        monkeypatch.setenv(ENV, off)
        assert default_trace_cache() is None
    monkeypatch.setenv(ENV, str(tmp_path / "t"))
    assert default_trace_cache().folder == tmp_path / "t"
    monkeypatch.delenv(ENV)
    assert default_trace_cache().folder.parts[-2:] == ("sparse2dense-studio", "traces")


def test_an_unwritable_folder_is_logged_not_raised(decoders, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with caplog.at_level("WARNING"):
        p = _pipe(decoders[0], TraceCache(blocker / "traces"), sizes=(1,))
        out = p.decode(p.face.vertices, _targets(p, 1))
    assert np.isfinite(out).all() and "could not cache the decoder trace" in caplog.text
