"""Per-denoising-step time and peak memory of the TrackDiffusion UNet (issue: model benchmark).

One denoising step = one UNet forward on the classifier-free-guidance batch (unconditional +
conditional, B = 2) of one clip. Each configuration runs in a fresh subprocess so that peak
memory (CPU: the process's max RSS minus its RSS once torch and the package are imported, i.e.
weights + the largest forward's activations + allocator slack; GPU: torch.cuda.max_memory_allocated)
is its own. Results print as a markdown table; ``--out`` appends them to a file.

    python benchmarks/unet_step.py --sizes tiny small --frames 8 --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

CASES = [("vanilla", 8), ("trackdiffusion", 8), ("trackdiffusion", 1), ("trackdiffusion", 32), ("trackdiffusion", 64)]


def run_case(size: str, variant: str, n: int, frames: int, device: str, repeats: int, threads: int) -> dict:
    import torch

    from trackdiffusion.models import TrackDiffusionUNet, unet_config

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, before the model exists
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = unet_config(size, variant, identity_bank_size=max(64, n))
    model = TrackDiffusionUNet(**cfg).to(device).eval()
    latent = 16 if size == "tiny" else 32
    B = 2
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(B, frames, n, 2, generator=g) * 0.7
    inputs = dict(
        sample=torch.randn(B, 4, frames, latent, latent, generator=g),
        timestep=torch.tensor([500, 500]),
        encoder_hidden_states=torch.randn(B, 32, cfg["cross_attention_dim"], generator=g),
        boxes=torch.cat([xy, xy + 0.2], dim=-1),
        present=torch.rand(B, frames, n, generator=g) > 0.2,
        category_embeds=torch.randn(B, n, cfg["category_embed_dim"], generator=g),
        instance_slots=torch.stack([torch.randperm(max(64, n), generator=g)[:n] for _ in range(B)]),
    )
    inputs = {k: v.to(device) for k, v in inputs.items()}
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.no_grad():
        model(**inputs)  # warm-up
        sync()
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(**inputs)
            sync()
            times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda")
            else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return {"size": size, "variant": variant, "N": n, "T": frames, "params_M": round(params, 2),
            "ms_per_step": round(1000 * statistics.median(times), 1), "peak_MiB": round(peak, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["tiny", "small"])
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="append the markdown table to this file")
    p.add_argument("--case", default=None, help=argparse.SUPPRESS)  # internal: one case in this process
    args = p.parse_args()
    if args.case:
        size, variant, n = args.case.split(":")
        print(json.dumps(run_case(size, variant, int(n), args.frames, args.device, args.repeats, args.threads)))
        return
    rows = []
    for size in args.sizes:
        for variant, n in CASES:
            cmd = [sys.executable, __file__, "--case", f"{size}:{variant}:{n}", "--frames", str(args.frames),
                   "--device", args.device, "--repeats", str(args.repeats), "--threads", str(args.threads)]
            rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
            print(rows[-1], file=sys.stderr)
    lines = [f"machine: {platform.processor() or platform.machine()}, {args.device}, threads={args.threads}; "
             f"command: python benchmarks/unet_step.py --sizes {' '.join(args.sizes)} --frames {args.frames} "
             f"--device {args.device} --threads {args.threads}", "",
             "| size | variant | N | T | params (M) | ms / step | peak MiB | vs vanilla N=8 | vs full N=8 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        same = [x for x in rows if x["size"] == r["size"]]
        van = next(x for x in same if x["variant"] == "vanilla")["ms_per_step"]
        full8 = next(x for x in same if x["variant"] == "trackdiffusion" and x["N"] == 8)["ms_per_step"]
        lines.append(f"| {r['size']} | {r['variant']} | {r['N']} | {r['T']} | {r['params_M']} | {r['ms_per_step']} | "
                     f"{r['peak_MiB']} | {r['ms_per_step'] / van:.2f}x | {r['ms_per_step'] / full8:.2f}x |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "a") as f:
            f.write(table + "\n\n")


if __name__ == "__main__":
    main()
