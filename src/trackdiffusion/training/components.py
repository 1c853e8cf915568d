"""Building the models a training run needs from its config (all from local files)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch
from diffusers import DDPMScheduler

from ..models import TrackDiffusionUNet, unet_config
from ..models.autoencoder import Autoencoder, load_autoencoder
from ..models.text_encoder import MINILM, PromptEncoder, load_text_encoder
from ..models.variants import TRACK_OPTIONS
from ..pipelines.loading import detect_layout
from ..pipelines.schedulers import COSINE_LAMBDA_MIN, sampling_scheduler  # noqa: F401  (re-exported)
from .config import ModelConfig, TrainConfig

def noise_scheduler(cfg: TrainConfig) -> DDPMScheduler:
    """The training noise schedule (``diffusion``, read from a pretrained scheduler where given)."""
    return DDPMScheduler.from_config(cfg.diffusion.resolved(cfg.model.pretrained))


def vae_path(cfg: TrainConfig) -> str | None:
    """``model.vae``, else the pretrained folder's ``vae/``, else None (pixel space)."""
    if cfg.model.vae or not cfg.model.pretrained:
        return cfg.model.vae
    folder = Path(cfg.model.pretrained) / "vae"
    return str(folder) if (folder / "config.json").is_file() else None


def text_encoder_source(cfg: TrainConfig) -> str:
    """``model.text_encoder``, else the pretrained folder (its text_encoder/ and tokenizer/), else MiniLM."""
    return cfg.model.text_encoder or cfg.model.pretrained or MINILM


def load_vae(path: str | None) -> Autoencoder | None:
    if path is None:
        return None
    return load_autoencoder(path).requires_grad_(False).eval()


def latent_layout(vae: Autoencoder | None) -> tuple[int, int]:
    """(channels, downsampling factor) of the space the UNet denoises: the VAE's latents, or RGB pixels."""
    if vae is None:
        return 3, 1
    return vae.config.latent_channels, 2 ** (len(vae.config.block_out_channels) - 1)


def load_prompt_encoder(cfg: TrainConfig) -> PromptEncoder:
    # Cached: every text is encoded alone, so a resumed run's fresh cache holds the same bits (see
    # PromptEncoder); the appearance phrases of a batch (~100 texts) would otherwise cost a pass each step.
    return PromptEncoder(*load_text_encoder(text_encoder_source(cfg)), max_length=cfg.model.text_max_length)


# Options a trained checkpoint may be given afterwards, with the one value each may take:
# appearance phrases add a module that starts as the identity; switching the identity embedding or the
# instance enhancer off drops its modules, so the Table 4 ablations all start from one backbone (the same
# function when those paths are still at their identity start - zero identity bank, zeroed injector
# outputs - as after a spatial stage, which does not train them).
CHANGEABLE_OPTIONS = {"appearance_phrases": True, "use_identity_embedding": False, "use_instance_enhancer": False}


def _changed_options(options: dict, saved: dict, unet_dir: Path, changeable: dict) -> dict:
    """The ``model.options`` that change a checkpoint's UNet (only ``changeable`` may); options
    equal to the checkpoint's own are accepted, so one config serves from scratch and continued."""
    changed = {k: v for k, v in options.items() if saved.get(k) != v}
    refused = sorted(k for k, v in changed.items() if k not in changeable or changeable[k] not in (v, None))
    if refused:
        raise ValueError(f"model.options {refused} differ from {unet_dir / 'config.json'} "
                         f"({ {k: saved.get(k) for k in refused} }): a trained UNet cannot change them "
                         f"(only {changeable} can be set; None: any value)")
    # low_cpu_mem_usage=False: the added modules get their own (zero) initialisation, not empty memory
    return {**changed, "low_cpu_mem_usage": False} if changed else {}


def _from_checkpoint(m: ModelConfig, path: Path, latent_channels: int, sample_size: int) -> TrackDiffusionUNet:
    """A trained UNet to continue from; with ``model.reset_latent_io`` its body moves to a new latent
    space (another VAE, or ``options.patch_size``): conv_in and conv_out are rebuilt for it and start
    afresh (conv_out at zero, so the first prediction is 0 whatever the new input convolution does)."""
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"model.init_checkpoint: {path} has no TrackDiffusionUNet (config.json missing)")
    saved = json.loads((path / "config.json").read_text())
    latent = {"in_channels": latent_channels, "out_channels": latent_channels}
    moved = {k: (saved.get(k), v) for k, v in latent.items() if saved.get(k) != v}
    if moved and not m.reset_latent_io:
        raise ValueError(f"model.init_checkpoint: {path / 'config.json'} was trained on another latent space than "
                         f"model.vae gives ({moved}: checkpoint, VAE); set model.reset_latent_io=true to keep its "
                         "body and start conv_in / conv_out afresh")
    changeable = {**CHANGEABLE_OPTIONS, "patch_size": None} if m.reset_latent_io else CHANGEABLE_OPTIONS
    kwargs = _changed_options(m.options, saved, path, changeable)
    if m.reset_latent_io:
        kwargs.update(latent, sample_size=sample_size, low_cpu_mem_usage=False, ignore_mismatched_sizes=True)
    unet = TrackDiffusionUNet.from_pretrained(path, torch_dtype=torch.float32, **kwargs)
    if m.reset_latent_io:
        unet.conv_in.reset_parameters()
        torch.nn.init.zeros_(unet.conv_out.weight)
        torch.nn.init.zeros_(unet.conv_out.bias)
    return unet


def build_unet(cfg: TrainConfig, text_dim: int, latent_channels: int, vae_factor: int) -> TrackDiffusionUNet:
    """From a pretrained pipeline folder (ModelScope's or ours), our checkpoint, a diffusers UNet3D, or a fresh preset."""
    m = cfg.model
    layout = detect_layout(Path(m.pretrained)) if m.pretrained else None
    if cfg.data.height % vae_factor or cfg.data.width % vae_factor:
        raise ValueError(f"data.width/height must be divisible by the VAE factor {vae_factor}")
    if m.init_checkpoint or layout in ("trackdiffusion", "legacy"):
        return _from_checkpoint(m, Path(m.init_checkpoint or m.pretrained) / "unet", latent_channels,
                                cfg.data.height // vae_factor)
    preset = unet_config(m.size, m.variant, **m.options)
    if m.init_unet3d or layout == "text-to-video":
        track = {k: v for k, v in preset.items() if k in TRACK_OPTIONS}
        track["category_embed_dim"] = text_dim
        unet = TrackDiffusionUNet.from_unet3d(m.init_unet3d or Path(m.pretrained) / "unet", **track)
        if unet.config.cross_attention_dim != text_dim:
            raise ValueError(f"the pretrained UNet expects {unet.config.cross_attention_dim}-d text tokens but "
                             f"model.text_encoder gives {text_dim}-d: use the text encoder it was trained with")
        return unet
    preset.update(cross_attention_dim=text_dim, category_embed_dim=text_dim, in_channels=latent_channels,
                  out_channels=latent_channels, sample_size=cfg.data.height // vae_factor)
    accepted = inspect.signature(TrackDiffusionUNet.__init__).parameters
    unknown = sorted(set(preset) - set(accepted))
    if unknown:
        raise ValueError(f"model.options: unknown TrackDiffusionUNet option(s) {unknown}")
    return TrackDiffusionUNet(**preset)
