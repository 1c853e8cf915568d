"""Expected GPU memory per training process, from a measured parameter and activation count.

The UNet is built on the meta device (no memory, no weights) and one training forward pass runs
there with a hook on every tensor autograd saves for the backward pass: their total size is the
activation memory of a step (counted once per tensor object; an upper bound where two saved
tensors share storage). Parameter memory follows from the count: bf16 mixed precision as accelerate
runs it keeps fp32 weights (4 B), fp32 gradients of the trained parameters (4 B) and AdamW's two
fp32 moments (8 B), plus the EMA copy (4 B) of the trained parameters.

    python benchmarks/memory_estimate.py --size modelscope --frames 16 --height 256 --width 256
"""

from __future__ import annotations

import argparse
import json

import torch

from trackdiffusion.models import TrackDiffusionUNet, unet_config
from trackdiffusion.training.stages import trainable_parameters, uses_temporal_layers

GIB = 2 ** 30


def activation_bytes(model, stage: str, batch: int, frames: int, latent: tuple[int, int], instances: int,
                     text_tokens: int, dtype: torch.dtype) -> int:
    """Bytes autograd saves during one forward pass on the meta device."""
    cfg = model.config
    h, w = latent
    seen: dict[int, int] = {}

    def pack(t):
        seen.setdefault(id(t), t.numel() * t.element_size())
        return t

    xy = torch.full((batch, frames, instances, 2), 0.25, device="meta")
    inputs = dict(
        sample=torch.empty(batch, cfg.in_channels, frames, h, w, device="meta", dtype=dtype),
        timestep=torch.zeros(batch, dtype=torch.long, device="meta"),
        encoder_hidden_states=torch.empty(batch, text_tokens, cfg.cross_attention_dim, device="meta", dtype=dtype),
        boxes=torch.cat([xy, xy + 0.5], -1), present=torch.ones(batch, frames, instances, dtype=torch.bool, device="meta"),
        category_embeds=torch.empty(batch, instances, cfg.category_embed_dim, device="meta", dtype=dtype),
        instance_slots=torch.zeros(batch, instances, dtype=torch.long, device="meta"),
    )
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(**inputs, temporal=uses_temporal_layers(stage))
    return sum(seen.values())


def estimate(size: str, stage: str, batch: int, frames: int, height: int, width: int, instances: int,
             text_tokens: int, checkpointing: bool, text_dim: int = 1024) -> dict:
    with torch.device("meta"):
        model = TrackDiffusionUNet(**unet_config(size, cross_attention_dim=text_dim, category_embed_dim=text_dim))
    model.to(torch.bfloat16)  # autocast runs the layers in bf16: activations are bf16
    if checkpointing:
        model.enable_gradient_checkpointing()
    model.train()
    total = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for _, p in trainable_parameters(model, stage))
    acts = activation_bytes(model, stage, batch, frames, (height // 8, width // 8), instances, text_tokens,
                            torch.bfloat16)
    state = total * 4 + trained * (4 + 8 + 4)
    return dict(size=size, stage=stage, batch=batch, frames=frames, height=height, width=width,
                instances=instances, gradient_checkpointing=checkpointing, parameters=total, trained=trained,
                activation_bytes=acts,
                weights_optimizer_ema_gib=round(state / GIB, 2), activations_gib=round(acts / GIB, 2),
                total_gib=round((state + acts) / GIB, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="modelscope")
    parser.add_argument("--stage", default="image")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--text-tokens", type=int, default=77)
    parser.add_argument("--checkpointing", action="store_true")
    a = parser.parse_args()
    print(json.dumps(estimate(a.size, a.stage, a.batch, a.frames, a.height, a.width, a.instances, a.text_tokens,
                              a.checkpointing)))


if __name__ == "__main__":
    main()
