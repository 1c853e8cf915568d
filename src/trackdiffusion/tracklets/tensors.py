"""Clips as padded tensors for the model, and back.

Legend: B batch, T frames, N instances. Boxes are normalized xyxy in [0, 1] (x / width,
y / height). Absent boxes are stored as zeros (never nan: they pass through matmuls before
being masked) with ``present == False``. There is no cap on N or T.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .clip import Clip, Instance


@dataclass
class TrackletTensors:
    """Tracklets of one clip (unbatched) or a batch of clips (batched, leading B).

    Attributes:
        boxes: ``[(B,) T, N, 4]`` normalized xyxy, 0 where absent.
        present: ``[(B,) T, N]`` bool.
        category_ids: ``[(B,) N]`` long, -1 for padding slots.
        instance_ids: ``[(B,) N]`` long, -1 for padding slots.
        visibility: ``[(B,) T, N]`` float, 1 where unknown, 0 where absent.
    """

    boxes: torch.Tensor
    present: torch.Tensor
    category_ids: torch.Tensor
    instance_ids: torch.Tensor
    visibility: torch.Tensor

    @property
    def num_frames(self) -> int:
        return self.present.shape[-2]

    @property
    def num_instances(self) -> int:
        return self.present.shape[-1]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "TrackletTensors":
        """Move every tensor to ``device``; ``dtype`` applies to the float ones only."""
        def move(x: torch.Tensor) -> torch.Tensor:
            return x.to(device=device, dtype=dtype if x.is_floating_point() else None)
        return TrackletTensors(**{f.name: move(getattr(self, f.name)) for f in fields(self)})


def clip_to_tensors(clip: Clip, dtype: torch.dtype = torch.float32, normalize: bool = True) -> TrackletTensors:
    """``clip`` as unbatched tensors; ``normalize=False`` keeps pixel coordinates.

    The tensors condition the model, which knows only the frame: boxes reaching outside it are
    clipped to it and boxes wholly outside it left out, both counted in one warning (clips read
    from files keep their boxes as annotated).
    """
    clip = clip.transform_boxes(1.0, 1.0, drop_empty=False)
    T, N = clip.num_frames, len(clip.instances)
    boxes = np.zeros((T, N, 4), dtype=np.float64)
    present = np.zeros((T, N), dtype=bool)
    visibility = np.zeros((T, N), dtype=np.float64)
    scale = np.array([clip.width, clip.height, clip.width, clip.height], dtype=np.float64)
    for n, inst in enumerate(clip.instances):
        p = inst.present
        present[:, n] = p
        boxes[p, n] = inst.boxes[p] / scale if normalize else inst.boxes[p]
        visibility[p, n] = 1.0 if inst.visibility is None else inst.visibility[p]
    return TrackletTensors(
        boxes=torch.from_numpy(boxes).to(dtype),
        present=torch.from_numpy(present),
        category_ids=torch.tensor([i.category_id for i in clip.instances], dtype=torch.long),
        instance_ids=torch.tensor([i.id for i in clip.instances], dtype=torch.long),
        visibility=torch.from_numpy(visibility).to(dtype),
    )


def tensors_to_clip(t: TrackletTensors, width: int, height: int, categories: dict[int, str],
                    name: str = "clip", normalized: bool = True, **clip_fields) -> Clip:
    """Inverse of :func:`clip_to_tensors` for unbatched tensors; padding slots (id -1) are dropped."""
    if t.present.dim() != 2:
        raise ValueError(f"expected unbatched tensors with present [T, N], got {tuple(t.present.shape)}")
    scale = np.array([width, height, width, height], dtype=np.float64) if normalized else 1.0
    boxes = t.boxes.detach().cpu().double().numpy()
    present = t.present.detach().cpu().numpy().astype(bool)
    visibility = t.visibility.detach().cpu().double().numpy()
    instances = []
    for n, (iid, cid) in enumerate(zip(t.instance_ids.tolist(), t.category_ids.tolist())):
        if iid < 0:
            continue
        p = present[:, n]
        b = np.full((t.num_frames, 4), np.nan)
        b[p] = boxes[p, n] * scale
        vis = np.where(p, visibility[:, n], 1.0)
        instances.append(Instance(iid, cid, b, p.copy(), None if np.all(vis == 1.0) else vis))
    return Clip(name=name, width=width, height=height, num_frames=t.num_frames,
                categories=categories, instances=instances, **clip_fields)


def collate_tracklets(items: list[TrackletTensors]) -> TrackletTensors:
    """Stack unbatched tensors with the same T into a batch, padding N to the largest."""
    if not items:
        raise ValueError("collate_tracklets needs at least one item")
    T = items[0].num_frames
    bad = [i for i, x in enumerate(items) if x.num_frames != T]
    if bad:
        raise ValueError(f"items {bad} have a different number of frames than item 0 ({T})")
    N = max(x.num_instances for x in items)
    B = len(items)
    ref = items[0].boxes
    out = TrackletTensors(
        boxes=ref.new_zeros(B, T, N, 4),
        present=torch.zeros(B, T, N, dtype=torch.bool, device=ref.device),
        category_ids=torch.full((B, N), -1, dtype=torch.long, device=ref.device),
        instance_ids=torch.full((B, N), -1, dtype=torch.long, device=ref.device),
        visibility=ref.new_zeros(B, T, N),
    )
    for b, x in enumerate(items):
        n = x.num_instances
        out.boxes[b, :, :n] = x.boxes
        out.present[b, :, :n] = x.present
        out.category_ids[b, :n] = x.category_ids
        out.instance_ids[b, :n] = x.instance_ids
        out.visibility[b, :, :n] = x.visibility
    return out
