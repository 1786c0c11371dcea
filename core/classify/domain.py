"""Is an image like the frames a network was trained on? A domain check on the network's own features.

A classifier's confidence says how sure it is between its classes, not whether the image is of the kind it
learned: a pattern network trained on one simulator's square frames called real ring frames of other detectors
"background" at 0.97. So each network of a round also keeps the class means and a shared covariance of its
penultimate features on its training frames (the Mahalanobis detector of Lee et al., NeurIPS 2018, without
input perturbation; covariance shrunk by Ledoit-Wolf, so a few hundred frames suffice for a 512-d feature). An
image's distance is the Mahalanobis distance to the nearest class mean, given as a ratio to the threshold: a
conformal 99th percentile of the validation frames' distances (`fit_domain`; a round with fewer than `MIN_VAL`
validation frames gets no check). Above 1 the image lies farther from every class than nearly all held-out
frames of the training kind, and its call is marked as one made outside the model's domain. It checks the
training domain, not the class list: a frame of a kind with no class that resembles the training frames (a
speckle pattern next to a wide simulator's peaks) passes.

Measured (`bench simreal`, 2026-12-07): the pattern network trained on the square default-domain frames flagged
99.9 % of the real frames of `../shared` (median 2.8 times the threshold), its wide-domain twin none (median 0.23).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..jobs import never_stop

QUANTILE = 0.99  # of the validation frames' distances: the threshold
MIN_VAL = 20  # validation frames needed for a threshold (a new frame of the kind passes it with >= 95 % chance)
MAX_DIM = 1024  # wider features (ResNet-50's 2,048, AlexNet's 4,096) are projected at random to this many first
FILE = "domain.safetensors"


def head_module(model: torch.nn.Module) -> torch.nn.Module | None:
    """The layer that turns features into class scores: timm's `get_classifier()`, else the last linear or
    convolution layer (torchvision's AlexNet and SqueezeNet)."""
    get = getattr(model, "get_classifier", None)
    if callable(get):
        head = get()
        if isinstance(head, torch.nn.Module) and any(True for _ in head.parameters()):
            return head
    last = None
    for m in model.modules():
        if isinstance(m, torch.nn.Linear | torch.nn.Conv2d):
            last = m
    return last


@contextlib.contextmanager
def captured_features(model: torch.nn.Module, transform=None):
    """Within the block, every forward pass of `model` appends its head's input (N, D) float32 to the list
    yielded (spatial maps averaged), or `transform` of it (e.g. `DomainCheck.ratio`, so only N numbers are kept
    per batch, not a 100,000 x 4,096 feature matrix); nothing is captured when the model has no head."""
    out: list[np.ndarray] = []
    head = head_module(model)

    def hook(_m, inputs, _o):
        f = inputs[0].detach().float()
        if f.ndim > 2:
            f = f.mean(dim=tuple(range(2, f.ndim)))
        f = f.cpu().numpy()
        out.append(transform(f) if transform is not None else f)

    handle = head.register_forward_hook(hook) if head is not None else None
    try:
        yield out
    finally:
        if handle is not None:
            handle.remove()


@dataclass
class DomainCheck:
    """Class means, shared precision and threshold of a network's features (projected when wide)."""

    means: np.ndarray  # (K, d)
    precision: np.ndarray  # (d, d)
    threshold: float
    projection: np.ndarray | None = None  # (D, d), when D > MAX_DIM: a random orthonormal projection
    false_flag_bound: float | None = None  # at most this share of new frames of the training kind lie above

    def distance(self, feats: np.ndarray) -> np.ndarray:
        """(N,) Mahalanobis distance to the nearest class mean."""
        f = np.asarray(feats, np.float64)
        if self.projection is not None:
            f = f @ self.projection
        d = np.full(len(f), np.inf)
        for m in self.means:
            r = f - m
            d = np.minimum(d, ((r @ self.precision) * r).sum(1))
        return np.sqrt(np.clip(d, 0.0, None))

    def ratio(self, feats: np.ndarray) -> np.ndarray:
        """(N,) distance over the threshold: above 1, farther than 99 % of the validation frames."""
        return self.distance(feats) / self.threshold

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        arrays = {
            "means": self.means.astype(np.float32),
            "precision": self.precision.astype(np.float32),
            "threshold": np.array([self.threshold, self.false_flag_bound], np.float64),
        }
        if self.projection is not None:
            arrays["projection"] = self.projection.astype(np.float32)
        path = Path(folder) / FILE
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, path)  # it writes a view's raw buffer
        return path


