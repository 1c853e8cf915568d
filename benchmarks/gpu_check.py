"""The GPU check (issue 11): what a session with a lent GPU runs as it is, via ``gpu_check.sh``.

Three measurements, each printed as a markdown table and written to ``--out`` (markdown + json):

1. ``generation``: bf16 generation with the ``modelscope`` preset at random weights — ModelScope
   text-to-video's UNet3D shape (320-640-1280-1280, 1024-d text) plus the tracklet modules, an SD
   VAE and a 1024-d 23-layer CLIP text encoder — at 256x256x16 with 8 instances, DPM-Solver and
   classifier-free guidance (both branches in one UNet call): seconds per denoising step (median
   after the first), decode time, peak accelerator memory.
2. ``unet_ratio``: one CFG step (batch 2) of our UNet against the same step of diffusers'
   ``UNet3DConditionModel`` (the ``TextToVideoSDPipeline`` UNet it was built from, same weights):
   the cost of the tracklet modules.
3. ``training``: 50 steps of the ``small`` size on a synthetic world through ``trackdiffusion
   train`` (steps/s from its ``loss.csv``).

Random weights are built in-process (nothing to download); the tokenizer and the training run's
text encoder are the tests' small random CLIP (tests/tiny_modelscope.py), because the bundled
MiniLM package is larger than what travels to a lent machine. ``--smoke`` shrinks every part so
the CPU test suite runs this script end to end (tests/test_gpu_check.py).

    python benchmarks/gpu_check.py --device cuda --out $OUT        # on the GPU (< 8 min on one H200)
    python benchmarks/gpu_check.py --device cpu --smoke --out /tmp/g  # what the test runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.tiny_modelscope: the random CLIP tokenizer / text-to-video folder

# (UNet3D, VAE, text encoder, frames, size, instances, steps) per mode
SHAPES = {
    "full": dict(unet=dict(block_out_channels=(320, 640, 1280, 1280), attention_head_dim=64, norm_num_groups=32,
                           layers_per_block=2, cross_attention_dim=1024),
                 vae=dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32),
                 text=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16),
                 frames=16, size=256, instances=8, steps=10, train_steps=50, world_clips=64),
    "smoke": dict(unet=dict(block_out_channels=(16, 32), attention_head_dim=8, norm_num_groups=8,
                            layers_per_block=1, cross_attention_dim=32,
                            down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                            up_block_types=("UpBlock3D", "CrossAttnUpBlock3D")),
                  vae=dict(block_out_channels=(8, 8), layers_per_block=1, norm_num_groups=4),
                  text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4),
                  frames=4, size=32, instances=2, steps=3, train_steps=2, world_clips=8),
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_mib(device: str) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.startswith("cuda") else None


def build_pipeline(shape: dict, device: str, dtype: torch.dtype):
    """A random ModelScope-shaped TrackDiffusionPipeline and the diffusers UNet3D it was built from."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from tests.tiny_modelscope import write_clip_tokenizer
    from trackdiffusion.pipelines import TrackDiffusionPipeline
    from trackdiffusion.pipelines.loading import base_track_options
    from trackdiffusion.pipelines.schedulers import sampling_scheduler
    from trackdiffusion.models import TrackDiffusionUNet

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as vocab:
        tokenizer = write_clip_tokenizer(Path(vocab))
    with torch.device(device):  # initialise on the accelerator: a 1.4 B-parameter init on the CPU takes minutes
        text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), max_position_embeddings=77,
                                            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                            pad_token_id=tokenizer.pad_token_id, **shape["text"]))
        base = UNet3DConditionModel(sample_size=shape["size"] // 8, **shape["unet"])
        unet = TrackDiffusionUNet.from_unet3d(base, **base_track_options(shape["text"]["hidden_size"]))
        vae_down = len(shape["vae"]["block_out_channels"])
        vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * vae_down,
                            up_block_types=("UpDecoderBlock2D",) * vae_down, latent_channels=4, **shape["vae"])
    scheduler = sampling_scheduler(DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012))
    pipe = TrackDiffusionPipeline(vae=vae.eval(), text_encoder=text.eval(), tokenizer=tokenizer, unet=unet.eval(),
                                  scheduler=scheduler).to(device=device, dtype=dtype)
    return pipe, base.to(dtype=dtype).eval()


def clips(shape: dict, count: int):
    """``count`` synthetic-world clips at the benchmark's size with exactly ``instances`` instances."""
    from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig

    n = shape["instances"]
    world = SyntheticWorld(WorldConfig(num_frames=shape["frames"], width=shape["size"], height=shape["size"],
                                       min_objects=n, max_objects=n, seed=2026))
    out, index = [], 0
    while len(out) < count:
        clip = world.render_clip("val", index)[1]
        index += 1
        if len(clip) == n:
            out.append(clip)
    return out


def measure_generation(pipe, shape: dict, device: str, batch: int) -> dict:
    step_ends: list[float] = []

    def on_step(_pipe, _i, _t, _kwargs):
        _sync(device)
        step_ends.append(time.perf_counter())

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    tracklets = clips(shape, batch)
    _sync(device)
    start = time.perf_counter()
    pipe("a video of a red circle and a blue square", tracklets, num_inference_steps=shape["steps"],
         guidance_scale=5.0, generator=torch.Generator(device).manual_seed(0), output_type="pt",
         callback_on_step_end=on_step)
    _sync(device)
    end = time.perf_counter()
    steps = [b - a for a, b in zip(step_ends, step_ends[1:])]
    return {"clips": batch, "frames": shape["frames"], "size": f"{shape['size']}x{shape['size']}",
            "instances": shape["instances"], "steps": shape["steps"],
            "s_per_step": round(statistics.median(steps), 4), "first_step_s": round(step_ends[0] - start, 3),
            "decode_s": round(end - step_ends[-1], 3), "total_s": round(end - start, 2), "peak_MiB": _peak_mib(device)}


