#!/usr/bin/env bash
# Continue training the embedded model (assets/tiny-synthetic) on a lent GPU, as it is:
#   here:   bash benchmarks/gpu_train.sh prepare   (once; fills .gputrain/, 27 MB: the wheels the GPU
#                                                   image lacks and the bundled MiniLM in fp16, xz-packed, with
#                                                   only the word rows the world's texts use: gpu_text_pack.py)
#   there:  bash benchmarks/gpu_train.sh           (device tool: carry [".gputrain"], timeout_s 600)
# There it renders the seed-0 world (2000 clips, png frames only: the image has no ffmpeg and its wheel
# does not fit beside the text encoder in one call's 64 MiB), trains configs/tiny-synthetic-spatial.yaml with
# appearance phrases from INIT's weights (the spatial stage; STAGE=video: the video stage) for
# TRAIN_SECONDS (default 390), and writes the last checkpoint's EMA UNet in fp16 and the loss curve to $OUT
# (the files a call brings back). Here, score it before shipping: copy $OUT's config.json and
# diffusion_pytorch_model.safetensors into EXPORT/unet/ of a copy of INIT (EXPORT) and run
# `trackdiffusion evaluate phrase-colours --checkpoint EXPORT --val WORLD/val --clips 40 --threads 2`.
# INIT (default assets/tiny-synthetic, the demo's): the pipeline checkpoint to continue, in its own latent
# space (its vae/, its UNet's patch_size); INIT=assets/tiny-synthetic-factor2 continues the factor-2 UNet.
# Another latent space: `VAE=DIR PATCH=2 bash benchmarks/gpu_train.sh prepare` packs the VAE folder DIR
# (fp16) into .gputrain/vae/ (a DIR tracked by git, such as assets/tiny-synthetic-factor2/vae, is used where
# it is), and the run moves INIT's UNet body onto its latents with PATCH x PATCH patches
# (model.reset_latent_io: conv_in / conv_out start afresh), as docs/experiments.md's sixteenth session did
# on the CPU with the factor-2 VAE; score it with DIR as EXPORT/vae/.
# The text encoder there is MiniLM rounded to fp16 (float32 arithmetic): its embeddings differ from the
# bundled float32 model's by at most 6e-4 of the largest value (measured on a caption and two category
# names; cosine similarity 0.9999993); not measured: what that does to sampling.
# Settings (environment): STAGE (spatial: single frames, every spatial layer; video: 8-frame windows, only the
# temporal layers, as the shipped weights' last part was trained), BATCH (spatial 128: the GPU check's `small`
# steps looked launch-bound, so a larger batch should cost little; video 16 clips = 128 frames; neither
# measured for this config), LR (spatial 4e-4, video 2e-4),
# TRAIN_SECONDS, CHECKPOINT_EVERY (200), CLIPS (2000), DEVICE (cuda; cpu runs the same path here, for a
# smoke test: DEVICE=cpu CLIPS=4 BATCH=2 TRAIN_SECONDS=60 CHECKPOINT_EVERY=2 OUT=/tmp/o bash benchmarks/gpu_train.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
PACK=.gputrain

if [ "${1:-run}" = prepare ]; then
    set -e
    rm -rf "$PACK" && mkdir -p "$PACK"
    WHEELS_DIR="$PACK" WITH_FFMPEG=0 bash benchmarks/gpu_wheels.sh
    if [ -n "${VAE:-}" ]; then
        [ -f "$VAE/config.json" ] || { echo "VAE=$VAE has no config.json (a diffusers AutoencoderKL folder)"; exit 1; }
        mkdir -p "$PACK/vae" && echo "${PATCH:-1}" > "$PACK/vae/patch_size"
        if git ls-files --error-unmatch "$VAE/config.json" >/dev/null 2>&1; then
            echo "$VAE" > "$PACK/vae/path"  # tracked (assets/...): it travels with the tree, no copy
        else
            .venv/bin/python -c "import sys; from diffusers import AutoencoderKL; import torch
AutoencoderKL.from_pretrained(sys.argv[1], torch_dtype=torch.float16).save_pretrained(sys.argv[2])" "$VAE" "$PACK/vae"
            echo "$PACK/vae" > "$PACK/vae/path"
        fi
    fi
    # the world the run renders there (same command), for the texts whose word rows the pack keeps
    .venv/bin/trackdiffusion synth --out "$PACK/world" --clips "${CLIPS:-2000}" --val-clips 0 --no-videos | tail -1
    .venv/bin/python benchmarks/gpu_text_pack.py pack "$PACK/minilm" "$PACK/world/train"
    rm -rf "$PACK/world"
    du -sh "$PACK"
    exit 0
