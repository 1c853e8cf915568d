"""The grounding tracker's network: a CenterNet-style box detector and an ROI identity head.

**Detector.** A four-level encoder (strides 1, 2, 4, 8) and a top-down path back to stride 2
feed two 1x1 heads sharing one 3x3 layer:

* ``heat``: an objectness logit per cell, peaking at box centres (focal loss);
* ``ltrb``: distances from the cell centre to the box's left, top, right and bottom edges, in
  input pixels (``stride * exp(x)``: always positive, scale-free to learn).

Two coordinate channels are appended to the frame: boxes clipped at the frame edge have their
edge where the frame ends, which the convolutions could not know otherwise (zero padding is
the same everywhere). ``features`` (the stride-8 map averaged over space) describe whole frames
for the weight-free Frechet distance.

**Identity head** (two-stage, as QDTrack's ROI embedding head). Each box, widened by
``roi_context`` on every side, is cut out of the frame with ROIAlign at ``roi_size x roi_size``
pixels and fed to a small CNN giving category logits and a unit appearance embedding. The crop
puts every object at one scale and position, so shapes are learnt in a fraction of the steps a
dense per-cell classifier needs (measured here: a per-cell category head stayed near 50 %
accuracy after 1200 steps). The per-category heatmap of a detection is
``sigmoid(heat) * softmax(class logits)``. (A box refinement output on the same crops was
tried and dropped: its boxes were less precise than the voted stride-2 boxes.)

Legend: B frames, K boxes, C categories, D embedding size, H, W input size, h, w output size
(``H / 2``), R ROI size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ...models.roi_align import roi_align
from .config import TrackerConfig

WEIGHTS_FILE = "model.safetensors"
_PRIOR = 0.05  # initial heatmap probability: most cells are background (CenterNet's bias init)


@dataclass
class TrackerOutput:
    """Dense predictions for a batch of frames.

    Attributes:
        heat: ``[B, 1, h, w]`` objectness logits.
        ltrb: ``[B, 4, h, w]`` edge distances from each cell centre, input pixels.
        features: ``[B, F]`` pooled stride-8 features (``F = widths[3]``).
        class_logits: ``[K, C]`` of the boxes asked for (``None`` when none were).
        embeddings: ``[K, D]`` unit vectors of the boxes asked for.
    """

    heat: torch.Tensor
    ltrb: torch.Tensor
    features: torch.Tensor
    class_logits: torch.Tensor | None = None
    embeddings: torch.Tensor | None = None


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_block(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _upsample(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class IdentityHead(nn.Module):
    """Category logits ``[K, C]`` and unit embeddings ``[K, D]`` of crops ``[K, 3, R, R]``."""

    def __init__(self, config: TrackerConfig):
        super().__init__()
        w = config.roi_width
        self.body = nn.Sequential(conv_block(3, w), conv_block(w, 2 * w, 2), conv_block(2 * w, 2 * w),
                                  conv_block(2 * w, 4 * w, 2), conv_block(4 * w, 4 * w))
        cells = (config.roi_size // 4) ** 2
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * cells, 4 * w), nn.ReLU(inplace=True))
        self.classify = nn.Linear(4 * w, len(config.categories))
        self.embed = nn.Linear(4 * w, config.embed_dim)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.fc(self.body(crops))
        return self.classify(hidden), F.normalize(self.embed(hidden), dim=1)


class GroundingTracker(nn.Module):
    """The networks; :mod:`.inference` turns their outputs into tracks."""

    def __init__(self, config: TrackerConfig):
        super().__init__()
        self.config = config
        w1, w2, w4, w8 = config.widths
        self.stem = conv_block(3 + 2, w1)
        self.down2 = nn.Sequential(conv_block(w1, w2, 2), ResidualBlock(w2))
        self.down4 = nn.Sequential(conv_block(w2, w4, 2), ResidualBlock(w4))
        self.down8 = nn.Sequential(conv_block(w4, w8, 2), ResidualBlock(w8), ResidualBlock(w8))
        self.lateral8 = nn.Conv2d(w8, w4, 1)
        self.fuse4 = conv_block(w4, w4)
        self.lateral4 = nn.Conv2d(w4, w2, 1)
        self.fuse2 = conv_block(w2, w2)
        self.trunk = conv_block(w2, config.head_width)
        self.heat_head = nn.Conv2d(config.head_width, 1, 1)
        self.box_head = nn.Conv2d(config.head_width, 4, 1)
        self.identity = IdentityHead(config)
        nn.init.constant_(self.heat_head.bias, float(torch.logit(torch.tensor(_PRIOR))))
        # exp(1.5) * stride ~ 9 px: the middle of the synthetic shapes' half-sizes.
        nn.init.constant_(self.box_head.bias, 1.5)

    def forward(self, frames: torch.Tensor, rois: torch.Tensor | None = None) -> TrackerOutput:
        """``frames [B, 3, H, W]`` in [-1, 1] -> dense :class:`TrackerOutput` at stride 2, with the
        identity head's outputs for ``rois [K, 5]`` (frame index, xyxy input pixels) if given."""
        B, _, H, W = frames.shape
        ys = torch.linspace(-1, 1, H, device=frames.device, dtype=frames.dtype).view(1, 1, H, 1).expand(B, 1, H, W)
        xs = torch.linspace(-1, 1, W, device=frames.device, dtype=frames.dtype).view(1, 1, 1, W).expand(B, 1, H, W)
        f1 = self.stem(torch.cat([frames, xs, ys], dim=1))  # [B, w1, H, W]
        f2 = self.down2(f1)  # [B, w2, H/2, W/2]
        f4 = self.down4(f2)  # [B, w4, H/4, W/4]
        f8 = self.down8(f4)  # [B, w8, H/8, W/8]
        up4 = self.fuse4(f4 + _upsample(self.lateral8(f8), f4))  # [B, w4, H/4, W/4]
        up2 = self.fuse2(f2 + _upsample(self.lateral4(up4), f2))  # [B, w2, H/2, W/2]
        trunk = self.trunk(up2)
        class_logits, embeddings = (None, None) if rois is None else self.identify(frames, rois)
        return TrackerOutput(
            heat=self.heat_head(trunk),
            ltrb=self.config.stride * torch.exp(self.box_head(trunk).clamp(max=6.0)),
            features=f8.mean(dim=(2, 3)),
            class_logits=class_logits,
            embeddings=embeddings,
        )

    def identify(self, frames: torch.Tensor, rois: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Category logits ``[K, C]`` and embeddings ``[K, D]`` of ``rois [K, 5]`` (frame index,
        xyxy input pixels) in ``frames [B, 3, H, W]``."""
        box = rois[:, 1:]
        size = (box[:, 2:] - box[:, :2]).repeat(1, 2)  # [K, 4]: w, h, w, h
        outward = torch.tensor([-1.0, -1.0, 1.0, 1.0], device=rois.device)
        widened = torch.cat([rois[:, :1], box + outward * size * self.config.roi_context], 1)
        crops = roi_align(frames, widened.to(frames.dtype), self.config.roi_size, sampling_ratio=2)
        return self.identity(crops)

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
        """Load what :meth:`save_pretrained` wrote, in float32, in eval mode (channels-last: faster
        CPU convolutions)."""
        directory = Path(directory)
        model = cls(TrackerConfig.load(directory))
        path = directory / WEIGHTS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{directory} has {path.name} missing")
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        model.load_state_dict(state)
        return model.to(device, memory_format=torch.channels_last).eval()
