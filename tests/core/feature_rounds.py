"""Candidates whose physics features the test sets (fakes a chosen number of sigmas off in a third of them),
so a round of the physics models trains in a second on a known separation."""

from __future__ import annotations

import numpy as np

from scatterloop.core.classify.physics import FEATURES


def candidates_with_features(workspace, folder, n: int, off: float, *, sim_seed: int, seed: int, size: int = 64):
    """(images, image id → fake?, image id → features, the generator): `n` simulated candidates, every second
    one fake."""
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    simulate_dataset("rings", n, folder, seed=sim_seed, size=size)
    import_paths(workspace, [folder], source="generated", round=1)
    imgs = [img for img, _ in workspace.store.list_images()]
    rng = np.random.default_rng(seed)
    fake = {img.id: bool(k % 2) for k, img in enumerate(imgs)}
    shift = off * (np.arange(len(FEATURES)) % 3 == 0)
    feats = {img.id: rng.normal(0, 1, len(FEATURES)) + (shift if fake[img.id] else 0) for img in imgs}
    return imgs, fake, feats, rng


def use_features(monkeypatch, feats: dict, rng: np.random.Generator) -> None:
    """Rounds read the set features (group: rings) and a reference of 40 real frames around zero."""
    from scatterloop.core.classify import rounds

    ref = (rng.normal(0, 1, (40, len(FEATURES))), np.zeros(40))

    def fake_inputs(ws, train_imgs, val_imgs, **_):
        rows = lambda L: np.array([[*feats[i.id], 0] for i in L], np.float32)  # noqa: E731
        return rows(train_imgs), rows(val_imgs), ref

    monkeypatch.setattr(rounds, "feature_inputs", fake_inputs)