fi

OUT=${OUT:-gpu_train_out}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/gputrain}
mkdir -p "$OUT" && rm -rf "$WORK" && mkdir -p "$WORK"
STAGE=${STAGE:-spatial}
case "$STAGE" in
    spatial) STAGE_SET=(--set stage=spatial --set data.num_frames=1); BATCH=${BATCH:-128}; LR=${LR:-4e-4} ;;
    video) STAGE_SET=(--set stage=video --set data.num_frames=8); BATCH=${BATCH:-16}; LR=${LR:-2e-4} ;;
    *) echo "STAGE must be spatial or video, not '$STAGE'"; exit 1 ;;
esac
[ -d "$PACK" ] || { echo "no $PACK/: run 'bash benchmarks/gpu_train.sh prepare' here first"; exit 1; }
if [ "$DEVICE" = cuda ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" "$PACK"/*.whl || exit 1
    export PYTHONPATH="$WORK/site"
    PY=python3
else
    PY=.venv/bin/python
    export CUDA_VISIBLE_DEVICES=""
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
td() { $PY -m trackdiffusion.cli.main "$@"; }
INIT=${INIT:-assets/tiny-synthetic}
[ -f "$INIT/unet/config.json" ] && [ -f "$INIT/vae/config.json" ] || { echo "INIT=$INIT: no unet/ and vae/ (a pipeline checkpoint)"; exit 1; }
LATENT=(--set model.vae="$INIT/vae")
patch=$($PY -c "import json, sys; print(json.load(open(sys.argv[1])).get('patch_size', ''))" "$INIT/unet/config.json")
[ -z "$patch" ] || LATENT+=(--set model.options.patch_size="$patch")  # the config's default is 1; a checkpoint's own wins
if [ -d "$PACK/vae" ]; then
    LATENT=(--set model.vae="$(cat "$PACK/vae/path")" --set model.reset_latent_io=true --set model.options.patch_size="$(cat "$PACK/vae/patch_size")")
fi
td synth --out "$WORK/world" --clips "${CLIPS:-2000}" --val-clips 0 --no-videos 2>&1 | tail -1 | tee "$OUT/train.log"
$PY benchmarks/gpu_text_pack.py unpack "$PACK/minilm" "$WORK/minilm" "$WORK/world/train" 2>&1 | tee -a "$OUT/train.log"
[ -f "$WORK/minilm/model.safetensors" ] || exit 1
timeout "${TRAIN_SECONDS:-390}" $PY -m trackdiffusion.cli.main train --quiet --config configs/tiny-synthetic-spatial.yaml \
    --set data.path="$WORK/world/train" "${LATENT[@]}" \
    --set model.init_checkpoint="$INIT" --set model.options.appearance_phrases=true \
    --set model.text_encoder="$WORK/minilm" --set output_dir="$WORK/run" --set batch_size="$BATCH" \
    --set learning_rate="$LR" "${STAGE_SET[@]}" --set max_steps=1000000 --set checkpoint_every="${CHECKPOINT_EVERY:-200}" --set keep_last=1 \
    2>&1 | tail -20 | tee -a "$OUT/train.log"
step=$(ls "$WORK/run/checkpoints" 2>/dev/null | sed -n 's/^step-0*\([0-9][0-9]*\)$/\1/p' | sort -n | tail -1)  # not step-N.tmp: a checkpoint the timeout cut off mid-write
[ -n "$step" ] || { echo "no checkpoint was written"; exit 1; }
td export --run "$WORK/run" --step "$step" --out "$WORK/export" --fp16 2>&1 | tail -2 | tee -a "$OUT/train.log"
cp "$WORK/export/unet/config.json" "$WORK/export/unet/diffusion_pytorch_model.safetensors" "$WORK/run/loss.csv" "$OUT/" || exit 1
cp "$WORK/run/config.json" "$OUT/run_config.json" || exit 1
echo "step $step ($STAGE stage, batch $BATCH, ${LATENT[*]}) -> $OUT" | tee -a "$OUT/train.log"
