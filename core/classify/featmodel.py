"""The physics model: a regularised linear model on physics features, measured against real frames.

Every feature is first expressed as a robust z-score against the workspace's experimental frames of the same
pattern (median and MAD), so "how unlike a real ring frame is this ring candidate" is known before a single
label exists, and the few labels a person gives only have to say which departures matter. The linear model
has shared weights plus per-pattern weights under a stronger penalty (a multi-task logistic regression), so
thirty labels spread over three patterns still train one model, and hundreds let each pattern specialise.
It trains in well under a second (full-batch L-BFGS), is saved as safetensors like every other model, and
its probabilities are temperature-calibrated on validation like the networks'.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .physics import FEATURES

GROUPS: tuple[str, ...] = ("rings", "peaks", "background", "other")
MIN_REFERENCE = 8  # experimental frames of a pattern needed for its own reference statistics


def group_of(pattern: str | None) -> int:
    return GROUPS.index(pattern) if pattern in GROUPS else len(GROUPS) - 1


class FeatureClassifier(nn.Module):
    """Input (N, F + 1): the features in `FEATURES` order and, last, the pattern group index."""

    def __init__(self, num_classes: int, n_features: int = len(FEATURES)):
        super().__init__()
        g, d = len(GROUPS), 2 * n_features + 1
        self.n_features = n_features
        self.register_buffer("ref_centre", torch.zeros(g, n_features))
        self.register_buffer("ref_scale", torch.ones(g, n_features))
        self.register_buffer("phi_mean", torch.zeros(d))
        self.register_buffer("phi_std", torch.ones(d))
        # the pattern is an input when judging realism; when the pattern is what is predicted, every frame is
        # read against all experimental frames ("other"), else the model would be handed its answer
        self.register_buffer("use_groups", torch.ones((), dtype=torch.bool))
        self.shared = nn.Linear(d, num_classes)
        self.group_weight = nn.Parameter(torch.zeros(g, num_classes, d))
        self.group_bias = nn.Parameter(torch.zeros(g, num_classes))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.setdefault(prefix + "use_groups", torch.ones((), dtype=torch.bool))  # saved before the flag
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def phi(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, group = x[:, : self.n_features], x[:, self.n_features].long().clamp(0, len(GROUPS) - 1)
        if not bool(self.use_groups):
            group = torch.full_like(group, len(GROUPS) - 1)
        z = ((feats - self.ref_centre[group]) / self.ref_scale[group]).clamp(-20, 20)
        worst = torch.log1p(z.abs()).amax(1, keepdim=True)
        return torch.cat([z, z.abs(), worst], 1), group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phi, group = self.phi(x)
        phi = (phi - self.phi_mean) / self.phi_std
        per_group = torch.einsum("nkd,nd->nk", self.group_weight[group], phi)
        return self.shared(phi) + per_group + self.group_bias[group]

    @torch.no_grad()
    def set_reference(self, feats: np.ndarray, groups: np.ndarray) -> dict[str, int]:
        """Robust per-pattern statistics of real frames' features; a pattern with too few frames uses all of
        them. Returns how many frames each pattern's statistics came from."""
        feats = np.asarray(feats, np.float64)
        used = {}
        pooled = _robust(feats) if len(feats) else (np.zeros(self.n_features), np.ones(self.n_features))
        for g, name in enumerate(GROUPS):
            mine = feats[np.asarray(groups) == g] if len(feats) and bool(self.use_groups) else feats[:0]
            centre, scale = _robust(mine) if len(mine) >= MIN_REFERENCE else pooled
            self.ref_centre[g] = torch.as_tensor(centre, dtype=torch.float32)
            self.ref_scale[g] = torch.as_tensor(scale, dtype=torch.float32)
            used[name] = int(len(mine)) if len(mine) >= MIN_REFERENCE else int(len(feats))
        return used


def _robust(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and a robust scale: the MAD, or where more than half the frames share one value (a feature that
    is zero on most real frames) the mean absolute deviation, so rare departures are graded, not all extreme."""
    centre = np.median(a, 0)
    dev = np.abs(a - centre)
    mad = 1.4826 * np.median(dev, 0)
    mean_dev = 1.2533 * dev.mean(0)
    scale = np.where(mad > 1e-9, mad, mean_dev)
    scale = np.maximum(scale, 1e-3 * np.abs(centre) + 1e-6)
    return centre, scale


@torch.no_grad()
def standardise(model: FeatureClassifier, xt: torch.Tensor) -> None:
    """Set the model's `phi` standardisation (mean, spread) from training inputs `xt`."""
    phi, _ = model.phi(xt)
    model.phi_mean.copy_(phi.mean(0))
    model.phi_std.copy_(phi.std(0).clamp_min(1e-3) if len(xt) > 1 else torch.ones_like(model.phi_std))


def fit_features(
    model: FeatureClassifier,
    x: np.ndarray,
    y: np.ndarray,
    *,
    c_shared: float = 0.3,
    c_group: float = 0.3,
    balance: bool = True,
    max_iter: int = 200,
) -> dict:
    """Fit the linear heads by full-batch L-BFGS: summed (class-balanced) cross-entropy plus L2 penalties of
    1/(2C) as in scikit-learn's LogisticRegression. Returns the final loss and training accuracy."""
    xt = torch.as_tensor(np.asarray(x, np.float32))
    yt = torch.as_tensor(np.asarray(y, np.int64))
    k = model.shared.out_features
    counts = torch.bincount(yt, minlength=k).float()
    weight = (counts.sum() / (k * counts.clamp_min(1))) if balance else torch.ones(k)
    standardise(model, xt)
    with torch.no_grad():
        model.shared.weight.zero_()
        model.shared.bias.zero_()
        model.group_weight.zero_()
        model.group_bias.zero_()
    params = [model.shared.weight, model.shared.bias, model.group_weight, model.group_bias]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = model(xt)
        loss = F.cross_entropy(logits, yt, weight=weight, reduction="sum")
        loss = (
            loss + model.shared.weight.pow(2).sum() / (2 * c_shared) + model.group_weight.pow(2).sum() / (2 * c_group)
        )
        loss.backward()
        return loss

    model.train()
    loss = float(opt.step(closure).detach())
    model.eval()
    with torch.no_grad():
        acc = float((model(xt).argmax(1) == yt).float().mean())
    return {"loss": loss / max(1, len(xt)), "train_acc": acc}


@torch.no_grad()
def feature_logits(model: FeatureClassifier, x: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.as_tensor(np.asarray(x, np.float32))).double().numpy()
