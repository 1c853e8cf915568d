"""The EMA weights of a training checkpoint, in a file of our own: ``ema.safetensors``.

Tensors are named by parameter (not stored in the order of a list) and the EMA's step count is
in the metadata, so export and resume read them without accelerate's private pickle of a
registered object. Checkpoints written before keep theirs in ``custom_checkpoint_0.pkl``
(accelerate's name for the first registered object) and still load.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

EMA_FILE = "ema.safetensors"
LEGACY_EMA_FILE = "custom_checkpoint_0.pkl"


def save_ema(ema, names: list[str], folder: Path) -> None:
    """Write the shadow weights of ``ema`` (one per trained parameter ``names``) into ``folder``."""
    tensors = {n: s.detach().cpu().contiguous() for n, s in zip(names, ema.shadow_params, strict=True)}
    save_file(tensors, Path(folder) / EMA_FILE, metadata={"optimization_step": str(ema.optimization_step)})


def load_ema(folder: Path, names: list[str]) -> tuple[list[torch.Tensor], int]:
    """``(shadow weights in the order of names, EMA step)`` of the checkpoint ``folder``."""
    folder = Path(folder)
    if (folder / EMA_FILE).is_file():
        tensors = load_file(folder / EMA_FILE)
        missing = [n for n in names if n not in tensors]
        if missing or len(tensors) != len(names):
            raise ValueError(f"{folder / EMA_FILE}: EMA weights of {len(tensors)} parameters do not match the "
                             f"{len(names)} trained ones (missing e.g. {missing[:3]})")
        with safe_open(folder / EMA_FILE, "pt") as f:
            step = int((f.metadata() or {}).get("optimization_step", 0))
        return [tensors[n] for n in names], step
    if (folder / LEGACY_EMA_FILE).is_file():
        state = torch.load(folder / LEGACY_EMA_FILE, weights_only=True)
        if len(state["shadow_params"]) != len(names):
            raise ValueError(f"{folder}: {len(state['shadow_params'])} EMA tensors for {len(names)} trained parameters")
        return list(state["shadow_params"]), int(state.get("optimization_step", 0))
    raise FileNotFoundError(f"{folder} has no EMA weights ({EMA_FILE}); export with ema=False")


@torch.no_grad()
def restore_ema(ema, names: list[str], folder: Path) -> None:
    """Put the EMA state of checkpoint ``folder`` back into ``ema`` (resume)."""
    shadow, step = load_ema(folder, names)
    for target, value in zip(ema.shadow_params, shadow, strict=True):
        target.copy_(value)
    ema.optimization_step = step
