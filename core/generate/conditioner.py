"""The domain text encoder, trained from scratch with the generator: words of the workspace's descriptions,
embedded and mean-pooled, plus a pattern-class embedding. Index 0 of both is the null condition that
classifier-free guidance trains with and samples against."""

from __future__ import annotations

import re

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
MAX_TOKENS = 32


def tokenize(text: str) -> list[str]:
    """Lower-case words; numbers are bucketed to two significant figures so '12.3 keV' and '12.4 keV' meet."""
    out = []
    for tok in TOKEN.findall((text or "").lower()):
        if tok[0].isdigit():
            value = float(tok)
            tok = f"#{float(f'{value:.2g}'):g}" if value else "#0"
        out.append(tok)
    return out[:MAX_TOKENS]


def build_vocab(texts: list[str], min_count: int = 1) -> list[str]:
    counts: dict[str, int] = {}
    for text in texts:
        for tok in tokenize(text):
            counts[tok] = counts.get(tok, 0) + 1
    return ["<pad>", "<unk>"] + sorted(t for t, c in counts.items() if c >= min_count)


class DomainConditioner(ModelMixin, ConfigMixin):
    """(pattern index, description) -> one conditioning vector of the UNet's time-embedding size."""

    @register_to_config
    def __init__(self, vocab: list[str], classes: list[str], dim: int = 128):
        super().__init__()
        self.index = {t: i for i, t in enumerate(vocab)}
        self.classes = list(classes)
        self.token_embedding = nn.Embedding(len(vocab), dim, padding_idx=0)
        self.class_embedding = nn.Embedding(len(classes) + 1, dim)  # 0 = no class (null)
        self.null = nn.Parameter(torch.zeros(dim))
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        unk = self.index["<unk>"]
        ids = torch.zeros(len(texts), MAX_TOKENS, dtype=torch.long)
        for row, text in enumerate(texts):
            toks = [self.index.get(t, unk) for t in tokenize(text)]
            ids[row, : len(toks)] = torch.tensor(toks, dtype=torch.long)
        return ids.to(self.device)

    def class_ids(self, patterns: list[str | None]) -> torch.Tensor:
        ids = [self.classes.index(p) + 1 if p in self.classes else 0 for p in patterns]
        return torch.tensor(ids, dtype=torch.long, device=self.device)

    def forward(
        self, class_ids: torch.Tensor, token_ids: torch.Tensor, drop: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Conditioning vectors; rows where `drop` is True get the null condition."""
        emb = self.token_embedding(token_ids)
        mask = (token_ids > 0).unsqueeze(-1).to(emb.dtype)
        text = (emb * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        cond = self.mlp(text + self.class_embedding(class_ids))
        if drop is not None:
            cond = torch.where(drop.unsqueeze(-1), self.null.expand_as(cond), cond)
        return cond

    def null_condition(self, n: int) -> torch.Tensor:
        return self.null.unsqueeze(0).expand(n, -1)
