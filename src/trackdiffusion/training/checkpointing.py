"""Checkpoints that survive a killed job: atomic writes, exact resume, the last K kept.

A checkpoint is an ``accelerate`` state folder (model, optimizer, LR schedule, EMA, RNG states of
every process) plus ``trainer_state.json`` (step and config). It is written to ``<name>.tmp`` and
renamed when complete, so a job killed mid-write leaves the previous checkpoint intact and the
half-written one is ignored (and cleaned up) on resume.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

PREFIX = "step-"
STATE_FILE = "trainer_state.json"


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = checkpoint_dir(output_dir)
    if not root.is_dir():
        return []
    done = [p for p in root.iterdir() if p.name.startswith(PREFIX) and not p.name.endswith(".tmp")
            and (p / STATE_FILE).is_file()]
    return sorted(done, key=lambda p: int(p.name[len(PREFIX):]))


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def save_checkpoint(accelerator, output_dir: str | Path, step: int, state: dict, keep_last: int,
                    extra=None) -> Path:
    """Write the checkpoint of ``step`` atomically and prune to the last ``keep_last``.

    ``extra(folder)``, run on the main process, writes more files into the checkpoint before it
    is complete (the EMA weights).
    """
    final = checkpoint_dir(output_dir) / f"{PREFIX}{step:08d}"
    tmp = final.with_name(final.name + ".tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if extra is not None:
            extra(tmp)
        (tmp / STATE_FILE).write_text(json.dumps({"step": step, **state}, indent=2) + "\n")
        if final.exists():  # re-saving the same step (e.g. after a resume at the very end)
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in list_checkpoints(output_dir)[:-keep_last]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator, path: str | Path) -> dict:
    """Restore everything ``accelerator`` tracks from ``path``; return the trainer state."""
    path = Path(path)
    state_file = path / STATE_FILE
    if not state_file.is_file():
        raise FileNotFoundError(f"{path} is not a complete checkpoint ({STATE_FILE} missing)")
    accelerator.load_state(str(path))
    return json.loads(state_file.read_text())
