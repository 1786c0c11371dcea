"""Is an image like the frames a network was trained on? A domain check on the network's own features.

A classifier's confidence says how sure it is between its classes, not whether the image is of the kind it
learned: a pattern network trained on one simulator's square frames called real ring frames of other detectors
"background" at 0.97. So each network of a round also keeps the class means and a shared covariance of its
penultimate features on its training frames (the Mahalanobis detector of Lee et al., NeurIPS 2018, without
input perturbation; covariance shrunk by Ledoit-Wolf, so a few hundred frames suffice for a 512-d feature). An
image's distance is the Mahalanobis distance to the nearest class mean, given as a ratio to the threshold: the
99th percentile of the validation frames' distances. Above 1 the image lies farther from every class than 99 %
of held-out frames of the training kind, and its call is marked as one made outside the model's domain.

Measured (`bench simreal`, 2026-12-07): the pattern network trained on the square default-domain frames put
the real frames of `../shared` at 1.0-3.2 times the threshold, where its wide-domain twin put them at 0.2-0.9.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

QUANTILE = 0.99  # of the validation frames' distances: the threshold
MAX_DIM = 512  # wider features (AlexNet's 4,096) are projected on their leading principal axes first
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
def captured_features(model: torch.nn.Module):
    """Within the block, every forward pass of `model` appends its head's input (N, D) float64 to the list
    yielded (spatial maps averaged); nothing is captured when the model has no head."""
    out: list[np.ndarray] = []
    head = head_module(model)

    def hook(_m, inputs, _o):
        f = inputs[0].detach().float()
        if f.ndim > 2:
            f = f.mean(dim=tuple(range(2, f.ndim)))
        out.append(f.cpu().double().numpy())

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
    projection: np.ndarray | None = None  # (D, d) and its centre (D,), when D > MAX_DIM
    centre: np.ndarray | None = None

    def distance(self, feats: np.ndarray) -> np.ndarray:
        """(N,) Mahalanobis distance to the nearest class mean."""
        f = np.asarray(feats, np.float64)
        if self.projection is not None:
            f = (f - self.centre) @ self.projection
        d = [np.einsum("nd,de,ne->n", f - m, self.precision, f - m) for m in self.means]
        return np.sqrt(np.clip(np.min(d, axis=0), 0.0, None))

    def ratio(self, feats: np.ndarray) -> np.ndarray:
        """(N,) distance over the threshold: above 1, farther than 99 % of the validation frames."""
        return self.distance(feats) / self.threshold

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        arrays = {
            "means": self.means.astype(np.float32),
            "precision": self.precision.astype(np.float32),
            "threshold": np.array([self.threshold], np.float64),
        }
        if self.projection is not None:
            arrays |= {"projection": self.projection.astype(np.float32), "centre": self.centre.astype(np.float32)}
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
    return DomainCheck(a["means"], a["precision"], float(a["threshold"][0]), a.get("projection"), a.get("centre"))


def fit_domain(train_feats: np.ndarray, y: np.ndarray, val_feats: np.ndarray) -> DomainCheck | None:
    """The check from training features (N, D) with labels and validation features; None when there is too
    little to estimate it (fewer than two training frames of a class seen, or no validation frame)."""
    from sklearn.covariance import LedoitWolf

    f, y = np.asarray(train_feats, np.float64), np.asarray(y)
    classes = np.unique(y)
    if len(f) < 4 or len(val_feats) == 0 or any(np.sum(y == c) < 2 for c in classes):
        return None
    projection = centre = None
    if f.shape[1] > MAX_DIM:
        centre = f.mean(0)
        _, _, vt = np.linalg.svd(f - centre, full_matrices=False)
        projection = vt[: min(MAX_DIM, len(vt))].T
        f = (f - centre) @ projection
    means = np.stack([f[y == c].mean(0) for c in classes])
    resid = f - means[np.searchsorted(classes, y)]
    precision = LedoitWolf().fit(resid).precision_
    check = DomainCheck(means, precision, 1.0, projection, centre)
    threshold = float(np.quantile(check.distance(val_feats), QUANTILE))
    check.threshold = threshold if threshold > 0 else 1.0
    return check


def network_domain(model, x_train, y_train, x_val, *, input_size, channels, device) -> DomainCheck | None:
    """Fit the check of a trained network on its (unaugmented) training and validation inputs."""
    from .train import predict_logits

    feats = []
    for x in (x_train, x_val):
        with captured_features(model) as got:
            predict_logits(model, x, input_size=input_size, device=device, channels=channels)
        if not got:
            return None
        feats.append(np.concatenate(got))
    return fit_domain(feats[0], y_train, feats[1])


def combine(ratios: np.ndarray) -> np.ndarray:
    """(M, N) per-model ratios (NaN: a model without a check) → (N,) the median over the models that have one,
    NaN where none has."""
    r = np.asarray(ratios, np.float64)
    out = np.full(r.shape[1:], np.nan)
    have = ~np.all(np.isnan(r), axis=0)
    if np.any(have):
        out[have] = np.nanmedian(r[:, have], axis=0)
    return out


def outside_note(outside: int | None, images: int, task: str | None = None) -> str:
    """One sentence for a prediction's summary: how many images lay outside the networks' domain ("" for none, or
    where no network measured it)."""
    if not outside:
        return ""
    advice = (
        "train the pattern round on frames like them, e.g. simulated with `scatterloop simulate --domain wide`"
        if task == "pattern"
        else "label some of them and train again"
    )
    return (
        f"{outside} of {images} images are unlike the frames the models were trained on (farther than 99 % of the "
        f"validation frames): their calls are marked 'unlike training' and deserve little trust; {advice}."
    )
