"""Detections of one frame: heatmap peaks with voted boxes (here), categories and embeddings
from the identity head (:func:`.inference.detect`).

Peaks are cells whose objectness is a 3 x 3 local maximum (CenterNet's max-pool NMS). A peak's
box is the objectness-weighted mean of the boxes its 3 x 3 neighbours predict, over the
neighbours whose box has an IoU of at least ``vote_iou`` with the peak's own (neighbours on
another object do not vote): averaging nine regressions gives sub-pixel boxes at stride 2.
Peaks whose boxes overlap a higher-scored one by more than ``nms_iou`` are dropped.
Legend: B frames, C categories, D embedding size, h, w output size, K detections of a frame.
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
    """Detections of one frame: ``boxes [K, 4]`` xyxy, ``scores [K]`` objectness, ``class_probs [K, C]``
    over the categories ``category_ids [C]`` (data set ids), ``embeddings [K, D]`` unit vectors."""

    boxes: np.ndarray
    scores: np.ndarray
    class_probs: np.ndarray
    embeddings: np.ndarray
    category_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def categories(self) -> np.ndarray:
        """``[K]`` the most probable category id of each detection."""
        return self.category_ids[self.class_probs.argmax(1)] if len(self) else self.category_ids[:0]

    def take(self, index: np.ndarray) -> "Detections":
        return Detections(self.boxes[index], self.scores[index], self.class_probs[index], self.embeddings[index],
                          self.category_ids)

    def scaled(self, sx: float, sy: float) -> "Detections":
        """Boxes multiplied by ``(sx, sy)`` per axis (input pixels -> clip pixels)."""
        return Detections(self.boxes * np.array([sx, sy, sx, sy]), self.scores, self.class_probs, self.embeddings,
                          self.category_ids)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy NMS (``boxes`` sorted by descending score)."""
    keep: list[int] = []
    overlaps = pairwise_iou(boxes, boxes)
    for i in range(len(boxes)):
        if all(overlaps[i, j] <= iou for j in keep):
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def decode_boxes(out: TrackerOutput, config: TrackerConfig, threshold: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame, ``(boxes [K, 4], scores [K])``: input-pixel boxes of the peaks scoring ``>= threshold``."""
    score = torch.sigmoid(out.heat.float())[:, 0]  # [B, h, w]
    peaks = (score == F.max_pool2d(score[:, None], 3, 1, 1)[:, 0]) & (score >= threshold)
    boxes = decode_ltrb(out.ltrb.float(), config.stride)  # [B, 4, h, w]
    B = score.shape[0]
    # 3x3 neighbourhoods of every cell: [B, 9, h, w] scores and [B, 4, 9, h, w] boxes.
    nb_score = F.unfold(score[:, None], 3, padding=1).view(B, 9, *score.shape[1:])
    nb_boxes = F.unfold(boxes, 3, padding=1).view(B, 4, 9, *boxes.shape[2:])
    result = []
    for b in range(B):
        rows, cols = torch.nonzero(peaks[b], as_tuple=True)
        s = score[b, rows, cols]
        order = torch.argsort(s, descending=True)[: config.max_detections]
        rows, cols, s = rows[order], cols[order], s[order]
        own = boxes[b, :, rows, cols].T  # [K, 4]
        votes = nb_boxes[b, :, :, rows, cols].permute(2, 1, 0)  # [K, 9, 4]
        # The peak votes for itself (IoU 1), so every weight sum is at least the peak's score.
        weight = nb_score[b, :, rows, cols].T * (_iou(votes, own[:, None]) >= config.vote_iou)  # [K, 9]
        voted = ((votes * weight[..., None]).sum(1) / weight.sum(1, keepdim=True)).double().numpy()
        scores = s.double().numpy()
        keep = _nms(voted, scores, config.nms_iou) if len(scores) else np.zeros(0, dtype=np.int64)
        result.append((voted[keep], scores[keep]))
    return result


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise IoU of xyxy boxes ``[..., 4]`` (broadcast)."""
    lt, rb = torch.maximum(a[..., :2], b[..., :2]), torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = (a[..., 2:] - a[..., :2]).prod(-1) + (b[..., 2:] - b[..., :2]).prod(-1) - inter
    return inter / union.clamp(min=1e-6)
