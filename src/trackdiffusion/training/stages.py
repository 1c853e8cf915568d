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

from torch import nn

from .config import STAGES

_IMAGE = ("location_tokens.mlp", "fuser")
_VIDEO = ("temp_convs", "temp_attentions", "transformer_in", "location_tokens.identity",
          "trajectory_encoder", "enhancer", "instance_injector")


def _selected(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(f".{p}." in f".{name}" for p in prefixes)


def _trains(name: str, stage: str) -> bool:
    if stage == "full":
        return True
    if stage == "spatial":
        return not _selected(name, _VIDEO)
    return _selected(name, _IMAGE if stage == "image" else _VIDEO)


def trainable_parameters(model: nn.Module, stage: str) -> list[tuple[str, nn.Parameter]]:
    """Set ``requires_grad`` for ``stage`` and return the trained ``(name, parameter)`` pairs."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    chosen = []
    for name, p in model.named_parameters():
        on = _trains(name, stage)
        p.requires_grad_(on)
        if on:
            chosen.append((name, p))
    if not chosen:
        raise ValueError(f"stage {stage!r} selects no parameter of {type(model).__name__}")
    return chosen


def uses_temporal_layers(stage: str) -> bool:
    return stage not in ("image", "spatial")
