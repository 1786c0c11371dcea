"""Physics features are only ever appended: a model or a map made before the newest feature keeps working."""

from __future__ import annotations

import numpy as np
import pytest

from scatterloop.core.classify.featmodel import feature_logits
from scatterloop.core.classify.forest import fit_physics
from scatterloop.core.classify.physics import FEATURES
from scatterloop.core.classify.registry import ClassifierConfig, create_classifier, load_classifier, save_classifier


def _old_and_today(n: int, seed: int = 0):
    """Inputs as a model with one feature fewer saw them, and as they are built today (one more feature before
    the pattern group)."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(0, 1, (n, len(FEATURES) - 1))
    group = rng.integers(0, 3, n)
    y = (feats[:, 2] + 0.5 * rng.normal(0, 1, n) > 0).astype(int)
    old = np.concatenate([feats, group[:, None]], 1).astype(np.float32)
    today = np.concatenate([feats, rng.normal(0, 5, (n, 1)), group[:, None]], 1).astype(np.float32)
    return old, today, y


@pytest.mark.parametrize("arch", ["physics", "physics_forest"])
def test_a_physics_model_saved_before_a_feature_was_appended_loads_and_scores_todays_inputs(tmp_path, arch):
    """Before, a model saved with fewer features failed to load (size mismatch of its reference statistics), so
    every earlier round of a workspace stopped scoring when a feature was added."""
    old_x, today_x, y = _old_and_today(120)
    model = create_classifier(arch, 2, n_features=len(FEATURES) - 1)
    model.set_monotone(1) if arch == "physics" else None
    model.set_reference(old_x[:40, :-1], old_x[:40, -1])
    fit_physics(model, old_x, y)
    save_classifier(model, ClassifierConfig(arch, ["fake", "realistic"], 0, channels=0), tmp_path / "m")
    loaded, _ = load_classifier(tmp_path / "m")
    assert loaded.n_features == len(FEATURES) - 1
    want = feature_logits(model, old_x)
    assert np.allclose(feature_logits(loaded, today_x), want, atol=1e-5)
    assert (want.argmax(1) == y).mean() > 0.8  # a model that learned something, not a constant


def test_a_map_built_before_a_feature_was_appended_describes_new_images_with_its_own_features():
    import torch

    from scatterloop.core.embed.features import _physics_model

    old_x, today_x, _ = _old_and_today(30)
    centre = np.zeros((4, len(FEATURES) - 1), np.float32)
    state = {"ref_centre": centre, "ref_scale": np.ones_like(centre)}
    model = _physics_model(state, None, lambda *a: None, lambda: False)
    phi, _ = model.phi(torch.as_tensor(today_x))
    assert phi.shape[1] == 2 * (len(FEATURES) - 1) + 1
    assert np.allclose(phi[:, : len(FEATURES) - 1].numpy(), np.clip(old_x[:, :-1], -20, 20), atol=1e-6)
