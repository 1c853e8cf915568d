"""The grounding tracker's network: a small CenterNet-style detector with appearance embeddings.

A four-level encoder (strides 1, 2, 4, 8) and a top-down path back to stride 2 feed three 1x1
heads that share one 3x3 layer:

* ``heat``: one logit per category and cell, peaking at box centres (focal loss);
* ``ltrb``: distances from the cell centre to the box's left, top, right and bottom edges, in
  input pixels (``stride * exp(x)``: always positive, scale-free to learn);
* ``embedding``: a unit vector per cell, the same for an object in every frame (contrastive loss).

Two coordinate channels are appended to the frame: boxes clipped at the frame edge have their
edge where the frame ends, which the convolutions could not know otherwise (zero padding is
the same everywhere). ``features`` (the stride-8 map averaged over space) describe whole frames
for the weight-free Frechet distance. Legend: B frames, C categories, D embedding size,
H, W input size, h, w output size (``H / 2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from .config import TrackerConfig

WEIGHTS_FILE = "model.safetensors"
_PRIOR = 0.05  # initial heatmap probability: most cells are background (CenterNet's bias init)


@dataclass
class TrackerOutput:
    """Dense predictions for a batch of frames.

    Attributes:
        heat: ``[B, C, h, w]`` logits.
        ltrb: ``[B, 4, h, w]`` edge distances from each cell centre, input pixels.
        embedding: ``[B, D, h, w]`` unit vectors.
        features: ``[B, F]`` pooled stride-8 features (``F = widths[3]``).
    """

    heat: torch.Tensor
    ltrb: torch.Tensor
    embedding: torch.Tensor
    features: torch.Tensor


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_block(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class GroundingTracker(nn.Module):
    """The detector; :mod:`.inference` turns its outputs into tracks."""

    def __init__(self, config: TrackerConfig):
        super().__init__()
        self.config = config
        w1, w2, w4, w8 = config.widths
        num_classes = len(config.categories)
        self.stem = conv_block(3 + 2, w1)
        self.down2 = nn.Sequential(conv_block(w1, w2, 2), ResidualBlock(w2))
        self.down4 = nn.Sequential(conv_block(w2, w4, 2), ResidualBlock(w4))
        self.down8 = nn.Sequential(conv_block(w4, w8, 2), ResidualBlock(w8), ResidualBlock(w8))
        self.lateral8 = nn.Conv2d(w8, w4, 1)
        self.fuse4 = conv_block(w4, w4)
        self.lateral4 = nn.Conv2d(w4, w2, 1)
        self.fuse2 = conv_block(w2, w2)
        self.trunk = conv_block(w2, config.head_width)
        self.heat_head = nn.Conv2d(config.head_width, num_classes, 1)
        self.box_head = nn.Conv2d(config.head_width, 4, 1)
        self.embed_head = nn.Conv2d(config.head_width, config.embed_dim, 1)
        nn.init.constant_(self.heat_head.bias, float(torch.logit(torch.tensor(_PRIOR))))
        # exp(1.5) * stride ~ 9 px: the middle of the synthetic shapes' half-sizes.
        nn.init.constant_(self.box_head.bias, 1.5)

    def forward(self, frames: torch.Tensor) -> TrackerOutput:
        """``frames [B, 3, H, W]`` in [-1, 1] -> :class:`TrackerOutput` at stride 2."""
        B, _, H, W = frames.shape
        ys = torch.linspace(-1, 1, H, device=frames.device, dtype=frames.dtype).view(1, 1, H, 1).expand(B, 1, H, W)
        xs = torch.linspace(-1, 1, W, device=frames.device, dtype=frames.dtype).view(1, 1, 1, W).expand(B, 1, H, W)
        f1 = self.stem(torch.cat([frames, xs, ys], dim=1))  # [B, w1, H, W]
        f2 = self.down2(f1)  # [B, w2, H/2, W/2]
        f4 = self.down4(f2)  # [B, w4, H/4, W/4]
        f8 = self.down8(f4)  # [B, w8, H/8, W/8]
        up4 = self.fuse4(f4 + F.interpolate(self.lateral8(f8), size=f4.shape[-2:], mode="bilinear", align_corners=False))
        up2 = self.fuse2(f2 + F.interpolate(self.lateral4(up4), size=f2.shape[-2:], mode="bilinear", align_corners=False))
        trunk = self.trunk(up2)
        stride = self.config.stride
        return TrackerOutput(
            heat=self.heat_head(trunk),
            ltrb=stride * torch.exp(self.box_head(trunk).clamp(max=6.0)),
            embedding=F.normalize(self.embed_head(trunk), dim=1),
            features=f8.mean(dim=(2, 3)),
        )

    # ------------------------------------------------------------------ files
    def save_pretrained(self, directory: str | Path, dtype: torch.dtype = torch.float16) -> Path:
        """``config.json`` and ``model.safetensors`` (floating tensors cast to ``dtype``)."""
        directory = Path(directory)
        self.config.save(directory)
        state = {k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
                 for k, v in self.state_dict().items()}
        path = directory / WEIGHTS_FILE
        tmp = path.with_name(path.name + ".tmp")
        save_file(state, str(tmp), metadata={"format": "pt"})
        tmp.replace(path)  # a reader never sees half a file
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> "GroundingTracker":
        """Load what :meth:`save_pretrained` wrote, in float32, in eval mode."""
        directory = Path(directory)
        model = cls(TrackerConfig.load(directory))
        path = directory / WEIGHTS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{directory} has {path.name} missing")
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        model.load_state_dict(state)
        return model.to(device).eval()
