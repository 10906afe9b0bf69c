"""Audio input: decode WAV/FLAC/MP3/OGG (any rate, mono or stereo) in blocks; log-mel features.

Decoding streams: libsndfile (``soundfile``) reads WAV/FLAC/MP3/OGG natively; anything else goes
through imageio-ffmpeg's bundled ffmpeg as a pipe. The waveform is never held whole for feature
extraction: :func:`stream_logmel` reads 10 s blocks, mixes to mono and computes the STFT at the
file's own sample rate (the mel filterbank is built for that rate, so nothing is resampled).
Memory therefore stays flat in the length of the audio except for the (frames, mels) output.

Shapes: S samples, N mel frames (100 per second), M mel bands.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError

__all__ = [
    "AudioInfo",
    "audio_info",
    "read_audio",
    "stream_blocks",
    "stream_logmel",
    "logmel",
    "mel_filterbank",
    "MEL_RATE",
    "N_MELS",
    "MEL_FMAX",
]

#: Mel frames per second (10 ms hop).
MEL_RATE = 100
#: Mel bands.
N_MELS = 40
#: Highest mel frequency (Hz); also capped at the Nyquist frequency of the file.
MEL_FMAX = 7600.0
#: Floor added before the log (power of a -100 dBFS signal).
LOG_FLOOR = 1e-10
BLOCK_SECONDS = 10.0


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: ``rate`` (Hz), ``channels``, ``frames`` (samples per channel),
    ``backend`` (``"soundfile"`` or ``"ffmpeg"``)."""

    path: Path
    rate: int
    channels: int
    frames: int
    backend: str

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def _bad(path: Path, why: str) -> InvalidInputError:
    return InvalidInputError(f"cannot read audio {path}: {why}; give a WAV, FLAC, MP3 or OGG file")


def _ffmpeg_info(path: Path) -> AudioInfo:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    proc = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    text = proc.stderr
    import re

    m = re.search(r"Audio: [^\n]*?(\d+) Hz, (mono|stereo|[0-9.]+|\d+ channels)", text)
    d = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    if not m or not d:
        raise _bad(path, "no audio stream found (unsupported codec or not audio)")
    ch = {"mono": 1, "stereo": 2}.get(m.group(2))
    if ch is None:
        ch = int(m.group(2).split()[0].split(".")[0]) or 2
    seconds = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))
    rate = int(m.group(1))
    return AudioInfo(path, rate, ch, int(round(seconds * rate)), "ffmpeg")


def audio_info(path: str | Path) -> AudioInfo:
    """Header information of an audio file (cheap; nothing is decoded)."""
    path = Path(path)
    if not path.is_file():
        raise _bad(path, "no such file")
    if path.stat().st_size == 0:
        raise _bad(path, "the file is empty (0 bytes)")
    import soundfile as sf

    try:
        info = sf.info(str(path))
        frames = int(info.frames)
        if frames <= 0 or info.samplerate <= 0:
            raise RuntimeError("no samples")
        return AudioInfo(path, int(info.samplerate), int(info.channels), frames, "soundfile")
    except Exception:  # libsndfile refuses: try ffmpeg (AAC, Opus in other containers, …)
        return _ffmpeg_info(path)


