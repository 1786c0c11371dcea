"""Labels to look at again: what models that were not trained on a label make of it.

A person labelling hundreds of frames slips on a few per cent of them. A round asks models fitted without a
label (the validation labels as the round fitted them, the training labels by 5-fold refits of the physics
models) what chance they give it; the labels given under `DOUBT` are listed on the round, queued for review
(`predict.doubted_queue`), left out of the temperature fit and of the saved models' final refit (`rounds`),
never changed.
"""

from __future__ import annotations

import numpy as np

from ..jobs import StopFn, check_stop
from .calibrate import softmax
from .data import REALISTIC, Split
from .registry import create_classifier

DOUBT = 0.1  # a label that models not trained on it give less chance than this is doubted
MAX_DOUBTED = 0.1  # at most this share of a set is doubted: about what a person gets wrong, not what is hard


def doubted(
    probs: np.ndarray, y: np.ndarray, threshold: float | None = None, max_share: float | None = None
) -> np.ndarray:
    """Indices of the labels `y` that out-of-sample probabilities `probs` ((models, N, classes), averaged over
    the models) give less than `threshold` (`DOUBT`) chance, the most doubted first, at most `max_share`
    (`MAX_DOUBTED`) of the set, rounded up.

    Confident learning in its simplest form (Northcutt et al. 2021 prune by the probability of the given
    label): with a few hundred labels and an annotator who slips on a few per cent, the labels the models
    doubt this strongly are mostly those slips (`bench loop`: see its `doubted` figures)."""
    threshold = DOUBT if threshold is None else threshold
    max_share = MAX_DOUBTED if max_share is None else max_share
    probs = np.asarray(probs, np.float64)
    y = np.asarray(y, np.int64)
    if probs.ndim == 2:
        probs = probs[None]
    if len(y) == 0 or probs.shape[0] == 0:
        return np.zeros(0, np.int64)
    chance = label_chance(probs, y)
    order = np.argsort(chance, kind="stable")
    low = order[chance[order] < threshold]
    return low[: int(np.ceil(max_share * len(y) - 1e-9))]


def label_chance(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The chance the models' average ((models, N, classes) probabilities) gives each label of `y`."""
    probs = np.asarray(probs, np.float64)
    probs = probs[None] if probs.ndim == 2 else probs
    return probs.mean(0)[np.arange(len(y)), np.asarray(y, np.int64)]


def out_of_fold(arch: str, split: Split, xf: np.ndarray, ref, *, seed: int, should_stop: StopFn, folds: int = 5):
    """Each training label's class probabilities from a physics model of `arch` fitted on the other folds (the
    same reference statistics), or None when a class has too few labels to fold."""
    from sklearn.model_selection import StratifiedKFold

    from .featmodel import feature_logits
    from .forest import fit_physics

    y = np.asarray(split.train_y)
    if len(y) < 2 * folds or np.bincount(y, minlength=len(split.classes)).min() < folds:
        return None
    out = np.zeros((len(y), len(split.classes)))
    for a, b in StratifiedKFold(folds, shuffle=True, random_state=seed).split(xf, y):
        check_stop(should_stop)
        model = create_classifier(arch, len(split.classes))
        configure_physics(model, split)
        model.set_reference(*ref)
        fit_physics(model, xf[a], y[a], seed=seed)
        out[b] = softmax(feature_logits(model, xf[b]))
    return out


def doubted_labels(split: Split, val_probs: np.ndarray, doubt_val: np.ndarray, oof: list) -> list[dict]:
    """The labels to look at again: validation labels the round's models doubt (`doubted`) and training labels
    the physics models doubt out of fold; each with the chance the models gave its label, most doubted first."""

    def rows(ids, y, probs, picked, where):
        chance = label_chance(probs, y)
        return [
            {"id": int(ids[i]), "label": split.classes[int(y[i])], "chance": round(float(chance[i]), 4), "set": where}
            for i in picked
        ]

    out = rows(split.val_ids, split.val_y, val_probs, doubt_val, "validation")
    folds = [p for p in oof if p is not None]
    if folds:
        stacked = np.stack(folds)
        out += rows(split.train_ids, split.train_y, stacked, doubted(stacked, split.train_y), "training")
    return sorted(out, key=lambda r: r["chance"])


def configure_physics(model, split: Split) -> None:
    """A physics model reads each frame against its own pattern's real frames when judging realism, and is then
    monotone: departing from real frames never makes a frame more realistic (`featmodel`). Judging the pattern,
    every frame is read against all real frames, unconstrained."""
    model.use_groups.fill_(split.task != "pattern")
    realism = split.task == "realism" and REALISTIC in split.classes
    model.set_monotone(split.classes.index(REALISTIC) if realism else None)
