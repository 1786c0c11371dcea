"""Physics features of many frames on every core: the same numbers as one process, in order, cached, cancellable."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

from scatterloop.core.classify import physics, physics_pool
from scatterloop.core.jobs import Cancelled


@pytest.fixture
def varied_workspace(workspace, tmp_path):
    """Frames of several shapes and patterns, 96-160 px, none cached."""
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    for i, (pattern, size) in enumerate((("rings", 96), ("peaks", 128), ("background", 160), ("rings", 128))):
        simulate_dataset(pattern, 2, tmp_path / "sim", seed=i, size=size, artifacts="0.5")
    import_paths(workspace, [tmp_path / "sim"], source="generated")
    return workspace


def _images(ws):
    return [img for img, _ in ws.store.list_images()]


def test_two_workers_give_the_same_features_in_order_and_cache_them(varied_workspace):
    ws = varied_workspace
    images = _images(ws)
    serial = [physics.frame_features(ws.load_frame(img).data, ws.load_frame(img).mask) for img in images]
    kept = []
    pooled = list(physics_pool.computed(ws, images, lambda img, f: kept.append(img.id), workers=2))
    assert pooled == serial  # the very same numbers, not close ones
    assert kept == [img.id for img in images]


def test_feature_matrix_on_a_pool_equals_one_process(varied_workspace, monkeypatch, tmp_path):
    ws = varied_workspace
    images = _images(ws)
    one = physics.feature_matrix(ws, images)
    for path in (ws.cache / "features").rglob("*.json"):
        path.unlink()
    monkeypatch.setattr(physics_pool, "POOL_MIN_WORK", 0.0)
    monkeypatch.setattr(physics_pool, "available_cores", lambda: 2)
    assert physics_pool.workers_for(images) == 2
    seen = []
    both = physics.feature_matrix(ws, images, progress=lambda done, total, msg="": seen.append(done))
    np.testing.assert_array_equal(one, both)
    assert seen[-1] == len(images) and seen == sorted(seen)
    assert all(physics.features_cached(ws, img) for img in images)


def test_a_cancelled_job_stops_the_pool(varied_workspace, monkeypatch):
    ws = varied_workspace
    images = _images(ws)
    monkeypatch.setattr(physics_pool, "POOL_MIN_WORK", 0.0)
    monkeypatch.setattr(physics_pool, "available_cores", lambda: 2)
    calls = []

    def stop_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        physics.feature_matrix(ws, images, should_stop=stop_after_two)
    assert sum(physics.features_cached(ws, img) for img in images) < len(images)
    deadline = time.monotonic() + 120
    while multiprocessing.active_children() and time.monotonic() < deadline:  # the workers exit on their own
        time.sleep(0.2)
    assert not multiprocessing.active_children()


def test_small_sets_one_core_and_daemonic_processes_stay_in_one_process(varied_workspace, monkeypatch):
    images = _images(varied_workspace)
    monkeypatch.setattr(physics_pool, "available_cores", lambda: 4)
    assert physics_pool.workers_for(images) == 1  # 8 frames of at most 160 px: about 3 frames' work
    monkeypatch.setattr(physics_pool, "POOL_MIN_WORK", 1.0)
    assert physics_pool.workers_for(images) == 4
    monkeypatch.setattr(physics_pool, "available_cores", lambda: 1)
    assert physics_pool.workers_for(images) == 1
    monkeypatch.setattr(physics_pool, "available_cores", lambda: 4)
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert physics_pool.workers_for(images) == 1
    assert physics_pool.work_of(2463, 5071) == 1.0 and physics_pool.work_of(64, 64) == pytest.approx(1 / 16)
