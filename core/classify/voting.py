"""Ensemble voting and classification metrics.

Hard voting: each model's decision is one vote; a tie goes to the tied class with the highest mean
probability across models (then the lower class index). Soft voting: the mean of the models' probabilities.
Weighted soft voting: a convex combination whose weights minimise the log-loss on validation data; scored
only on data the weights were not fitted on (`cross_fitted_weighted`).

Decisions (`decide`) minimise the expected cost on calibrated probabilities. Calling class k wrongly costs
`costs[k]` (all 1: the arg-max); in the realism task a false "realistic" call lets a hallucination into the
images a person keeps, while a missed realistic image costs one more generated candidate, so a recipe may
price the first higher (`Recipe.positive_cost`): with cost c the positive class is called when P > c / (1 + c).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

SCHEMES = ("hard", "soft", "weighted")


def check_positive_cost(positive_cost: float) -> float:
    """`positive_cost` if it is a price a decision can use (a finite number above 0), else a one-line error."""
    if not np.isfinite(positive_cost) or positive_cost <= 0:
        raise ValueError(f"positive_cost: expected a number above 0, got {positive_cost}")
    return positive_cost


def decision_costs(classes: list[str], positive: str | None, positive_cost: float = 1.0) -> np.ndarray:
    """The cost of calling each class wrongly: `positive_cost` for the positive class, 1 for the others."""
    check_positive_cost(positive_cost)
    return np.array([positive_cost if c == positive else 1.0 for c in classes])


def decide(probs: np.ndarray, costs: np.ndarray | None = None) -> np.ndarray:
    """probs (..., K) → the class of least expected cost, costs[k] × (1 − p_k); all costs equal: the arg-max.
    Ties go to the lower class index."""
    probs = np.asarray(probs, np.float64)
    if costs is None:
        return probs.argmax(-1)
    costs = np.asarray(costs, np.float64)
    if costs.shape != probs.shape[-1:]:
        raise ValueError(f"costs: expected {probs.shape[-1]} values, one per class, got {costs.shape[0]}")
    return (costs * (1.0 - probs)).argmin(-1)


def positive_threshold(costs: np.ndarray | None, positive: int) -> float:
    """For two classes: the probability of class `positive` from which `decide` calls it."""
    if costs is None:
        return 0.5
    c = float(costs[positive]) / float(costs[1 - positive])
    return c / (1.0 + c)


def decision_record(classes: list[str], positive: str | None, positive_cost: float = 1.0) -> dict:
    """What a round stores of its decision rule, so prediction and tables decide as the round scored."""
    costs = decision_costs(classes, positive, positive_cost)
    two = len(classes) == 2 and positive in classes
    return {
        "rule": "least expected cost" if (costs != 1).any() else "arg-max",
        "positive": positive,
        "costs": {c: float(v) for c, v in zip(classes, costs, strict=True)},
        "threshold": round(positive_threshold(costs, classes.index(positive)), 4) if two else None,
    }


def round_costs(result: dict) -> np.ndarray | None:
    """The decision costs a stored round used, in its class order (None: the arg-max, as rounds recorded before
    costs were kept)."""
    costs = (result.get("decision") or {}).get("costs")
    if not costs:
        return None
    return np.array([float(costs.get(c, 1.0)) for c in result["classes"]])


def hard_vote(probs: np.ndarray, costs: np.ndarray | None = None) -> np.ndarray:
    """probs (M, N, K) → labels (N,): each model's decision (`decide`) is one vote; ties broken by the mean
    probability (with costs: the least expected cost of the mean probability), then by the lower index."""
    m, n, k = probs.shape
    votes = np.zeros((n, k))
    np.add.at(votes, (np.arange(n)[None, :].repeat(m, 0), decide(probs, costs)), 1)
    top = votes == votes.max(1, keepdims=True)
    mean = probs.mean(0)
    key = mean if costs is None else -np.asarray(costs, np.float64) * (1.0 - mean)
    return np.where(top, key, -np.inf).argmax(1)


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
