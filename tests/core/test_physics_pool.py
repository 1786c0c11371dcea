"""Physics features of many frames on every core: the same numbers as one process, in order, cached, cancellable."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
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
    monkeypatch.setattr(physics_pool, "job_cores", lambda: 2)
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
    monkeypatch.setattr(physics_pool, "job_cores", lambda: 2)
    calls = []

    def stop_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        physics.feature_matrix(ws, images, should_stop=stop_after_two)
    assert sum(physics.features_cached(ws, img) for img in images) < len(images)


def test_a_pool_that_breaks_leaves_the_frames_to_the_job_with_the_same_numbers(varied_workspace, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    ws = varied_workspace
    images = _images(ws)
    serial = [physics.frame_features(ws.load_frame(img).data, ws.load_frame(img).mask) for img in images]

    class Dying:
        def __init__(self):
            self.calls = 0

        def submit(self, fn, *args):
            self.calls += 1
            if self.calls > 3:  # a worker killed (out of memory) between frames
                raise BrokenProcessPool("a worker died")
            from concurrent.futures import Future

            future = Future()
            future.set_result(fn(*args))
            return future

    monkeypatch.setattr(physics_pool, "_executor", lambda workers: Dying())
    assert list(physics_pool.computed(ws, images, lambda img, f: None, workers=2)) == serial
    # a signal the terminal (or `timeout`) sent to the whole process group ended the workers: the job stops, it
    # does not compute the rest alone after a "worker crashed" warning
    from scatterloop.core import jobs

    jobs._SIGNALLED.set()
    try:
        with pytest.raises(jobs.Cancelled):
            list(physics_pool.computed(ws, images, lambda img, f: None, workers=2))
    finally:
        jobs._SIGNALLED.clear()


SCRIPT = """
print("TOP LEVEL", flush=True)  # a user's script without a __main__ guard
import os, sys, time
from scatterloop.core.config import Settings
from scatterloop.core.workspace import Workspace
from scatterloop.core.classify import physics, physics_pool
physics_pool.POOL_MIN_WORK = 0.0
physics_pool.job_cores = lambda: 2
ws = Workspace.open(Settings(workspace=sys.argv[1]))
import shutil; shutil.rmtree(ws.cache / "features", ignore_errors=True)  # every frame to compute
x = physics.feature_matrix(ws, [img for img, _ in ws.store.list_images()])
print("WORKERS", *physics_pool._executor(2)._processes, flush=True)  # the same pool, still up
if len(sys.argv) > 2:
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_a_users_script_runs_once_and_workers_end_with_the_job_process(varied_workspace, tmp_path):
    varied_workspace.store.dispose()
    script = tmp_path / "mine.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(varied_workspace.root)], capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("TOP LEVEL") == 1 and "Traceback" not in done.stderr
    # a job process killed (out of memory, kill -9): its workers do not idle on
    proc = subprocess.Popen([sys.executable, str(script), str(varied_workspace.root), "wait"], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        line = ""
        while not line.startswith("WORKERS"):
            line = proc.stdout.readline()
            assert line, "the script ended before its pool started"
        pids = [int(p) for p in line.split()[1:]]
        assert pids and all(_alive(p) for p in pids)
        proc.kill()
        proc.wait(timeout=60)
        deadline = time.monotonic() + 60
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_small_sets_one_core_and_daemonic_processes_stay_in_one_process(varied_workspace, monkeypatch):
    images = _images(varied_workspace)
    monkeypatch.setattr(physics_pool, "job_cores", lambda: 4)
    assert physics_pool.workers_for(images) == 1  # 8 frames of at most 160 px: about 3 frames' work
    monkeypatch.setattr(physics_pool, "POOL_MIN_WORK", 1.0)
    assert physics_pool.workers_for(images) == 4
    monkeypatch.setattr(physics_pool, "job_cores", lambda: 1)
    assert physics_pool.workers_for(images) == 1
    monkeypatch.setattr(physics_pool, "job_cores", lambda: 4)
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert physics_pool.workers_for(images) == 1
    assert physics_pool.work_of(2463, 5071) == 1.0 and physics_pool.work_of(64, 64) == pytest.approx(1 / 16)


def test_a_cache_that_cannot_be_written_raises_as_it_would_in_one_process(varied_workspace, monkeypatch):
    from concurrent.futures import Future

    class Done:
        def submit(self, fn, *args):
            future = Future()
            future.set_result(fn(*args))
            return future

    monkeypatch.setattr(physics_pool, "_executor", lambda workers: Done())

    def full_disk(image, feats):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        list(physics_pool.computed(varied_workspace, _images(varied_workspace), full_disk, workers=2))
