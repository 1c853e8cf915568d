#!/usr/bin/env bash
# The GPU check of issue 11, run as it is by a session with a lent GPU (under 8 minutes on one H200):
#   here:   bash benchmarks/gpu_wheels.sh            (once; fills .whl/)
#   there:  bash benchmarks/gpu_check.sh             (device tool: carry [".whl"]; results in $OUT)
# 1. the test suite's CUDA-marked tests, 2. benchmarks/gpu_check.py (bf16 generation of the modelscope
# preset at 256x256x16, the UNet step against diffusers' UNet3DConditionModel, 50 training steps of
# `small`). Copy $OUT/gpu_check.md into docs/benchmarks.md with the card's name.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src:$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
# only the files that hold CUDA tests: the others import packages a bare GPU image lacks (gradio, trackeval)
timeout 240 python3 -m pytest -q -m cuda -p no:cacheprovider -o addopts="" \
    tests/models/test_precision.py tests/models/test_compile.py tests/pipelines/test_pretrained.py 2>&1 \
    | tee "$OUT/cuda_tests.log"
tests=${PIPESTATUS[0]}
timeout 300 python3 benchmarks/gpu_check.py --device cuda --dtype bfloat16 --out "$OUT" 2>&1 | tee "$OUT/gpu_check.log"
bench=${PIPESTATUS[0]}
echo "cuda tests exit $tests, benchmark exit $bench"
exit $(( tests || bench ))
