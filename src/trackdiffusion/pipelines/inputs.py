"""Turning user tracklets into the pipeline's conditioning, with diffusers-style input checks."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..tracklets import Clip, TrackletTensors, clip_to_tensors, collate_tracklets, tensors_to_clip


@dataclass
class PreparedTracklets:
    """A batch of tracklets ready for the UNet.

    Attributes:
        tensors: batched :class:`TrackletTensors` (boxes ``[B, T, N, 4]``, present ``[B, T, N]``).
        names: per clip, the category name of each of its N slots ("" for padding slots).
        categories: per clip, its category table (id -> name), for the output tracklets.
        phrases: per clip, the appearance phrase of each of its N slots ("" for none).
    """

    tensors: TrackletTensors
    names: list[list[str]]
    categories: list[dict[int, str]]
    phrases: list[list[str]]

    @property
    def has_phrases(self) -> bool:
        return any(p for row in self.phrases for p in row)

    def to_clips(self, width: int, height: int, names: list[str]) -> list[Clip]:
        """The tracklets at the output resolution, one clip per batch item."""
        t = self.tensors
        return [tensors_to_clip(TrackletTensors(t.boxes[b], t.present[b], t.category_ids[b], t.instance_ids[b],
                                                t.visibility[b]), width, height, self.categories[b], name=names[b])
                for b in range(t.present.shape[0])]


def prepare_tracklets(tracklets, category_names: dict[int, str] | None = None) -> PreparedTracklets:
    """Accept a :class:`Clip`, a list of clips, or (batched or not) :class:`TrackletTensors`.

    Tensors carry category ids only, so they need ``category_names`` (id -> name); appearance
    phrases come from the clips' :attr:`Instance.phrase` (tensors carry none).
    """
    if isinstance(tracklets, Clip):
        tracklets = [tracklets]
    if isinstance(tracklets, (list, tuple)) and all(isinstance(c, Clip) for c in tracklets):
        if not tracklets:
            raise ValueError("tracklets is an empty list")
        for c in tracklets:
            c.validate()
        tensors = collate_tracklets([clip_to_tensors(c) for c in tracklets])
        tables = [c.categories for c in tracklets]
        phrases = [[i.phrase or "" for i in c.instances] for c in tracklets]
    elif isinstance(tracklets, TrackletTensors):
        if category_names is None:
            raise ValueError("TrackletTensors carry category ids only: pass category_names={id: name}")
        tensors = tracklets if tracklets.present.dim() == 3 else collate_tracklets([tracklets])
        tables = [category_names] * tensors.present.shape[0]
        phrases = [[] for _ in tables]
    else:
        raise TypeError(f"tracklets must be a Clip, a list of Clips or TrackletTensors, got {type(tracklets).__name__}")
    names = []
    for b, table in enumerate(tables):
        row = []
        for n, cid in enumerate(tensors.category_ids[b].tolist()):
            if tensors.instance_ids[b, n] < 0:
                row.append("")
            elif cid not in table:
                raise ValueError(f"clip {b}, instance {int(tensors.instance_ids[b, n])}: unknown category id {cid} "
                                 f"(known: {sorted(table)})")
            else:
                row.append(table[cid])
        names.append(row)
    N = tensors.present.shape[-1]
    return PreparedTracklets(tensors, names, tables, [row + [""] * (N - len(row)) for row in phrases])


def check_inputs(prompts: list[str], prepared: PreparedTracklets, num_frames: int | None,
                 height: int, width: int, factor: int, bank_size: int, guidance_scale: float,
                 takes_phrases: bool = False, box_guidance_scale: float | None = None,
                 guidance_rescale: float = 0.0) -> None:
    """Raise a ValueError naming the first bad input."""
    t = prepared.tensors
    B, T, N = t.present.shape
    if t.boxes.shape != (B, T, N, 4):
        raise ValueError(f"boxes must have shape [B, T, N, 4] = {[B, T, N, 4]}, got {list(t.boxes.shape)}")
    if len(prompts) != B:
        raise ValueError(f"{len(prompts)} prompt(s) for {B} tracklet clip(s)")
    if num_frames is not None and num_frames != T:
        raise ValueError(f"num_frames={num_frames} but the tracklets have {T} frames")
    boxes = t.boxes[t.present]
    if boxes.numel() and (boxes.min() < 0 or boxes.max() > 1 or not torch.isfinite(boxes).all()):
        raise ValueError(f"normalized boxes must lie in [0, 1]; got values in [{boxes.min():.4g}, {boxes.max():.4g}]")
    if boxes.numel() and ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
        raise ValueError("present boxes must have positive width and height (x2 > x1, y2 > y1)")
    if height % factor or width % factor:
        raise ValueError(f"height={height} and width={width} must be divisible by {factor} "
                         "(the VAE factor times the UNet's downsampling)")
    if bank_size and N > bank_size:
        raise ValueError(f"{N} instances exceed the model's identity_bank_size={bank_size}")
    if prepared.has_phrases and not takes_phrases:
        b, n = next((b, n) for b, row in enumerate(prepared.phrases) for n, p in enumerate(row) if p)
        raise ValueError(f"clip {b}, instance {int(t.instance_ids[b, n])} has the appearance phrase "
                         f"{prepared.phrases[b][n]!r}, but the model was trained without appearance phrases "
                         "(its UNet has appearance_phrases=False): remove the phrases or use a model trained with them")
    if guidance_scale < 0:
        raise ValueError(f"guidance_scale must be >= 0, got {guidance_scale}")
    if box_guidance_scale is not None and box_guidance_scale < 0:
        raise ValueError(f"box_guidance_scale must be >= 0 (or None: one scale for text and boxes), "
                         f"got {box_guidance_scale}")
    if not 0 <= guidance_rescale <= 1:
        raise ValueError(f"guidance_rescale must lie in [0, 1] (0: no rescaling), got {guidance_rescale}")
