"""The folders :meth:`TrackDiffusionPipeline.from_pretrained` reads, and how it builds each component.

Three layouts, told apart by their files (:func:`detect_layout`):

- ``trackdiffusion``: what ``save_pretrained`` writes, a standard diffusers pipeline folder:
  ``model_index.json`` naming ``TrackDiffusionPipeline`` and every component (``unet/``, ``vae/``,
  ``text_encoder/``, ``tokenizer/``, ``scheduler/``) in its subfolder; nothing outside it.
- ``text-to-video``: a diffusers text-to-video folder, e.g. ModelScope's (``TextToVideoSDPipeline``
  layout, ``unet/`` a ``UNet3DConditionModel``). The UNet gets the tracklet modules as the
  identity (:meth:`TrackDiffusionUNet.from_unet3d`), the VAE, CLIP and tokenizer load as they
  are, and DPM-Solver++ samples on the noise schedule of its ``scheduler/``.
- ``legacy``: checkpoints written before pipelines were diffusers folders (``trackdiffusion.json``
  with the text encoder's name, e.g. ``assets/tiny-synthetic``). ``trackdiffusion
  convert-checkpoint OLD NEW`` rewrites one as a ``trackdiffusion`` folder.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler

from ..models import TrackDiffusionUNet
from ..models.autoencoder import load_autoencoder
from ..models.text_encoder import MINILM, load_text_encoder
from ..models.variants import SIZES, TRACK_OPTIONS
from .schedulers import sampling_scheduler

MODEL_INDEX = "model_index.json"
LEGACY_FILE = "trackdiffusion.json"
PIPELINE_CLASS = "TrackDiffusionPipeline"


def detect_layout(path: Path) -> str:
    """``"trackdiffusion"``, ``"text-to-video"`` or ``"legacy"``; an error says what is missing."""
    index = path / MODEL_INDEX
    if index.is_file():
        name = json.loads(index.read_text()).get("_class_name")
        name = name[-1] if isinstance(name, list) else name
        if name == PIPELINE_CLASS:
            return "trackdiffusion"
        unet_config = path / "unet" / "config.json"
        if unet_config.is_file() and json.loads(unet_config.read_text()).get("_class_name") == "UNet3DConditionModel":
            return "text-to-video"
        raise ValueError(f"{index} describes a {name}, not a TrackDiffusionPipeline nor a text-to-video pipeline "
                         f"whose unet/ is a UNet3DConditionModel ({unet_config})")
    if (path / LEGACY_FILE).is_file():
        return "legacy"
    raise FileNotFoundError(
        f"{path} is not a pipeline folder: {index} is missing (expected a diffusers pipeline folder — ours, or a "
        f"ModelScope text-to-video one with unet/ vae/ text_encoder/ tokenizer/ scheduler/ — or an old "
        f"checkpoint with {LEGACY_FILE})")


def base_track_options(text_dim: int, overrides: dict | None = None) -> dict:
    """Tracklet-module options for a pretrained text-to-video UNet: the ``modelscope`` preset's,
    location tokens as wide as the UNet's text context, categories embedded by its text encoder."""
    options = {k: v for k, v in SIZES["modelscope"].items() if k in TRACK_OPTIONS and k != "location_token_dim"}
    options["category_embed_dim"] = text_dim
    unknown = sorted(set(overrides or {}) - set(TRACK_OPTIONS))
    if unknown:
        raise ValueError(f"track_options: unknown option(s) {unknown}; known: {sorted(TRACK_OPTIONS)}")
    return {**options, **(overrides or {})}


def load_components(path: str | Path, torch_dtype: torch.dtype = torch.float32, track_options: dict | None = None,
                    text_encoder: str | None = None) -> dict:
    """The keyword arguments of ``TrackDiffusionPipeline(...)`` for the folder ``path``.

    ``track_options`` configure the tracklet modules added to a text-to-video UNet (ignored
    otherwise: a trained model's are in its config); ``text_encoder`` replaces the text encoder.
    """
    path = Path(path)
    layout = detect_layout(path)
    # checked here: diffusers takes a missing local folder for a hub id and answers with a network error
    missing = [f for f in ("unet/config.json", "scheduler/scheduler_config.json") if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: a pipeline folder needs {' and '.join(missing)}, missing here")
    if layout == "legacy":
        return _legacy_components(path, torch_dtype, text_encoder)
    if layout == "trackdiffusion" and track_options:
        raise ValueError(f"{path} is a trained TrackDiffusionPipeline: its tracklet modules are fixed by "
                         "unet/config.json, track_options apply to text-to-video base models only")
    encoder, tokenizer = load_text_encoder(text_encoder or path, torch_dtype)
    vae = load_autoencoder(path / "vae", torch_dtype) if (path / "vae" / "config.json").is_file() else None
    if layout == "trackdiffusion":
        index = json.loads((path / MODEL_INDEX).read_text())
        unet = TrackDiffusionUNet.from_pretrained(path / "unet", torch_dtype=torch_dtype, local_files_only=True)
        library, name = index["scheduler"]
        scheduler = _unclipped(getattr(importlib.import_module(library), name).from_pretrained(path / "scheduler"))
        return dict(vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                    text_max_length=index.get("text_max_length"))
    unet = TrackDiffusionUNet.from_unet3d(path / "unet", **base_track_options(encoder.config.hidden_size, track_options))
    if unet.config.cross_attention_dim != encoder.config.hidden_size:
        raise ValueError(f"{path}: unet/ expects {unet.config.cross_attention_dim}-d text states, "
                         f"text_encoder/ gives {encoder.config.hidden_size}-d")
    scheduler = sampling_scheduler(DPMSolverMultistepScheduler.load_config(path / "scheduler"))
    return dict(vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=cast_(unet, torch_dtype).eval(),
                scheduler=scheduler, text_max_length=None)


def _legacy_components(path: Path, torch_dtype: torch.dtype, text_encoder: str | None) -> dict:
    meta = json.loads((path / LEGACY_FILE).read_text())
    unet = TrackDiffusionUNet.from_pretrained(path / "unet", torch_dtype=torch_dtype, local_files_only=True)
    vae = load_autoencoder(path / "vae", torch_dtype) if (path / "vae").is_dir() else None
    scheduler = _unclipped(DPMSolverMultistepScheduler.from_pretrained(path / "scheduler"))
    name = text_encoder or meta.get("text_encoder", MINILM)
    if name != MINILM and not Path(name).is_absolute() and (path / name).is_dir():
        name = path / name  # a relative folder is the checkpoint's own, not the working directory's
    encoder, tokenizer = load_text_encoder(name, torch_dtype)
    return dict(vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                text_max_length=meta.get("text_max_length"))


def _unclipped(scheduler):
    """``scheduler`` with ``clip_sample: false`` in its config where a checkpoint exported before
    ``sampling_scheduler`` wrote the key lacks it (see there: a DDIM swapped in clipped latents)."""
    if "clip_sample" not in scheduler.config:
        scheduler.register_to_config(clip_sample=False)
    return scheduler


def cast_(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """Floating tensors of ``module`` to ``dtype`` in place (assigned directly: ModelMixin.to warns on casts)."""
    for tensor in [*module.parameters(), *module.buffers()]:
        if tensor.is_floating_point():
            tensor.data = tensor.data.to(dtype)
    return module