def measure_unet_ratio(pipe, base, shape: dict, device: str, repeats: int) -> dict:
    """One CFG denoising step (batch 2) of ours vs the diffusers UNet3D with the same weights."""
    g = torch.Generator().manual_seed(0)
    latent, T, N, dtype = shape["size"] // 8, shape["frames"], shape["instances"], pipe.unet.dtype
    xy = torch.rand(2, T, N, 2, generator=g) * 0.6
    common = dict(sample=torch.randn(2, 4, T, latent, latent, generator=g).to(device, dtype),
                  timestep=torch.tensor([500, 500], device=device),
                  encoder_hidden_states=torch.randn(2, 77, shape["text"]["hidden_size"], generator=g).to(device, dtype))
    track = dict(boxes=torch.cat([xy, xy + 0.3], dim=-1).to(device), present=torch.ones(2, T, N, dtype=torch.bool, device=device),
                 category_embeds=torch.randn(2, N, pipe.unet.config.category_embed_dim, generator=g).to(device, dtype),
                 instance_slots=torch.arange(N, device=device).expand(2, N))

    def timed(fn) -> float:
        with torch.no_grad():
            fn()
            _sync(device)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                _sync(device)
                times.append(time.perf_counter() - start)
        return statistics.median(times)

    ours = timed(lambda: pipe.unet(**common, **track))
    theirs = timed(lambda: base(**common))
    return {"ours_s": round(ours, 4), "diffusers_UNet3D_s": round(theirs, 4), "ratio": round(ours / theirs, 3)}


def measure_training(shape: dict, device: str, work: Path) -> dict:
    """``trackdiffusion train`` of the ``small`` size on a fresh synthetic world; steps/s from loss.csv."""
    from tests.tiny_modelscope import write_tiny_text_to_video

    run = [sys.executable, "-m", "trackdiffusion.cli.main"]
    world, text, out = work / "world", write_tiny_text_to_video(work / "clip"), work / "train"
    subprocess.run(run + ["synth", "--out", str(world), "--clips", str(shape["world_clips"]), "--val-clips", "2"], check=True,
                   capture_output=True)
    steps = shape["train_steps"]
    sets = [f"output_dir={out}", f"data.path={world / 'train'}", "model.size=small", f"model.text_encoder={text}",
            f"model.vae={ROOT / 'assets' / 'tiny-synthetic' / 'vae'}", f"max_steps={steps}", "batch_size=4",
            f"checkpoint_every={steps}", "log_every=1", "data.num_frames=8", "model.text_max_length=null"]
    if device.startswith("cuda"):
        sets.append("mixed_precision=bf16")
    cmd = run + ["train", "--quiet", "--config", str(ROOT / "configs" / "tiny-synthetic.yaml")]
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, **({} if device.startswith("cuda") else {"CUDA_VISIBLE_DEVICES": ""})}
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"training failed:\n{done.stderr[-3000:]}")
    wall = time.perf_counter() - start
    rows = (out / "loss.csv").read_text().splitlines()[1:]
    rates = [float(r.split(",")[3]) for r in rows[len(rows) // 2:]]  # second half: past warm-up and caching
    return {"size": "small", "steps": steps, "batch": "4 clips x 8 frames at 64x64", "steps_per_s":
            round(statistics.median(rates), 3), "wall_s_incl_latent_cache": round(wall, 1)}


def table(title: str, row: dict) -> str:
    keys = list(row)
    return "\n".join([f"**{title}**", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
                      "| " + " | ".join(str(row[k]) for k in keys) + " |", ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    p.add_argument("--batch", type=int, default=1, help="clips generated together")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--smoke", action="store_true", help="tiny shapes: the CPU test of this script")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    shape = SHAPES["smoke" if args.smoke else "full"]
    args.out.mkdir(parents=True, exist_ok=True)
    card = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    header = (f"machine: {card}; torch {torch.__version__}; {args.dtype}; command: python benchmarks/gpu_check.py "
              f"--device {args.device} --dtype {args.dtype}" + (" --smoke" if args.smoke else ""))
    sections = {"generation": "generation (ModelScope-shaped, random weights)",
                "unet_ratio": "one CFG UNet step: ours vs diffusers UNet3DConditionModel",
                "training": "training `small` on the synthetic world"}
    results = {"machine": card}

    def write() -> None:  # after every measurement: a later one that fails loses nothing measured
        text = "\n".join([header, ""] + [table(title, results[k]) for k, title in sections.items() if k in results])
        print(text)
        (args.out / "gpu_check.md").write_text(text + "\n")
        (args.out / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")

    pipe, base = build_pipeline(shape, args.device, getattr(torch, args.dtype))
    results["generation"] = measure_generation(pipe, shape, args.device, args.batch)
    write()
    results["unet_ratio"] = measure_unet_ratio(pipe, base, shape, args.device, args.repeats)
    write()
    del pipe, base
    with tempfile.TemporaryDirectory() as work:
        results["training"] = measure_training(shape, args.device, Path(work))
    write()


if __name__ == "__main__":
    main()
