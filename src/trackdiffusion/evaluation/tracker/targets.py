"""Training targets and losses of the grounding tracker.

Per frame, every object that is present and visible enough gets (CenterNet / TTFNet style):

* a Gaussian on the objectness heatmap, centred on the box centre with ``sigma = size / 6`` per
  axis (at least half a cell); the cell holding the centre is set to exactly 1 (the positive);
* box targets on its core region: the cells where its Gaussian exceeds ``BOX_REGION`` and beats
  every other object's, weighted by the Gaussian (cells near the centre matter most);
* one identity-head sample: its box jittered as a detection would be (``FrameTargets.rois``),
  with its category (cross-entropy) and its identity (supervised contrastive loss: the same
  object in the batch's other frames is positive, every other object negative).

Objects present but barely visible (``visibility < min_visibility``: fully occluded, or a sliver
at the frame edge) are neither positive nor negative: the heatmap loss ignores their core, and
they are no identity sample (their crop shows mostly the objects in front of them).
Legend: B frames, K object slots per frame, C categories, D embedding size, h, w output size,
P identity samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


BOX_REGION = 0.3  # Gaussian value from which a cell regresses the object's box
_IGNORE_CORE = 0.3  # cells of a barely visible object above this Gaussian value are ignored


@dataclass
class FrameTargets:
    """Objects of a batch of frames, padded to K slots.

    Attributes:
        boxes: ``[B, K, 4]`` xyxy in input pixels (anything where ``present`` is False).
        present: ``[B, K]`` bool.
        visibility: ``[B, K]`` in [0, 1].
        classes: ``[B, K]`` class index of each object.
        labels: ``[B, K]`` identity, equal for the same object in different frames of the batch.
        rois: ``[B, K, 4]`` the boxes jittered, for the identity head.
    """

    boxes: torch.Tensor
    rois: torch.Tensor
    present: torch.Tensor
    visibility: torch.Tensor
    classes: torch.Tensor
    labels: torch.Tensor


@dataclass
class DenseTargets:
    """``heat [B, 1, h, w]``, ``heat_weight [B, 1, h, w]``, ``boxes [B, 4, h, w]``, ``box_weight [B, h, w]``
    (0 outside every core region), ``positive [B, K]``."""

    heat: torch.Tensor
    heat_weight: torch.Tensor
    boxes: torch.Tensor
    box_weight: torch.Tensor
    positive: torch.Tensor


def cell_centres(size: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
    """``[size]`` input-pixel coordinates of the centres of the cells of one axis."""
    return (torch.arange(size, device=device, dtype=torch.float32) + 0.5) * stride


def dense_targets(t: FrameTargets, size: int, stride: int, min_visibility: float) -> DenseTargets:
    """Heatmap and box targets of ``t`` on a ``size x size`` grid of ``stride`` pixels."""
    B, K = t.present.shape
    device = t.boxes.device
    centres = cell_centres(size, stride, device)
    box = t.boxes.float()
    cx, cy = (box[..., 0] + box[..., 2]) / 2, (box[..., 1] + box[..., 3]) / 2  # [B, K]
    sx = ((box[..., 2] - box[..., 0]) / 6).clamp(min=stride / 2)
    sy = ((box[..., 3] - box[..., 1]) / 6).clamp(min=stride / 2)
    gx = torch.exp(-(centres.view(1, 1, size) - cx[..., None]) ** 2 / (2 * sx[..., None] ** 2))  # [B, K, w]
    gy = torch.exp(-(centres.view(1, 1, size) - cy[..., None]) ** 2 / (2 * sy[..., None] ** 2))  # [B, K, h]
    gauss = gy[..., :, None] * gx[..., None, :]  # [B, K, h, w]
    col = (cx / stride).floor().long().clamp(0, size - 1)
    row = (cy / stride).floor().long().clamp(0, size - 1)
    centre_index = row * size + col  # [B, K]
    gauss = gauss.flatten(2).scatter(2, centre_index[..., None], 1.0).view(B, K, size, size)
    positive = t.present & (t.visibility >= min_visibility)
    ignored = t.present & ~positive
    pos_gauss = gauss * positive[..., None, None]
    best, owner = pos_gauss.max(1)  # [B, h, w]
    ignore_core = (gauss * ignored[..., None, None]).amax(1) > _IGNORE_CORE  # [B, h, w]
    heat_weight = (~(ignore_core & (best < _IGNORE_CORE))).float()[:, None]
    boxes = torch.gather(box, 1, owner.flatten(1)[..., None].expand(-1, -1, 4))  # [B, h*w, 4]
    box_weight = torch.where(best > BOX_REGION, best, torch.zeros(()))
    return DenseTargets(heat=best[:, None], heat_weight=heat_weight,
                        boxes=boxes.transpose(1, 2).reshape(B, 4, size, size), box_weight=box_weight,
                        positive=positive)


def decode_ltrb(ltrb: torch.Tensor, stride: int) -> torch.Tensor:
    """``ltrb [B, 4, h, w]`` edge distances -> ``[B, 4, h, w]`` xyxy boxes in input pixels."""
    h, w = ltrb.shape[-2:]
    ys = cell_centres(h, stride, ltrb.device).view(1, h, 1)
    xs = cell_centres(w, stride, ltrb.device).view(1, 1, w)
    return torch.stack([xs - ltrb[:, 0], ys - ltrb[:, 1], xs + ltrb[:, 2], ys + ltrb[:, 3]], dim=1)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, summed and divided by the number of positives."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * (1 - pos) * weight
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` of xyxy boxes ``[..., 4]``, elementwise ``[...]``."""
    area_p = (pred[..., 2] - pred[..., 0]) * (pred[..., 3] - pred[..., 1])
    area_t = (target[..., 2] - target[..., 0]) * (target[..., 3] - target[..., 1])
    lt, rb = torch.maximum(pred[..., :2], target[..., :2]), torch.minimum(pred[..., 2:], target[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_p + area_t - inter
    hull = (torch.maximum(pred[..., 2:], target[..., 2:]) - torch.minimum(pred[..., :2], target[..., :2])).prod(-1)
    giou = inter / union.clamp(min=1e-6) - (hull - union) / hull.clamp(min=1e-6)
    return 1 - giou


def box_loss(ltrb: torch.Tensor, targets: DenseTargets, stride: int, l1_weight: float = 0.1) -> torch.Tensor:
    """Gaussian-weighted GIoU loss plus a small L1 term (pixels) on the decoded boxes."""
    pred = decode_ltrb(ltrb, stride).permute(0, 2, 3, 1)  # [B, h, w, 4]
    target = targets.boxes.permute(0, 2, 3, 1)
    w = targets.box_weight
    per_cell = giou_loss(pred, target) + l1_weight * (pred - target).abs().sum(-1)
    return (per_cell * w).sum() / w.sum().clamp(min=1e-6)


def contrastive_loss(z: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss of unit embeddings ``z [P, D]`` with identities ``labels [P]``:
    each sample's other samples of the same identity are its positives, the rest negatives."""
    if z.shape[0] < 2:
        return z.sum() * 0.0
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(self_mask, float("-inf"))
    same = (labels[:, None] == labels[None]) & ~self_mask
    anchors = same.any(1)
    if not anchors.any():
        return z.sum() * 0.0
    log_prob = logits.log_softmax(1).masked_fill(~same, 0.0)
    return -(log_prob.sum(1)[anchors] / same.sum(1)[anchors]).mean()


@dataclass
class LossWeights:
    """Weights of the loss parts (see :func:`tracker_loss`) and the contrastive temperature."""

    heat: float = 1.0
    box: float = 2.0
    classes: float = 1.0
    embedding: float = 1.0
    temperature: float = 0.1


def tracker_loss(model: nn.Module, frames: torch.Tensor, t: FrameTargets, stride: int, min_visibility: float,
                 weights: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss of ``frames [B, 3, H, W]`` and its parts (for the log); ``model`` is a
    :class:`~.model.GroundingTracker`, possibly wrapped for distributed training."""
    positive = t.present & (t.visibility >= min_visibility)
    frame_index, slot = torch.nonzero(positive, as_tuple=True)  # the P identity samples
    rois = torch.cat([frame_index[:, None].to(t.rois.dtype), t.rois[frame_index, slot]], dim=1)
    out = model(frames, rois)
    dense = dense_targets(t, out.heat.shape[-1], stride, min_visibility)
    parts = {
        "heat": focal_loss(out.heat, dense.heat, dense.heat_weight),
        "box": box_loss(out.ltrb, dense, stride),
        "classes": F.cross_entropy(out.class_logits, t.classes[frame_index, slot]) if len(rois)
        else out.heat.sum() * 0.0,
        "embedding": contrastive_loss(out.embeddings, t.labels[frame_index, slot], weights.temperature),
    }
    total = sum(getattr(weights, k) * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
