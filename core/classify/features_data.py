"""Feature matrices for the physics model: training, validation, and the experimental reference frames."""

from __future__ import annotations

import numpy as np

from ..jobs import ProgressFn, StopFn, never_stop, no_progress
from .featmodel import group_of
from .physics import feature_matrix

MAX_REFERENCE_PER_PATTERN = 200  # enough for a robust median and MAD; bounded so a round stays quick


def with_groups(ws, images, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> np.ndarray:
    """(N, F + 1): physics features and, last, the pattern group of each image."""
    feats = feature_matrix(ws, images, progress=progress, should_stop=should_stop)
    groups = np.array([[group_of(img.pattern)] for img in images], np.float32).reshape(-1, 1)
    return np.concatenate([feats, groups], 1)


def reference_images(ws, *, seed: int = 0) -> list:
    """Up to `MAX_REFERENCE_PER_PATTERN` experimental frames per pattern (a seeded draw where there are more)."""
    rng = np.random.default_rng(seed)
    by_pattern: dict[int, list] = {}
    for img, _ in ws.store.list_images():
        if img.source == "experimental":
            by_pattern.setdefault(group_of(img.pattern), []).append(img)
    picked = []
    for imgs in by_pattern.values():
        if len(imgs) > MAX_REFERENCE_PER_PATTERN:
            imgs = [imgs[i] for i in sorted(rng.choice(len(imgs), MAX_REFERENCE_PER_PATTERN, replace=False))]
        picked += imgs
    return picked


def to_compute(ws, train_imgs, val_imgs) -> list[int]:
    """How many training, validation and reference frames (`feature_inputs`' three counts) have no cached
    features yet: each takes about a second, a cached one milliseconds."""
    from .physics import features_cached

    return [sum(not features_cached(ws, img) for img in imgs) for imgs in (train_imgs, val_imgs, reference_images(ws))]


def reference(ws, *, seed: int = 0, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop):
    """(features, groups) of up to `MAX_REFERENCE_PER_PATTERN` experimental frames per pattern."""
    picked = reference_images(ws, seed=seed)
    if not picked:
        return np.zeros((0, with_groups(ws, []).shape[1] - 1), np.float32), np.zeros(0)
    x = with_groups(ws, picked, progress=progress, should_stop=should_stop)
    return x[:, :-1], x[:, -1]


def feature_inputs(ws, train_imgs, val_imgs, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop):
    """(training matrix, validation matrix, reference) for a round of the physics model."""
    x = with_groups(ws, train_imgs, progress=progress, should_stop=should_stop)
    xv = with_groups(ws, val_imgs, progress=progress, should_stop=should_stop)
    ref = reference(ws, progress=progress, should_stop=should_stop)
    if len(ref[0]) == 0:  # no experimental frames: the training frames are the reference
        ref = (x[:, :-1], x[:, -1])
    return x, xv, ref
