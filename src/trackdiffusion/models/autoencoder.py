"""The latent space's autoencoder: diffusers' ``AutoencoderKL``, or its ``AsymmetricAutoencoderKL``
(the same encoder, a larger decoder) when a decoder was retrained to draw sharper shapes without
changing the latents a UNet was trained on (``train-vae --decoder-channels``).

Both are read through :func:`load_autoencoder`, which picks the class a folder's ``config.json``
names, so a checkpoint with either loads the same way, in diffusers as here.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AsymmetricAutoencoderKL, AutoencoderKL

AUTOENCODERS = {cls.__name__: cls for cls in (AutoencoderKL, AsymmetricAutoencoderKL)}
Autoencoder = AutoencoderKL | AsymmetricAutoencoderKL


def load_autoencoder(path: str | Path, torch_dtype: torch.dtype = torch.float32) -> Autoencoder:
    """The autoencoder at ``path``, of the class its ``config.json`` names; a clear error for a
    missing file or another class."""
    config = Path(path) / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"no autoencoder at {path}: expected a diffusers folder with config.json and "
                                "diffusion_pytorch_model.safetensors (e.g. the vae/ folder of a checkpoint, or "
                                "the final/ folder of `trackdiffusion train-vae`)")
    name = json.loads(config.read_text()).get("_class_name", "AutoencoderKL")
    if name not in AUTOENCODERS:
        raise ValueError(f"{config}: _class_name {name!r} is not an autoencoder this project reads "
                         f"({', '.join(AUTOENCODERS)})")
    return AUTOENCODERS[name].from_pretrained(path, local_files_only=True, torch_dtype=torch_dtype)
