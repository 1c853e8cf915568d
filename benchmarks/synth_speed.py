"""Speed of the synthetic world: render only, and render + write everything to disk.

Usage: python benchmarks/synth_speed.py [--clips 200] [--frames 16] [--size 64] [--workers N]
Prints clips per second for each; the target is 200 clips of 16 frames at 64x64 in <= 30 s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig, write_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None, help="default: the available cores")
    args = parser.parse_args()
    torch.set_num_threads(1)  # nothing here uses torch; keep it from competing for the cores
    config = WorldConfig(train_clips=args.clips, val_clips=0, num_frames=args.frames, width=args.size,
                         height=args.size)

    world = SyntheticWorld(config)
    start = time.perf_counter()
    for i in range(args.clips):
        world.render_clip("train", i)
    render_s = time.perf_counter() - start
    print(f"render only (1 process): {args.clips} clips in {render_s:.2f} s = {args.clips / render_s:.1f} clips/s")

    out = Path(tempfile.mkdtemp(prefix="synth_speed_"))
    try:
        start = time.perf_counter()
        write_world(config, out, workers=args.workers)
        total_s = time.perf_counter() - start
    finally:
        shutil.rmtree(out)
    print(f"render + write png, mp4, CocoVID, YouTube-VIS, MOT, captions: {args.clips} clips in "
          f"{total_s:.2f} s = {args.clips / total_s:.1f} clips/s")


if __name__ == "__main__":
    main()
