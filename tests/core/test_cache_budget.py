"""The derived-image caches stay inside their size budget, least recently used first, and rebuild on demand."""

from __future__ import annotations

import os

import numpy as np

from scatterloop.core.cache_budget import entries, trim
from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.viewer import cached_frame
from scatterloop.core.workspace import Workspace


def _entry(root, folder, name, mb, age_s):
    sub = root / folder / name[:2]
    sub.mkdir(parents=True, exist_ok=True)
    paths = [sub / f"{name}.npy", sub / f"{name}.json"]
    paths[0].write_bytes(b"\0" * int(mb * 2**20))
    paths[1].write_text("{}")
    t = 1_000_000_000 - age_s
    for p in paths:
        os.utime(p, (t, t))
    return paths


def test_trim_removes_least_recently_used_whole_entries(tmp_path):
    old = _entry(tmp_path, "frames", "aa01", 1, age_s=300)
    mid = _entry(tmp_path, "qprofile", "bb02", 1, age_s=200)
    new = _entry(tmp_path, "polar", "cc03", 1, age_s=100)
    other = tmp_path / "features" / "x.json"  # not a budgeted folder: never touched
    other.parent.mkdir()
    other.write_text("{}")
    res = trim(tmp_path, max_mb=2, keep=old[0])  # 3 MB held, trimmed to 1.6 MB: two entries go
    assert res["removed"] == 2
    assert all(p.exists() for p in old)  # the entry just written is kept even though it is the oldest
    assert not any(p.exists() for p in mid + new)
    assert other.exists()
    assert [len(e[2]) for e in entries(tmp_path)] == [2]


def test_under_budget_or_no_limit_removes_nothing(tmp_path):
    a = _entry(tmp_path, "frames", "aa01", 1, age_s=10)
    assert trim(tmp_path, max_mb=5)["removed"] == 0
    _entry(tmp_path, "frames", "bb02", 1, age_s=5)
    assert trim(tmp_path, max_mb=0)["removed"] == 0
    assert a[0].exists()


def test_frame_cache_stays_in_budget_and_rebuilds(tmp_path):
    ws = Workspace.open(Settings(workspace=tmp_path / "ws", cache_mb=1))
    try:
        rng = np.random.default_rng(0)
        arrays, ids = [], []
        for i in range(3):  # each frame is 1.4 MB as float32: over the 1 MB budget on its own
            arr = rng.poisson(20, (600, 600)).astype(np.int32)
            np.save(tmp_path / f"f{i}.npy", arr)
            arrays.append(arr)
            ids.append(import_paths(ws, [tmp_path / f"f{i}.npy"], source="experimental").image_ids[0])
        for image_id in ids:
            cached_frame(ws, image_id)
        held = entries(ws.cache)
        assert len(held) == 1  # only the entry just written survives a budget smaller than one frame
        assert ws.store.get_image(ids[-1]).sha256 in str(held[0][2][0])
        data, _, _ = cached_frame(ws, ids[0])  # trimmed earlier: rebuilt from the stored original
        np.testing.assert_array_equal(np.asarray(data), arrays[0])
    finally:
        ws.store.dispose()


def test_cache_budget_from_environment():
    assert Settings.from_env("w", env={"SCATTERLOOP_CACHE_MB": "250"}).cache_mb == 250
    assert Settings.from_env("w", env={}).cache_mb == 4096