def stream_blocks(info: AudioInfo, block_seconds: float = BLOCK_SECONDS, overlap: int = 0):
    """Yield mono float32 blocks (S,) of ``info``'s file; consecutive blocks share ``overlap``
    samples. A truncated or corrupt stream raises a one-line :class:`InvalidInputError`."""
    block = max(int(block_seconds * info.rate), overlap + 1)
    if info.backend == "soundfile":
        import soundfile as sf

        try:
            for b in sf.blocks(
                str(info.path), blocksize=block, overlap=overlap, dtype="float32", always_2d=True
            ):
                yield b.mean(axis=1)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise _bad(info.path, f"the stream is corrupt or truncated ({exc})") from exc
        return
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-i",
        str(info.path),
        "-vn",
        "-f",
        "f32le",
        "-ac",
        "1",
        "-ar",
        str(info.rate),
        "-",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail = np.zeros(0, np.float32)
    try:
        while True:
            raw = proc.stdout.read(4 * (block - len(tail)))
            if not raw:
                break
            x = np.frombuffer(raw[: len(raw) // 4 * 4], np.float32)
            cur = np.concatenate([tail, x])
            yield cur
            tail = cur[len(cur) - overlap :] if overlap else tail
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise _bad(
                info.path, f"ffmpeg failed ({err.splitlines()[-1] if err else 'no message'})"
            )


def read_audio(path: str | Path, rate: int | None = None, max_seconds: float = 600.0):
    """The whole file as mono float32 (S,) and its rate; resampled to ``rate`` when given.

    Used for short clips only (alignment, muxing checks); refuses files over ``max_seconds``.
    """
    info = audio_info(path)
    if info.duration > max_seconds:
        raise _bad(info.path, f"it lasts {info.duration:.0f} s, more than {max_seconds:.0f} s")
    x = np.concatenate(list(stream_blocks(info)) or [np.zeros(0, np.float32)])
    if rate is not None and rate != info.rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, info.rate)
        x = resample_poly(x, rate // g, info.rate // g).astype(np.float32)
        return x, rate
    return x, info.rate


def mel_filterbank(
    rate: int, n_fft: int, n_mels: int = N_MELS, fmin: float = 60.0, fmax: float = MEL_FMAX
) -> np.ndarray:
    """Triangular mel filters (n_mels, n_fft // 2 + 1) float32 (HTK mel scale); bands above the
    Nyquist frequency are zero, so 8 kHz audio gives empty top bands rather than an error."""

    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    return np.clip(np.minimum(up, down), 0, None).astype(np.float32)


def _frames_logmel(x: np.ndarray, win: int, hop: int, fb: np.ndarray, n_fft: int) -> np.ndarray:
    n = 1 + (len(x) - win) // hop
    if n <= 0:
        return np.zeros((0, fb.shape[0]), np.float32)
    idx = np.arange(win)[None] + hop * np.arange(n)[:, None]  # (N, win)
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(win).astype(np.float32), n=n_fft)) ** 2
    return np.log(spec.astype(np.float32) @ fb.T + LOG_FLOOR).astype(np.float32)


def _analysis(rate: int) -> tuple[int, int, int, np.ndarray]:
    """(hop, window, n_fft, filterbank) of the log-mel analysis at ``rate``."""
    hop = rate // MEL_RATE
    win = int(round(0.025 * rate))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    return hop, win, n_fft, mel_filterbank(rate, n_fft)


def logmel(x: np.ndarray, rate: int) -> np.ndarray:
    """Log-mel of an in-memory mono signal x (S,) → (ceil(S / rate * MEL_RATE), M) float32,
    identical to :func:`stream_logmel` of the same samples."""
    hop, win, n_fft, fb = _analysis(rate)
    half = win // 2
    padded = np.concatenate(
        [np.zeros(half, np.float32), np.asarray(x, np.float32), np.zeros(half, np.float32)]
    )
    mel = _frames_logmel(padded, win, hop, fb, n_fft)
    return mel[: max(int(np.ceil(len(x) / rate * MEL_RATE)), 1)]


def stream_logmel(path: str | Path, max_seconds: float | None = None):
    """Log-mel features of a file, computed block by block.

    Returns ``(mel, info)``: mel (N, M) float32 at :data:`MEL_RATE` frames per second (frame n
    is centred at n / MEL_RATE s) and the :class:`AudioInfo`. Refuses files longer than
    ``max_seconds`` before decoding anything.
    """
    info = audio_info(path)
    if max_seconds is not None and info.duration > max_seconds:
        raise InvalidInputError(
            f"audio {info.path} lasts {info.duration / 60:.1f} min, more than the limit of "
            f"{max_seconds / 60:.1f} min; cut it into parts or raise --max-seconds"
        )
    hop, win, n_fft, fb = _analysis(info.rate)
    half = win // 2
    parts = []
    carry = np.zeros(half, np.float32)  # centre frame 0 at t = 0
    for block in stream_blocks(info):
        x = np.concatenate([carry, block])
        m = _frames_logmel(x, win, hop, fb, n_fft)
        parts.append(m)
        carry = x[len(m) * hop :]
    x = np.concatenate([carry, np.zeros(half, np.float32)])
    parts.append(_frames_logmel(x, win, hop, fb, n_fft))
    mel = np.concatenate(parts) if parts else np.zeros((0, N_MELS), np.float32)
    n_expected = int(np.ceil(info.duration * MEL_RATE))
    if len(mel) == 0:
        raise _bad(info.path, "it holds no samples")
    return mel[: max(n_expected, 1)], info
