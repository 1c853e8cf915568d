"""Which parameters each training stage trains (paper Sec. 4.1 "Details").

- ``image`` (stage 1): single-image layout control — temporal layers bypassed (frames are
  independent images); trains the location tokens (Eq. 3) and the gated self-attention (Eq. 5).
- ``video`` (stage 2): temporal layers (temporal convolutions and transformers), identity
  embeddings (Eq. 4), trajectory encoder and temporal instance enhancers with their injection
  (Eq. 6-8); the gated self-attention stays frozen.
- ``spatial``: the image stage of a model trained from scratch: every parameter that works on
  single frames (all but the temporal layers, the identity embeddings and the enhancers), with
  temporal layers bypassed. Training on independent frames is about half the cost per frame of
  a video step, and shapes, colours and backgrounds are single-frame properties.
- ``full``: everything (the video stage of a model trained from scratch).
"""

from __future__ import annotations

from diffusers.models.resnet import TemporalConvLayer
from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel
from torch import nn

from ..models.instance_enhancer import TemporalInstanceEnhancer
from ..models.transformer import TrackTransformerBlock
from .config import STAGES

TEMPORAL_LAYERS = (TemporalConvLayer, TransformerTemporalModel)


def stage_modules(model: nn.Module) -> dict[str, list[nn.Module]]:
    """The modules of each named part, found by type and by the attribute that holds them (not by
    matching names): ``image`` (location-token MLP and phrase projection, gated self-attention)
    and ``video`` (temporal layers, identity bank, trajectory encoder, instance enhancers and injectors)."""
    image, video = [], []
    tokens = getattr(model, "location_tokens", None)
    if tokens is not None:
        image += [tokens.mlp, tokens.phrase]  # phrases, like categories, are single-frame conditions
        video.append(tokens.identity)
    video.append(getattr(model, "trajectory_encoder", None))
    for module in model.modules():
        if isinstance(module, TrackTransformerBlock):
            image.append(module.fuser)
            video.append(module.instance_injector)  # the same class as the fuser when injection="self"
        elif isinstance(module, (*TEMPORAL_LAYERS, TemporalInstanceEnhancer)):
            video.append(module)
    return {"image": [m for m in image if m is not None], "video": [m for m in video if m is not None]}


def _parameter_ids(modules: list[nn.Module]) -> set[int]:
    return {id(p) for m in modules for p in m.parameters()}


def trainable_parameters(model: nn.Module, stage: str) -> list[tuple[str, nn.Parameter]]:
    """Set ``requires_grad`` for ``stage`` and return the trained ``(name, parameter)`` pairs."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    parts = stage_modules(model)
    video = _parameter_ids(parts["video"])
    trains = {
        "full": lambda p: True,
        "spatial": lambda p: id(p) not in video,
        "video": lambda p: id(p) in video,
        "image": lambda p, image=_parameter_ids(parts["image"]): id(p) in image,
    }[stage]
    chosen = []
    for name, p in model.named_parameters():
        on = trains(p)
        p.requires_grad_(on)
        if on:
            chosen.append((name, p))
    if not chosen:
        raise ValueError(f"stage {stage!r} selects no parameter of {type(model).__name__}")
    return chosen


def uses_temporal_layers(stage: str) -> bool:
    return stage not in ("image", "spatial")


def parameter_groups(trained: list[tuple[str, nn.Parameter]], lr: float, lr_mult: dict) -> list[dict]:
    """AdamW parameter groups: ``lr`` times the multiplier of the longest ``lr_mult`` key contained in a
    parameter's name (1 where none is); every key must name some trained parameter."""
    mults = {key: float(m) for key, m in lr_mult.items()}
    by_mult: dict[float, list[nn.Parameter]] = {}
    used = set()
    for name, p in trained:
        keys = [k for k in mults if k in name]
        key = max(keys, key=lambda k: (len(k), k)) if keys else None
        used.add(key)
        by_mult.setdefault(1.0 if key is None else mults[key], []).append(p)
    unused = sorted(set(mults) - used)
    if unused:
        raise ValueError(f"lr_mult keys {unused} are in the name of no trained parameter")
    return [{"params": ps, "lr": lr * m, "lr_mult": m} for m, ps in sorted(by_mult.items())]
