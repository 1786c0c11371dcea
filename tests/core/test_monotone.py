"""The realism physics model is monotone: departing further from the real frames, in any feature and either
direction, never makes a frame more realistic, even where the labels at hand would teach it so."""

from __future__ import annotations

import numpy as np
import torch

from scatterloop.core.classify.featmodel import GROUPS, FeatureClassifier, feature_logits, fit_features
from scatterloop.core.classify.physics import FEATURES

F = len(FEATURES)


def _labelled(rng, n=160):
    """Fakes depart in feature 3; by the chance of a small sample the realistic frames depart more in feature 7
    (a feature that on its own says nothing of realism), so an unconstrained model reads feature 7 as realism."""
    y = rng.integers(0, 2, n)
    feats = rng.normal(0, 1, (n, F))
    feats[:, 3] += np.where(y == 1, 0, 4)
    feats[:, 7] += np.where(y == 1, 3, 0)
    return np.concatenate([feats, np.zeros((n, 1))], 1).astype(np.float32), y  # group 0: rings


def _model(monotone: bool, x, y, rng):
    model = FeatureClassifier(2)
    model.set_reference(rng.normal(0, 1, (60, F)), np.zeros(60))
    model.set_monotone(1 if monotone else None)
    fit_features(model, x, y)
    return model


def _realistic(model, x):
    return torch.softmax(torch.as_tensor(feature_logits(model, x)), 1)[:, 1].numpy()


def test_departing_never_raises_realism_when_monotone_and_did_without():
    rng = np.random.default_rng(0)
    x, y = _labelled(rng)
    free, mono = _model(False, x, y, np.random.default_rng(1)), _model(True, x, y, np.random.default_rng(1))
    assert (feature_logits(mono, x).argmax(1) == y).mean() > 0.9  # it still learns what the labels say
    base = np.concatenate([rng.normal(0, 0.5, (20, F)), np.zeros((20, 1))], 1).astype(np.float32)
    centre = mono.ref_centre[0].numpy()  # the real frames' medians (both models hold the same reference)
    rose = {"free": 0, "monotone": 0}
    for name, model in (("free", free), ("monotone", mono)):
        for j in range(F):
            for sign in (1, -1):
                steps = [base.copy() for _ in range(5)]
                for k, s in enumerate(steps):
                    s[:, j] = centre[j] + sign * 2.0 * k  # from the median, further and further away
                p = np.stack([_realistic(model, s) for s in steps])
                rose[name] += int((np.diff(p, axis=0) > 1e-6).sum())
    assert rose["monotone"] == 0
    assert rose["free"] > 0  # the unconstrained model did learn "departing in feature 7 is realistic"


def test_monotone_model_saves_and_an_older_checkpoint_loads_unconstrained(tmp_path):
    from scatterloop.core.classify.registry import ClassifierConfig, load_classifier, save_classifier

    rng = np.random.default_rng(2)
    x, y = _labelled(rng, 80)
    model = _model(True, x, y, rng)
    save_classifier(model, ClassifierConfig("physics", ["fake", "realistic"], 0, channels=0), tmp_path / "m")
    loaded, _ = load_classifier(tmp_path / "m")
    assert int(loaded.monotone) == 1 and np.allclose(feature_logits(loaded, x), feature_logits(model, x))
    # a checkpoint written before the monotone model existed has none of its buffers: it loads as it was
    old = {k: v for k, v in model.state_dict().items() if k not in ("monotone", "term_mean", "term_std")}
    fresh = FeatureClassifier(2)
    fresh.load_state_dict(old)
    assert int(fresh.monotone) == -1 and len(GROUPS) == fresh.group_weight.shape[0]
