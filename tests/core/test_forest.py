"""The physics forest: scikit-learn's trees kept as tensors, predicting as scikit-learn does, saved as safetensors."""

from __future__ import annotations

import numpy as np
import torch

from scatterloop.core.classify.featmodel import feature_logits
from scatterloop.core.classify.forest import FeatureForest, fit_physics
from scatterloop.core.classify.physics import FEATURES
from scatterloop.core.classify.registry import ClassifierConfig, create_classifier, load_classifier, save_classifier


def _data(n: int, seed: int = 0):
    """Fakes depart from real frames in one feature for ring frames and in another for the rest, where realistic
    ring frames share that second departure."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(0, 1, (n, len(FEATURES)))
    group = rng.integers(0, 3, n)
    y = rng.integers(0, 2, n)
    fake = y == 0
    feats[fake & (group == 0), 3] += 5
    feats[fake & (group != 0), 7] -= 5
    feats[~fake & (group == 0), 7] -= 5  # realistic ring frames share the other patterns' fake signature
    x = np.concatenate([feats, group[:, None]], 1).astype(np.float32)
    return x, y, rng.normal(0, 1, (60, len(FEATURES))), rng.integers(0, 3, 60)


def test_forest_predicts_as_scikit_learn_and_learns_per_pattern_departures():
    from sklearn.ensemble import ExtraTreesClassifier

    x, y, ref, ref_g = _data(400)
    model = create_classifier("physics_forest", 2)
    assert isinstance(model, FeatureForest)
    model.set_reference(ref, ref_g)
    fit_physics(model, x[:300], y[:300], seed=5)
    with torch.no_grad():
        z = model.inputs(torch.as_tensor(x)).numpy()
    sk = ExtraTreesClassifier(300, min_samples_leaf=2, class_weight="balanced", random_state=5, n_jobs=1)
    sk.fit(z[:300], y[:300])
    p = np.exp(feature_logits(model, x))
    assert np.abs(p - np.clip(sk.predict_proba(z), 1e-3, 1)).max() < 1e-5
    assert (p[300:].argmax(1) == y[300:]).mean() > 0.9


def test_a_saved_forest_reloads_with_its_own_size_and_a_missing_class_keeps_probability_zero(tmp_path):
    x, y, ref, ref_g = _data(120, seed=1)
    model = FeatureForest(3)  # three classes, the labels hold two
    model.set_reference(ref, ref_g)
    fit_physics(model, x, y)
    save_classifier(model, ClassifierConfig("physics_forest", ["a", "b", "c"], 0, channels=0), tmp_path / "f")
    loaded, cfg = load_classifier(tmp_path / "f")
    assert cfg.kind == "features" and loaded.node_feature.shape == model.node_feature.shape
    assert np.allclose(feature_logits(loaded, x), feature_logits(model, x))
    assert np.allclose(np.exp(feature_logits(loaded, x))[:, 2], 1e-3)  # the floor, never a made-up share


def test_a_pattern_classifier_is_not_handed_the_pattern_it_predicts(small_workspace):
    """The physics models read each frame's pattern as an input when they judge realism. When the pattern is what
    they predict, the column must be ignored: trained on labelled frames and asked about an imported frame
    whose pattern nobody knows, a model that had read it would have learnt nothing else."""
    from scatterloop.core.classify.jobs import run_round
    from scatterloop.core.classify.rounds import RoundParams

    x, _, ref, ref_g = _data(30, seed=2)
    model = FeatureForest(3)
    model.use_groups.fill_(False)
    model.set_reference(ref, ref_g)
    a, b = x.copy(), x.copy()
    a[:, -1], b[:, -1] = 0, 2
    assert torch.equal(model.phi(torch.as_tensor(a))[0], model.phi(torch.as_tensor(b))[0])

    ws = small_workspace
    params = RoundParams(task="pattern", sources=("experimental",), models=("physics", "physics_forest"))
    _, res = run_round(ws, params)
    for arch in ("physics", "physics_forest"):
        loaded, _ = load_classifier(ws.root / res.models[arch]["checkpoint"])
        assert not bool(loaded.use_groups), arch
    assert bool(FeatureForest(2).use_groups)  # realism: the pattern is an input
