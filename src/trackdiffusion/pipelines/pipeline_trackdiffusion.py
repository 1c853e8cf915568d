"""``TrackDiffusionPipeline``: caption + tracklets -> video (paper Sec. 3-4).

Default sampler: DPM-Solver++ (multistep), 50 steps, classifier-free guidance 5.0 (the paper).
The unconditional branch is the empty prompt with every box masked, as in training. With
``box_guidance_scale`` set, text and boxes are guided separately:
``eps = eps(0, 0) + s_text (eps(text, 0) - eps(0, 0)) + s_box (eps(text, boxes) - eps(text, 0))``.
``guidance_rescale`` (phi, as diffusers' Stable Diffusion pipelines take it; Lin et al. 2023,
"Common Diffusion Noise Schedules and Sample Steps are Flawed", Sec. 3.4) pulls the guided
prediction's per-clip std back towards the fully conditioned branch's: large guidance scales
over-expose v-prediction models, and ours predicts v.
``vae=None`` means the UNet works in pixel space.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from einops import rearrange

from ..models import TrackDiffusionUNet
from ..models.autoencoder import Autoencoder
from ..models.text_encoder import PromptEncoder
from ..tracklets import Clip
from .inputs import check_inputs, prepare_tracklets
from .loading import MODEL_INDEX, PIPELINE_CLASS, cast_, load_components

SHIM_MODULE = "pipeline_trackdiffusion"


@dataclass
class TrackDiffusionPipelineOutput(BaseOutput):
    """``frames``: uint8 ``[B, T, H, W, 3]`` (``output_type="np"``) or float ``[B, T, 3, H, W]`` in
    [-1, 1] (``"pt"``); ``tracklets``: the input tracklets at the output resolution."""

    frames: np.ndarray | torch.Tensor
    tracklets: list[Clip]


def frame_multiple(vae_factor: int, unet_config) -> int:
    """Frame sizes must be multiples of this: the VAE's downsampling x the UNet's patches x its own
    downsamplings (``unet_config``: a UNet's config or its config.json, read by checkpoints unloaded)."""
    return vae_factor * unet_config.get("patch_size", 1) * 2 ** (len(unet_config["block_out_channels"]) - 1)


def rescale_guidance(guided: torch.Tensor, conditional: torch.Tensor, phi: float) -> torch.Tensor:
    """``phi * guided * std(conditional) / std(guided) + (1 - phi) * guided``, the stds per clip over
    ``[C, T, h, w]`` (inputs ``[B, C, T, h, w]``), in fp32 whatever the weights' dtype."""
    g, c = guided.float(), conditional.float()
    dims = tuple(range(1, g.dim()))
    rescaled = g * (c.std(dim=dims, keepdim=True) / g.std(dim=dims, keepdim=True))
    return (phi * rescaled + (1 - phi) * g).to(guided.dtype)


class TrackDiffusionPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->unet->vae"
    _optional_components = ["vae"]

    def __init__(self, vae: Autoencoder | None, text_encoder, tokenizer, unet: TrackDiffusionUNet,
                 scheduler, text_max_length: int | None = None):
        super().__init__()
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler)
        self.register_to_config(text_max_length=text_max_length)
        self.prompt_encoder = PromptEncoder(text_encoder, tokenizer, text_max_length)

    # ------------------------------------------------------------------ geometry
    @property
    def vae_scale_factor(self) -> int:
        return 1 if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def size_factor(self) -> int:
        """Frame sizes must be multiples of this."""
        return frame_multiple(self.vae_scale_factor, self.unet.config)

    def default_size(self) -> tuple[int, int]:
        s = self.unet.config.sample_size
        if s is None:
            raise ValueError("the UNet config has no sample_size: pass height and width")
        return s * self.vae_scale_factor, s * self.vae_scale_factor

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        tracklets,
        category_names: dict[int, str] | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 5.0,
        box_guidance_scale: float | None = None,
        guidance_rescale: float = 0.0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "np",
        clip_names: list[str] | None = None,
        return_dict: bool = True,
        callback_on_step_end: Callable[["TrackDiffusionPipeline", int, torch.Tensor, dict], dict | None] | None = None,
    ) -> TrackDiffusionPipelineOutput | tuple:
        """Generate one clip per tracklet clip.

        Args:
            prompt: one caption, or one per clip.
            tracklets: a :class:`Clip`, a list of clips, or :class:`TrackletTensors` (boxes
                ``[(B,) T, N, 4]`` normalized xyxy) with ``category_names``. A clip's instances may
                carry appearance phrases (:attr:`Instance.phrase`) for models trained with them.
            num_frames: T (defaults to the tracklets'; must agree).
            height, width: output size (default: the model's native size).
            num_inference_steps, guidance_scale, box_guidance_scale: sampler settings.
            guidance_rescale: phi in [0, 1]; 0 (default) leaves the guided prediction as it is.
            generator: torch generator(s) for reproducible noise.
            latents: optional initial noise ``[B, C, T, h, w]``.
            output_type: ``"np"`` (uint8) or ``"pt"`` (float in [-1, 1]).
            callback_on_step_end: called as diffusers does, ``(pipe, step, timestep, {"latents": ...})``
                after each denoising step (progress, cancelling by raising); a returned dict's
                ``"latents"`` replaces the latents.
        """
        prepared = prepare_tracklets(tracklets, category_names)
        B, T, N = prepared.tensors.present.shape
        prompts = [prompt] * B if isinstance(prompt, str) else list(prompt)
        if height is None or width is None:
            height, width = self.default_size()
        check_inputs(prompts, prepared, num_frames, height, width, self.size_factor,
                     self.unet.location_tokens.bank_size, guidance_scale,
                     takes_phrases=self.unet.location_tokens.phrase is not None,
                     box_guidance_scale=box_guidance_scale, guidance_rescale=guidance_rescale)
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}")
        device, dtype = self._execution_device, self.unet.dtype
        separate = box_guidance_scale is not None
        cfg = guidance_scale > 1.0 or separate
        cond = self._conditioning(prompts, prepared, device, dtype, cfg, separate)

        self.scheduler.set_timesteps(num_inference_steps, device=device)
        shape = (B, self.unet.config.in_channels, T, height // self.vae_scale_factor, width // self.vae_scale_factor)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents have shape {tuple(latents.shape)}, expected {shape}")
        latents = latents.to(device) * self.scheduler.init_noise_sigma
        branches = len(cond["encoder_hidden_states"]) // B
        for i, t in enumerate(self.progress_bar(self.scheduler.timesteps)):
            model_in = self.scheduler.scale_model_input(torch.cat([latents] * branches), t)
            eps = self.unet(model_in, t, **cond).sample.chunk(branches)
            if not cfg:
                guided = eps[0]
            elif separate:  # order: uncond, text only, text + boxes
                guided = eps[0] + guidance_scale * (eps[1] - eps[0]) + box_guidance_scale * (eps[2] - eps[1])
            else:  # order: uncond, text + boxes
                guided = eps[0] + guidance_scale * (eps[1] - eps[0])
            if cfg and guidance_rescale > 0:
                guided = rescale_guidance(guided, eps[-1], guidance_rescale)
            latents = self.scheduler.step(guided, t, latents).prev_sample
            if callback_on_step_end is not None:
                latents = (callback_on_step_end(self, i, t, {"latents": latents}) or {}).get("latents", latents)

        frames = self.decode_latents(latents)  # [B, T, 3, H, W] in [-1, 1]
        if output_type == "np":
            frames = to_uint8(frames)
        names = clip_names or [f"clip_{b:04d}" for b in range(B)]
        out = TrackDiffusionPipelineOutput(frames=frames, tracklets=prepared.to_clips(width, height, names))
        return out if return_dict else (out.frames, out.tracklets)

    def _conditioning(self, prompts, prepared, device, dtype, cfg: bool, separate: bool) -> dict:
        """UNet keyword inputs for every guidance branch, stacked along the batch."""
        t = prepared.tensors.to(device)
        B, T, N = t.present.shape
        text = self.prompt_encoder.encode(prompts).to(device, dtype)
        flat = [n for row in prepared.names for n in row]
        cats = self.prompt_encoder.embed_categories(flat).to(device, dtype).reshape(B, N, -1)
        slots = torch.arange(N, device=device).expand(B, N)  # any distinct assignment works
        boxes, present = t.boxes.to(dtype), t.present
        phrases = {}
        if prepared.has_phrases:  # else every instance gets the category-only token
            embeds, has = self.prompt_encoder.embed_phrases(prepared.phrases)
            phrases = dict(phrase_embeds=embeds.to(device, dtype), has_phrase=has.to(device))
        if not cfg:
            return dict(encoder_hidden_states=text, boxes=boxes, present=present,
                        category_embeds=cats, instance_slots=slots, **phrases)
        empty = self.prompt_encoder.encode([""] * B).to(device, dtype)
        none = torch.zeros_like(present)
        texts = [empty, text, text] if separate else [empty, text]
        masks = [none, none, present] if separate else [none, present]
        k = len(texts)
        return dict(encoder_hidden_states=torch.cat(texts), boxes=boxes.repeat(k, 1, 1, 1),
                    present=torch.cat(masks), category_embeds=cats.repeat(k, 1, 1),
                    instance_slots=slots.repeat(k, 1), **{name: v.repeat(k, *[1] * (v.dim() - 1))
                                                         for name, v in phrases.items()})

    def decode_latents(self, latents: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """``[B, C, T, h, w]`` latents -> ``[B, T, 3, H, W]`` frames in [-1, 1]."""
        B = latents.shape[0]
        flat = rearrange(latents, "b c t h w -> (b t) c h w")
        if self.vae is not None:
            flat = flat / self.vae.config.scaling_factor
            flat = torch.cat([self.vae.decode(x.to(self.vae.dtype)).sample for x in flat.split(chunk)])
        return rearrange(flat.float().clamp(-1, 1), "(b t) c h w -> b t c h w", b=B)

    # ------------------------------------------------------------------ folders
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, torch_dtype: torch.dtype = torch.float32,
                        device: str | torch.device | None = None, track_options: dict | None = None,
                        text_encoder: str | None = None) -> "TrackDiffusionPipeline":
        """Load a local pipeline folder; nothing is downloaded.

        Args:
            pretrained_model_name_or_path: a folder written by :meth:`save_pretrained`, a diffusers
                text-to-video folder (ModelScope: the tracklet modules are added as the identity,
                its scheduler, tokenizer and CLIP are read), or an old ``trackdiffusion.json``
                checkpoint (see :mod:`.loading`).
            torch_dtype: dtype of every model (``torch.bfloat16`` on a GPU; float32 on a CPU).
            device: move the pipeline there (e.g. ``"cuda"``); same as ``.to(device)`` afterwards.
            track_options: TrackDiffusionUNet options of the tracklet modules added to a
                text-to-video base model (e.g. ``{"enhancer_placement": "both"}``).
            text_encoder: use this text encoder (``"minilm"`` or a folder) instead of the folder's.
        """
        pipe = cls(**load_components(pretrained_model_name_or_path, torch_dtype, track_options, text_encoder))
        return pipe if device is None else pipe.to(device)

    @classmethod
    def from_checkpoint(cls, path: str | Path, text_encoder: str | None = None,
                        torch_dtype: torch.dtype = torch.float32) -> "TrackDiffusionPipeline":
        """The former name of :meth:`from_pretrained` (reads every layout it reads)."""
        return cls.from_pretrained(path, torch_dtype=torch_dtype, text_encoder=text_encoder)

    def save_pretrained(self, save_directory: str | Path, dtype: torch.dtype | None = None, **kwargs) -> None:
        """Write a standard diffusers pipeline folder: ``model_index.json`` and every component
        (safetensors) in its subfolder, the text encoder's weights included.

        ``dtype=torch.float16`` stores half-precision weights. ``from_pretrained`` of this class
        reads it; so does ``diffusers.DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)``
        (``model_index.json`` names the class through ``pipeline_trackdiffusion.py``, a one-line
        import of this package written next to it).
        """
        target = self if dtype is None else TrackDiffusionPipeline(
            *[None if m is None else cast_(copy.deepcopy(m), dtype) for m in (self.vae, self.text_encoder)],
            self.tokenizer, cast_(copy.deepcopy(self.unet), dtype), self.scheduler, self.prompt_encoder.max_length)
        if dtype is None and self.config.text_max_length != self.prompt_encoder.max_length:
            target.register_to_config(text_max_length=self.prompt_encoder.max_length)
        DiffusionPipeline.save_pretrained(target, save_directory, safe_serialization=True, **kwargs)
        folder = Path(save_directory)
        index = json.loads((folder / MODEL_INDEX).read_text())
        index["_class_name"] = [SHIM_MODULE, PIPELINE_CLASS]
        (folder / MODEL_INDEX).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        (folder / f"{SHIM_MODULE}.py").write_text(
            '"""Lets diffusers find TrackDiffusionPipeline (pip install trackdiffusion)."""\n\n'
            "from trackdiffusion.pipelines import TrackDiffusionPipeline  # noqa: F401\n")


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """``[..., 3, H, W]`` in [-1, 1] -> uint8 ``[..., H, W, 3]``."""
    x = ((frames.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.movedim(-3, -1).cpu().numpy()
