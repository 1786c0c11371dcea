"""The physics model: a regularised linear model on physics features, measured against real frames.

Every feature is first expressed as a robust z-score against the workspace's experimental frames of the same
pattern (median and MAD), so "how unlike a real ring frame is this ring candidate" is known before a single
label exists, and the few labels a person gives only have to say which departures matter. The linear model
has shared weights plus per-pattern weights under a stronger penalty (a multi-task logistic regression), so
thirty labels spread over three patterns still train one model, and hundreds let each pattern specialise.
It trains in well under a second (full-batch L-BFGS), is saved as safetensors like every other model, and
its probabilities are temperature-calibrated on validation like the networks'.

When it judges realism the model is *monotone* (`set_monotone`): a frame's realistic logit never rises as the
frame departs further from the real frames, in any feature, in either direction. Each feature enters as its
departure above and below the real frames' median (two one-sided terms) with weights bounded at zero for
the realistic class (L-BFGS-B with bounds). Unconstrained, a few hundred labels taught the model that one
asymmetry measure *raises* realism wherever a correlated, better one lowered it, and hallucinated grazing-
incidence frames asymmetric in both were called realistic (`bench loop` replica: 0.942 → 0.948 precision at
300 labels, seed 0; 0.949 → 0.974, seed 1; see `recipes.OURS`).
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
    """Input (N, F + 1): the features in `FEATURES` order and, last, the pattern group index (a model of
    `n_features` < F, saved before the newest features were appended, reads the first `n_features`)."""

    def __init__(self, num_classes: int, n_features: int | None = None):
        super().__init__()
        n_features = n_features or len(FEATURES)
        g, d = len(GROUPS), 2 * n_features + 1
        self.n_features = n_features
        self.register_buffer("ref_centre", torch.zeros(g, n_features))
        self.register_buffer("ref_scale", torch.ones(g, n_features))
        self.register_buffer("phi_mean", torch.zeros(d))
        self.register_buffer("phi_std", torch.ones(d))
        # the pattern is an input when judging realism; when the pattern is what is predicted, every frame is
        # read against all experimental frames ("other"), else the model would be handed its answer
        self.register_buffer("use_groups", torch.ones((), dtype=torch.bool))
        # the class whose logit may only fall as a frame departs from the real frames (-1: none, `set_monotone`)
        self.register_buffer("monotone", torch.full((), -1, dtype=torch.long))
        self.register_buffer("term_mean", torch.zeros(d))
        self.register_buffer("term_std", torch.ones(d))
        self.shared = nn.Linear(d, num_classes)
        self.group_weight = nn.Parameter(torch.zeros(g, num_classes, d))
        self.group_bias = nn.Parameter(torch.zeros(g, num_classes))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.setdefault(prefix + "use_groups", torch.ones((), dtype=torch.bool))  # saved before the flag
        state_dict.setdefault(prefix + "monotone", torch.full((), -1, dtype=torch.long))  # saved before it
        state_dict.setdefault(prefix + "term_mean", torch.zeros_like(self.term_mean))
        state_dict.setdefault(prefix + "term_std", torch.ones_like(self.term_std))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_monotone(self, cls: int | None) -> None:
        """Make class `cls`'s logit monotone (non-increasing) in every departure from the real frames; None:
        unconstrained (a pattern task: there, departing from one pattern is being another)."""
        self.monotone.fill_(-1 if cls is None else int(cls))

    def phi(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # features are only ever appended to `FEATURES`: a model saved before the newest ones reads its own first
        # `n_features` of today's inputs; the pattern group is always the last column
        feats, group = x[:, : self.n_features], x[:, -1].long().clamp(0, len(GROUPS) - 1)
        if not bool(self.use_groups):
            group = torch.full_like(group, len(GROUPS) - 1)
        z = ((feats - self.ref_centre[group]) / self.ref_scale[group]).clamp(-20, 20)
        worst = torch.log1p(z.abs()).amax(1, keepdim=True)
        return torch.cat([z, z.abs(), worst], 1), group

    def raw_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the linear heads read, before standardising: `phi`, or when monotone each departure split
        into its part above and below the real frames' median (both >= 0), then the worst departure."""
        phi, group = self.phi(x)
        if int(self.monotone) < 0:
            return phi, group
        f = self.n_features
        z = phi[:, :f]
        return torch.cat([z.clamp_min(0), (-z).clamp_min(0), phi[:, 2 * f :]], 1), group

    def terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, group = self.raw_terms(x)
        if int(self.monotone) < 0:
            return (t - self.phi_mean) / self.phi_std, group
        return (t - self.term_mean) / self.term_std, group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, group = self.terms(x)
        per_group = torch.einsum("nkd,nd->nk", self.group_weight[group], t)
        return self.shared(t) + per_group + self.group_bias[group]

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
    for values, mean, std in ((model.phi(xt)[0], model.phi_mean, model.phi_std),
                              (model.raw_terms(xt)[0], model.term_mean, model.term_std)):  # fmt: skip
        mean.copy_(values.mean(0))
        std.copy_(values.std(0).clamp_min(1e-3) if len(xt) > 1 else torch.ones_like(std))


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
    1/(2C) as in scikit-learn's LogisticRegression; a monotone model (`set_monotone`) by SciPy's L-BFGS-B, its
    class's weights bounded at zero and the other classes' fixed at zero. Returns the final loss and training
    accuracy."""
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

    def objective():
        logits = model(xt)
        loss = F.cross_entropy(logits, yt, weight=weight, reduction="sum")
        return (
            loss + model.shared.weight.pow(2).sum() / (2 * c_shared) + model.group_weight.pow(2).sum() / (2 * c_group)
        )

    model.train()
    if int(model.monotone) >= 0:
        loss = _fit_bounded(model, params, objective, max_iter)
    else:
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        loss = float(opt.step(closure).detach())
    model.eval()
    with torch.no_grad():
        acc = float((model(xt).argmax(1) == yt).float().mean())
    return {"loss": loss / max(1, len(xt)), "train_acc": acc}


def _fit_bounded(model: FeatureClassifier, params: list, objective, max_iter: int) -> float:
    """Minimise `objective` over `params` with SciPy's L-BFGS-B: the monotone class's weights <= 0, the other
    classes' weights 0, biases free. Returns the final objective."""
    from scipy.optimize import minimize

    c = int(model.monotone)
    bounds = []
    for p in params:
        b = np.zeros((*p.shape, 2))
        b[..., 0], b[..., 1] = -np.inf, np.inf
        if p is model.shared.weight or p is model.group_weight:
            b[..., :] = 0.0  # every class but the monotone one: no weights (its logit is its bias)
            b[..., c, :, 0] = -np.inf  # (classes, d) and (groups, classes, d): the class axis is second-to-last
        bounds += [(None if lo == -np.inf else lo, None if hi == np.inf else hi) for lo, hi in b.reshape(-1, 2)]
    sizes = [p.numel() for p in params]

    def set_flat(v: np.ndarray) -> None:
        with torch.no_grad():
            for p, chunk in zip(params, np.split(v, np.cumsum(sizes)[:-1]), strict=True):
                p.copy_(torch.as_tensor(chunk, dtype=p.dtype).reshape(p.shape))

    def fun(v: np.ndarray):
        set_flat(v)
        for p in params:
            p.grad = None
        loss = objective()
        loss.backward()
        return float(loss.detach()), np.concatenate([p.grad.detach().double().reshape(-1).numpy() for p in params])

    v0 = np.concatenate([p.detach().double().reshape(-1).numpy() for p in params])
    res = minimize(fun, v0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": max_iter})
    set_flat(res.x)
    return float(res.fun)


@torch.no_grad()
def feature_logits(model: FeatureClassifier, x: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.as_tensor(np.asarray(x, np.float32))).double().numpy()