def load_domain(folder: str | Path) -> DomainCheck | None:
    """The check saved beside a classifier; None for models without one (physics models, older rounds)."""
    from safetensors.numpy import load_file

    path = Path(folder) / FILE
    if not path.is_file():
        return None
    a = {k: v.astype(np.float64) for k, v in load_file(path).items()}
    t = a["threshold"]
    return DomainCheck(a["means"], a["precision"], float(t[0]), a.get("projection"), float(t[1]))


def fit_domain(train_feats: np.ndarray, y: np.ndarray, val_feats: np.ndarray, seed: int = 0) -> DomainCheck | None:
    """The check from training features (N, D) with labels and validation features; None when there is too
    little to estimate it (a class seen fewer than twice, fewer than `MIN_VAL` validation frames) or the
    features are not finite (a diverged network).

    The threshold is a conformal quantile of the validation distances (the k-th smallest of n, k = ceil((n + 1)
    * 0.99), at most n): a new frame of the training kind lies above it with chance at most 1 - k / (n + 1),
    1 % from 99 validation frames on, 1 / (n + 1) below that (4.8 % at the minimum of 20)."""
    from sklearn.covariance import LedoitWolf

    f, v, y = np.asarray(train_feats, np.float64), np.asarray(val_feats, np.float64), np.asarray(y)
    classes = np.unique(y)
    if len(v) < MIN_VAL or any(np.sum(y == c) < 2 for c in classes):
        return None
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(v))):
        return None
    projection = None
    if f.shape[1] > MAX_DIM:  # Johnson-Lindenstrauss: distances kept, directions outside the training span too
        q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(f.shape[1], MAX_DIM)))
        projection = q
        f = f @ projection
    means = np.stack([f[y == c].mean(0) for c in classes])
    resid = f - means[np.searchsorted(classes, y)]
    precision = LedoitWolf().fit(resid).precision_
    check = DomainCheck(means, precision, 1.0, projection)
    d = np.sort(check.distance(v))
    k = min(len(d), int(np.ceil((len(d) + 1) * QUANTILE)))
    check.threshold = float(d[k - 1]) if d[k - 1] > 0 else 1.0
    check.false_flag_bound = round(1.0 - k / (len(d) + 1), 4)
    return check


def network_features(model, x, *, input_size, channels, device, should_stop=never_stop):
    """(penultimate features (N, D), logits (N, K)) of a network for inputs `x`; features None without a head."""
    from .train import predict_logits

    with captured_features(model) as got:
        logits = predict_logits(
            model, x, input_size=input_size, device=device, channels=channels, should_stop=should_stop
        )
    return (np.concatenate(got) if got else None), logits


def network_domain(
    model, x_train, y_train, x_val, *, input_size, channels, device, should_stop=never_stop
) -> DomainCheck | None:
    """Fit the check of a trained network on its (unaugmented) training and validation inputs."""
    kw = dict(input_size=input_size, channels=channels, device=device, should_stop=should_stop)
    feats = [network_features(model, x, **kw)[0] for x in (x_train, x_val)]
    return None if feats[0] is None else fit_domain(feats[0], y_train, feats[1])


def combine(ratios: np.ndarray) -> np.ndarray:
    """(M, N) per-model ratios (NaN: a model without a check) → (N,) the median over the models that have one,
    NaN where none has."""
    r = np.asarray(ratios, np.float64)
    out = np.full(r.shape[1:], np.nan)
    have = ~np.all(np.isnan(r), axis=0)
    if np.any(have):
        out[have] = np.nanmedian(r[:, have], axis=0)
    return out


def outside_note(outside: int | None, images: int, task: str | None = None, models=()) -> str:
    """One sentence for a prediction's summary: how many images lay outside the networks' domain ("" for none);
    where a round's image networks (of `models`) measured nothing, that no call could be marked."""
    from .registry import spec_of

    if outside is None and any(spec_of(m).library in ("timm", "torchvision") for m in models if _known(m)):
        return (
            f"No call is checked against the training frames: the round had fewer than {MIN_VAL} validation frames, "
            "so calls on images unlike them are not marked (train on more frames to have them checked)."
        )
    if not outside:
        return ""
    advice = (
        "train the pattern round on frames like them, e.g. simulated with `scatterloop simulate --domain wide`"
        if task == "pattern"
        else "label some of them and train again"
    )
    return (
        f"{outside} of {images} images are unlike the frames the models were trained on (farther than nearly all of "
        f"their validation frames): their calls are marked 'unlike training' and deserve little trust; {advice}."
    )


def _known(arch: str) -> bool:
    from .registry import REGISTRY

    return arch in REGISTRY
