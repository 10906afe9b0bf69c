#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine: system libraries for Qt/VTK + Xvfb, a virtualenv with
# the CPU build of torch 2.13 and the project with its dev extra. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Qt's xcb platform plugin needs icccm/keysyms (its error message blames xcb-cursor0);
  # the rest are usually present on Debian 12 images but cheap to ensure; libpulse0: QtMultimedia
  # (the studio's speech sound) does not load without it.
  $SUDO apt-get install -y -qq --no-install-recommends \
    xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-randr0 \
    libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0 libxkbcommon-x11-0 \
    libgl1 libegl1 libgl1-mesa-dri libdbus-1-3 libfontconfig1 libxtst6 libpulse0 \
    flite fortunes >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: an unpinned torch would pull the multi-GB CUDA build from PyPI.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -c .ci/constraints.txt -e ".[dev]"
# QtMultimedia for the studio's speech sound (optional: silent playback and skipped tests without
# it); PySide6-Addons pinned to the installed PySide6-Essentials, which it must match.
ESSENTIALS=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("PySide6_Essentials"))')
timeout 600 .venv/bin/python -m pip install -q -c .ci/constraints.txt -e ".[audio]" \
  "PySide6-Addons==$ESSENTIALS" \
  || echo "note: PySide6-Addons not installed (studio speech playback is silent; its test skips)"
# MediaPipe for automatic landmarks on any face mesh (optional: its tests skip without it).
timeout 600 .venv/bin/python -m pip install -q -c .ci/constraints.txt -e ".[anyface]" \
  || echo "note: mediapipe not installed (automatic face landmarks and their tests will skip)"
# Khronos' glTF validator for tests/test_export.py (optional: the test is skipped without it).
if command -v npm >/dev/null 2>&1; then
  timeout 180 npm install -s --no-fund --no-audit --prefix .cache/node \
    "gltf-validator@2.0.0-dev.3.10" \
    >/dev/null 2>&1 || echo "note: gltf-validator not installed (the GLB validator test will skip)"
fi
echo "setup done: $(.venv/bin/python -c 'import torch; print("torch", torch.__version__)')"
