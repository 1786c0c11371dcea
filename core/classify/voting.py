"""Ensemble voting and classification metrics.

Hard voting: each model's arg-max is one vote; a tie goes to the tied class with the highest mean
probability across models (then the lower class index). Soft voting: the mean of the models' probabilities.
Weighted soft voting: a convex combination whose weights minimise the log-loss on validation data; scored
only on data the weights were not fitted on (`cross_fitted_weighted`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

SCHEMES = ("hard", "soft", "weighted")


def hard_vote(probs: np.ndarray) -> np.ndarray:
    """probs (M, N, K) → labels (N,); ties broken by the mean probability, then by the lower index."""
    m, n, k = probs.shape
    votes = np.zeros((n, k))
    np.add.at(votes, (np.arange(n)[None, :].repeat(m, 0), probs.argmax(2)), 1)
    top = votes == votes.max(1, keepdims=True)
    mean = probs.mean(0)
    return np.where(top, mean, -np.inf).argmax(1)


def soft_vote(probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """probs (M, N, K) → (N, K): the (weighted) mean probability."""
    w = np.full(len(probs), 1 / len(probs)) if weights is None else np.asarray(weights, float)
    return np.tensordot(w, probs, axes=1)


def fit_weights(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights on the simplex minimising the log-loss of the weighted mean probability on (probs, y)."""
    m = len(probs)
    if m == 1 or len(y) == 0:
        return np.ones(m) / m
    picked = probs[:, np.arange(len(y)), y]  # (M, N): each model's probability of the true class

    def loss(w):
        return -np.mean(np.log(w @ picked + 1e-12))

    res = minimize(
        loss,
        np.ones(m) / m,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
    )
    w = np.clip(res.x, 0, None)
    return w / w.sum() if w.sum() > 0 else np.ones(m) / m


def cross_fitted_weighted(probs: np.ndarray, y: np.ndarray, folds: int = 2, seed: int = 0) -> np.ndarray:
    """Weighted-soft probabilities (N, K) where each sample is scored with weights fitted on the other folds."""
    n = len(y)
    out = np.zeros(probs.shape[1:])
    fold = np.random.default_rng(seed).permutation(n) % max(2, folds)
    for f in range(max(2, folds)):
        held, fit_on = fold == f, fold != f
        if not held.any():
            continue
        w = fit_weights(probs[:, fit_on], y[fit_on])
        out[held] = soft_vote(probs[:, held], w)
    return out


def scores(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str], positive: str | None = None) -> dict:
    """Accuracy, precision, recall, F1 (of `positive` for two classes, macro otherwise), confusion, per class."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    if positive is not None and positive in classes:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=[classes.index(positive)], average=None, zero_division=0
        )
        p, r, f = p[0], r[0], f[0]
    else:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    pc, rc, fc, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "averaging": f"positive class {positive!r}" if positive in classes else "macro",
        "n": int(len(y_true)),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "per_class": {
            c: {"precision": float(pc[i]), "recall": float(rc[i]), "f1": float(fc[i]), "n": int(support[i])}
            for i, c in enumerate(classes)
        },
    }
