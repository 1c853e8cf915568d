#!/usr/bin/env bash
# Wheels that a bare GPU machine lacks for benchmarks/gpu_check.sh (its image has torch, transformers,
# accelerate, pytest ... but not these), fetched here into .whl/ (git-ignored) to travel with the tree.
# WHEELS_DIR puts them elsewhere and WITH_FFMPEG=0 leaves imageio-ffmpeg out (benchmarks/gpu_train.sh,
# whose text encoder leaves no room for it).
# imageio-ffmpeg is pinned to 0.5.1: its ffmpeg build makes a 27 MB wheel where 0.8's is 68 MB, more than
# a device call may carry (64 MiB with the tree). Python 3.12 x86-64 is what the lent machines run; pass
# another version as $1.
set -euo pipefail
PY=${1:-3.12}
cd "$(dirname "$0")/.."
DEST=${WHEELS_DIR:-.whl}
FFMPEG=$([ "${WITH_FFMPEG:-1}" = 0 ] || echo imageio-ffmpeg==0.5.1)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux2010_x86_64 --platform manylinux1_x86_64 --platform any -d "$DEST" \
    diffusers==0.42.1 importlib-metadata==10.2.0 einops $FFMPEG
du -sh "$DEST"
