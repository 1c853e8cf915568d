"""Clips per minute of ``trackdiffusion generate`` with the shipped model: batch sizes, and 2 processes vs 1.

Each measurement is one ``generate`` command into a fresh folder (the synthetic held-out world,
seed 2026), timed from the command's start to its exit, so it includes the model load, writing
every clip and the merge: what a user waits for. ``--processes 2`` runs two ``--num-shards 2``
commands side by side (each with ``--threads`` / 2 torch threads) and times until both exit.

    python benchmarks/generation_throughput.py --clips 16 --steps 25 --batch-sizes 1 4 8 --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _generate(world: Path, out: Path, args, batch: int, threads: int, shard: tuple[int, int] | None):
    cmd = [sys.executable, "-m", "trackdiffusion.cli.main", "generate", "--tracklets", str(world), "--out", str(out),
           "--steps", str(args.steps), "--frames", str(args.frames), "--batch-size", str(batch), "--quiet"]
    if shard is not None:
        cmd += ["--num-shards", str(shard[1]), "--shard", str(shard[0])]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def measure(world: Path, args, batch: int, processes: int) -> float:
    """Seconds until every process of one run has exited."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gen"
        threads = max(1, args.threads // processes)
        start = time.perf_counter()
        procs = [_generate(world, out, args, batch, threads, (k, processes) if processes > 1 else None)
                 for k in range(processes)]
        for p in procs:
            _, err = p.communicate()
            if p.returncode:
                raise SystemExit(f"generate failed:\n{err[-2000:]}")
        seconds = time.perf_counter() - start
        clips = len(list((out / "clips").iterdir()))
        if clips != args.clips:
            raise SystemExit(f"{clips} clips written, expected {args.clips}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="Append the table to this file.")
    args = parser.parse_args()
    from trackdiffusion.tracklets.synthetic import WorldConfig, write_world

    with tempfile.TemporaryDirectory() as tmp:
        write_world(WorldConfig(train_clips=0, val_clips=args.clips, num_frames=args.frames, seed=2026), tmp)
        world = Path(tmp) / "val"
        rows = [(b, 1, measure(world, args, b, 1)) for b in args.batch_sizes]
        rows.append((1, 2, measure(world, args, 1, 2)))
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
             f"{args.clips} clips x {args.frames} frames, {args.steps} steps, {args.threads} threads in all.", "",
             "| batch | processes | seconds | clips / min |", "|---:|---:|---:|---:|"]
    lines += [f"| {b} | {p} | {s:.1f} | {60 * args.clips / s:.2f} |" for b, p, s in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        with args.out.open("a") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
