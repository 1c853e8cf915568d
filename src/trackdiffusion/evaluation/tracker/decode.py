"""Detections of one frame read off the dense outputs: heatmap peaks, voted boxes, embeddings.

Peaks are class-agnostic: the heatmap's maximum over categories must be a 3 x 3 local maximum
(CenterNet's max-pool NMS); the category is the channel of that maximum. A peak's box is the
score-weighted mean of the boxes its 3 x 3 neighbours decode whose IoU with the peak's own box
is at least ``vote_iou`` (neighbours on another object do not vote): averaging nine regressions
gives sub-pixel boxes at stride 2. Peaks whose boxes overlap a higher-scored one by more than
``nms_iou`` are dropped. Legend: B frames, C categories, D embedding size, h, w output size,
K detections of a frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..boxes import pairwise_iou
from .config import TrackerConfig
from .model import TrackerOutput
from .targets import decode_ltrb


@dataclass
class Detections:
    """Detections of one frame: ``boxes [K, 4]`` xyxy, ``scores [K]``, ``categories [K]``
    (data set category ids), ``embeddings [K, D]`` unit vectors."""

    boxes: np.ndarray
    scores: np.ndarray
    categories: np.ndarray
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: np.ndarray) -> "Detections":
        return Detections(self.boxes[index], self.scores[index], self.categories[index], self.embeddings[index])

    def scaled(self, sx: float, sy: float) -> "Detections":
        """Boxes multiplied by ``(sx, sy)`` per axis (input pixels -> clip pixels)."""
        return Detections(self.boxes * np.array([sx, sy, sx, sy]), self.scores, self.categories, self.embeddings)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy NMS (``boxes`` sorted by descending score)."""
    keep: list[int] = []
    overlaps = pairwise_iou(boxes, boxes)
    for i in range(len(boxes)):
        if all(overlaps[i, j] <= iou for j in keep):
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def decode_detections(out: TrackerOutput, config: TrackerConfig, threshold: float) -> list[Detections]:
    """Per-frame detections (input-pixel boxes) of a batch of outputs, scores ``>= threshold``."""
    heat = torch.sigmoid(out.heat.float())  # [B, C, h, w]
    score, channel = heat.max(1)  # [B, h, w]
    peaks = (score == F.max_pool2d(score[:, None], 3, 1, 1)[:, 0]) & (score >= threshold)
    boxes = decode_ltrb(out.ltrb.float(), config.stride)  # [B, 4, h, w]
    # 3x3 neighbourhoods of every cell: [B, 9, h, w] scores and [B, 4, 9, h, w] boxes.
    nb_score = F.unfold(score[:, None], 3, padding=1).view(score.shape[0], 9, *score.shape[1:])
    nb_boxes = F.unfold(boxes, 3, padding=1).view(boxes.shape[0], 4, 9, *boxes.shape[2:])
    category_ids = np.array(config.category_ids)
    result = []
    for b in range(heat.shape[0]):
        rows, cols = torch.nonzero(peaks[b], as_tuple=True)
        s = score[b, rows, cols]
        order = torch.argsort(s, descending=True)[: config.max_detections]
        rows, cols, s = rows[order], cols[order], s[order]
        own = boxes[b, :, rows, cols].T  # [K, 4]
        votes = nb_boxes[b, :, :, rows, cols].permute(2, 1, 0)  # [K, 9, 4]
        weight = nb_score[b, :, rows, cols].T  # [K, 9]
        weight = weight * (_iou(votes, own[:, None]) >= config.vote_iou)
        voted = (votes * weight[..., None]).sum(1) / weight.sum(1, keepdim=True).clamp(min=1e-6)
        voted = torch.where(weight.sum(1, keepdim=True) > 0, voted, own)
        det = Detections(
            boxes=voted.double().numpy(),
            scores=s.double().numpy(),
            categories=category_ids[channel[b, rows, cols].numpy()],
            embeddings=out.embedding[b, :, rows, cols].T.float().numpy(),
        )
        result.append(det.take(_nms(det.boxes, det.scores, config.nms_iou)) if len(det) else det)
    return result


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise IoU of xyxy boxes ``[..., 4]`` (broadcast)."""
    lt, rb = torch.maximum(a[..., :2], b[..., :2]), torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = (a[..., 2:] - a[..., :2]).prod(-1) + (b[..., 2:] - b[..., :2]).prod(-1) - inter
    return inter / union.clamp(min=1e-6)
