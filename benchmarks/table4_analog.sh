#!/usr/bin/env bash
# The paper's Table 4 analog on this CPU: the video stage trained from the shipped spatial weights in three
# variants at equal steps - vanilla (identity embedding and instance enhancer switched off), + identity
# embedding, + enhancer (both: the full model) - for each seed, each scored on 16 val clips
# (`learning-curve score`) and by `demo` (12 held-out clips: TrackAP, Success, IDSW, DriftF2F).
# All three start as the same function: the spatial stage never trains those paths, so they are still at
# their identity start (zero identity bank, zeroed injector outputs) when switched off or kept.
# LR_MULT=10 trains the paths each variant adds (identity bank; + trajectory encoder, enhancer and injector)
# at 10x the learning rate (`lr_mult`), in runs named t4-x10-VARIANT-sSEED; VARIANTS="embedding enhancer" skips
# vanilla, which has none of those paths (its x10 run is its plain run, to the last digit).
#   WORLD=/work/runs/world OUT=/work/runs STEPS=750 SEEDS="0 1" bash benchmarks/table4_analog.sh
#   .venv/bin/python benchmarks/table4_table.py OUT [t4-x10]   # the table (CSV) and the mean per variant
# About 13 min per run on 2 cores (1.3 steps/s; 2 min of latent caching once, then shared by hard links).
set -u
cd "$(dirname "$0")/.."
WORLD=${WORLD:?the synthetic world: trackdiffusion synth --out WORLD --clips 2000 --val-clips 64}
OUT=${OUT:?folder for the runs}
STEPS=${STEPS:-750}
SEEDS=${SEEDS:-0 1}
VARIANTS=${VARIANTS:-vanilla embedding enhancer}
TD=".venv/bin/trackdiffusion"
export OMP_NUM_THREADS=2
declare -A OPTS=(
    [vanilla]="--set model.options.use_identity_embedding=false --set model.options.use_instance_enhancer=false"
    [embedding]="--set model.options.use_instance_enhancer=false"
    [enhancer]=""
)
LR_MULT=${LR_MULT:-}
declare -A NEW_PATHS=(   # vanilla has none: its x10 run is its plain run again
    [vanilla]=""
    [embedding]="identity"
    [enhancer]="identity trajectory_encoder enhancer instance_injector"
)
CACHE=$(ls -d "$OUT"/t4-*/latent_cache 2>/dev/null | head -1)   # an earlier call's, if any
for seed in $SEEDS; do
    for v in $VARIANTS; do
        R=$OUT/t4${LR_MULT:+-x$LR_MULT}-$v-s$seed
        FAST=""
        if [ -n "$LR_MULT" ]; then
            for key in ${NEW_PATHS[$v]}; do FAST="$FAST --set lr_mult.$key=$LR_MULT"; done
        fi
        if [ -n "$CACHE" ] && [ ! -d "$R/latent_cache" ]; then
            mkdir -p "$R" && cp -al "$CACHE" "$R/latent_cache"   # same data and VAE: the same cache key
        fi
        echo "=== $v seed $seed start $(date +%T)"
        # shellcheck disable=SC2086  # OPTS and FAST hold several words on purpose
        nice $TD train --config configs/tiny-synthetic-spatial.yaml --set data.path="$WORLD/train" \
            --set model.vae=assets/tiny-synthetic/vae --set model.init_checkpoint=assets/tiny-synthetic \
            --set model.options.appearance_phrases=true ${OPTS[$v]} $FAST \
            --set stage=video --set data.num_frames=8 --set batch_size=4 --set learning_rate=2e-4 \
            --set lr_schedule=cosine --set max_steps="$STEPS" --set checkpoint_every=250 --set keep_last=3 \
            --set seed="$seed" --set output_dir="$R" > "$R.train.log" 2>&1 || { echo "train failed: $R.train.log"; continue; }
        CACHE=$R/latent_cache
        nice $TD learning-curve score --run "$R" --val "$WORLD/val" --step "$STEPS" --threads 2 > "$R.score.log" 2>&1
        nice $TD export --run "$R" --step "$STEPS" --out "$R-export" --fp16 > "$R.export.log" 2>&1
        nice $TD demo --checkpoint "$R-export" --out "$R-demo" > "$R.demo.log" 2>&1
        echo "=== $v seed $seed scored $(date +%T)"
    done
done
