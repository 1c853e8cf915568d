"""Classifier-free-guidance dropout (paper Sec. 4.1, as the authors trained).

With probability ``prompt_p`` a clip's caption becomes the empty string and, independently, with
probability ``box_p`` all of its boxes are masked — the two halves of the unconditional branch the
sampler uses.
"""

from __future__ import annotations

import torch


def guidance_dropout(captions: list[str], present: torch.Tensor, prompt_p: float, box_p: float,
                     generator: torch.Generator) -> tuple[list[str], torch.Tensor]:
    """
    Args:
        captions: B captions.
        present: ``[B, T, N]`` bool.
        prompt_p, box_p: drop probabilities.
        generator: the step's generator (so a resumed run draws the same).

    Returns:
        The captions and the presence mask after dropout.
    """
    B = len(captions)
    drop_prompt = torch.rand(B, generator=generator) < prompt_p
    drop_boxes = torch.rand(B, generator=generator) < box_p
    captions = ["" if d else c for c, d in zip(captions, drop_prompt.tolist())]
    present = present & ~drop_boxes.to(present.device)[:, None, None]
    return captions, present
