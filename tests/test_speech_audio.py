"""Audio input: formats, rates, channels, chunked features, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.speech.audio import MEL_RATE, N_MELS, audio_info, read_audio, stream_logmel

sf = pytest.importorskip("soundfile")


def _tone(rate, seconds=1.3, channels=1):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return np.stack([x] * channels, 1) if channels > 1 else x


@pytest.mark.parametrize(
    "fmt,rate,channels",
    [
        ("WAV", 16000, 1),
        ("WAV", 44100, 2),
        ("FLAC", 22050, 1),
        ("OGG", 48000, 2),
        ("MP3", 44100, 1),
    ],
)
def test_formats_rates_and_channels_give_the_same_features(tmp_path, fmt, rate, channels):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, _tone(rate, channels=channels), rate, format=fmt)
    mel, info = stream_logmel(path)
    assert info.rate == rate and info.channels == channels
    assert mel.shape[1] == N_MELS and abs(len(mel) - 1.3 * MEL_RATE) <= 6  # MP3 pads a little
    ref, _ = stream_logmel(_write(tmp_path / "ref.wav", _tone(16000), 16000))
    n = min(len(ref), len(mel)) - 10
    band = slice(3, 20)  # 220 Hz and its neighbours: present at every rate
    assert np.corrcoef(ref[5:n, band].ravel(), mel[5:n, band].ravel())[0, 1] > 0.9


def _write(path, x, rate):
    sf.write(path, x, rate)
    return path


def test_blocks_do_not_change_the_features(tmp_path, monkeypatch):
    path = _write(tmp_path / "a.wav", _tone(16000, 3.0), 16000)
    whole, _ = stream_logmel(path)
    import core.speech.audio as audio

    monkeypatch.setattr(audio, "BLOCK_SECONDS", 0.37)  # many odd-sized blocks
    parts, _ = audio.stream_logmel(path)
    np.testing.assert_allclose(parts, whole, atol=1e-4)


def test_bad_files_give_one_line_errors(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="empty"):
        audio_info(empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + bytes(range(256)) * 4)
    with pytest.raises(InvalidInputError):
        stream_logmel(junk)
    with pytest.raises(InvalidInputError, match="no such file"):
        audio_info(tmp_path / "missing.wav")
    good = _write(tmp_path / "g.wav", _tone(16000, 2.0), 16000)
    with pytest.raises(InvalidInputError, match="limit"):
        stream_logmel(good, max_seconds=1.0)
    with pytest.raises(InvalidInputError, match="lasts"):
        read_audio(good, max_seconds=1.0)


def test_truncated_file_is_read_or_refused_cleanly(tmp_path):
    good = _write(tmp_path / "g.flac", _tone(16000, 2.0), 16000)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    try:
        mel, _ = stream_logmel(cut)
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
    else:
        assert np.isfinite(mel).all()


def test_silence_has_low_flat_features(tmp_path):
    path = _write(tmp_path / "s.wav", np.zeros(16000), 16000)
    mel, _ = stream_logmel(path)
    assert np.isfinite(mel).all() and mel.max() < -20
    x, rate = read_audio(path, rate=8000)
    assert rate == 8000 and len(x) == 8000
