"""Runs executed by id in worker processes: the store is the queue's truth (claim once, cancel before start,
unknown kinds and unseen files fail with a clear error), and the embedded runner survives a killed worker."""

from __future__ import annotations

import os
import signal
import time

import pytest

from scatterloop.core.worker import execute_run, queue_of, submit


def _wait(predicate, timeout=180.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not reached in {timeout:.0f} s")


def test_a_queued_run_executes_once_by_id_and_records_its_result(small_workspace):
    ws = small_workspace
    run_id = submit(ws.store, "symmetry", {"pattern": "rings"})
    assert ws.store.get_run(run_id).status == "queued"
    res = execute_run(ws.settings, run_id)
    run = ws.store.get_run(run_id)
    assert run.status == "done" and res.scored == 4 and run.result["scored"] == 4 and run.pid == os.getpid()
    assert execute_run(ws.settings, run_id) is None  # a redelivered message runs nothing twice
    assert ws.store.get_run(run_id).finished_at == run.finished_at


def test_cancel_before_start_runs_nothing_and_cancel_is_per_run(small_workspace):
    ws = small_workspace
    mine, other = (submit(ws.store, "symmetry", {"pattern": "rings"}) for _ in range(2))
    assert ws.store.cancel_run(mine) and not ws.store.cancel_run(10_000)
    assert execute_run(ws.settings, mine) is None
    run = ws.store.get_run(mine)
    assert run.status == "cancelled" and run.started_at is None
    assert not ws.store.get_run(other).cancel_requested  # the other run is untouched
    execute_run(ws.settings, other)
    assert ws.store.get_run(other).status == "done" and not ws.store.cancel_run(other)  # finished: nothing to cancel


def test_unknown_kind_and_bad_params_fail_on_the_run(small_workspace):
    ws = small_workspace
    with pytest.raises(ValueError, match="no such job"):
        submit(ws.store, "mine-bitcoin", {})
    assert queue_of("generate-train") == "gpu" and queue_of("embed") == "cpu"
    run_id = submit(ws.store, "place", {"map_run_id": 12345})
    with pytest.raises(Exception):  # noqa: B017 - whatever it is, the run records it
        execute_run(ws.settings, run_id)
    run = ws.store.get_run(run_id)
    assert run.status == "failed" and run.error


def test_a_worker_that_cannot_see_a_file_names_the_path_and_its_root(small_workspace):
    ws = small_workspace
    img = next(img for img, _ in ws.store.list_images() if img.pattern == "rings")
    (ws.root / img.path).rename(ws.root / (img.path + ".moved"))
    run_id = submit(ws.store, "symmetry", {"pattern": "rings"})
    with pytest.raises(FileNotFoundError):
        execute_run(ws.settings, run_id)
    error = ws.store.get_run(run_id).error
    assert str(ws.root / img.path) in error and f"workspace root {ws.root}" in error, error


def test_embedded_runner_runs_in_spawned_processes_and_survives_a_killed_worker(small_workspace):
    from scatterloop.core.worker_pool import EmbeddedRunner

    ws = small_workspace
    runner = EmbeddedRunner(ws.settings, ws.store, workers=1)
    try:
        first = submit(ws.store, "symmetry", {"pattern": "rings"})
        runner.submit(first)
        _wait(lambda: ws.store.get_run(first).status == "done", what="first run done")
        worker_pid = ws.store.get_run(first).pid
        assert worker_pid != os.getpid()
        # a long map build in the one worker, a run queued behind it; then the worker is killed
        # (recorded directly: 100000 epochs is past the edge's limit, and this tests the runner, not the edge)
        long = ws.store.create_run("embed", {"method": "pca", "size": 16, "epochs": 100_000})
        behind = submit(ws.store, "symmetry", {"pattern": "rings"})
        runner.submit(long)
        runner.submit(behind)
        _wait(lambda: (ws.store.get_run(long).progress or 0) > 0.05, what="map build training")
        os.kill(worker_pid, signal.SIGKILL)
        _wait(lambda: ws.store.get_run(long).status == "failed", what="killed run reaped")
        assert ws.store.get_run(long).error.startswith("interrupted")
        assert ws.store.list_artifacts(run_id=long, include_unfinished=True) == []
        _wait(lambda: ws.store.get_run(behind).status == "done", what="queued run handed to a fresh pool")
        assert ws.store.get_run(behind).pid not in (worker_pid, os.getpid())
    finally:
        runner.close()


def test_a_running_run_whose_pool_broke_is_interrupted_even_while_its_process_still_looks_alive(small_workspace):
    """A killed worker's pipe closes before the kernel lists it as a zombie: on a busy machine the pool reports
    itself broken while the run's recorded process still looks alive to `reap_interrupted`. The run is
    interrupted all the same, not failed with the executor's message."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from scatterloop.core.store.runs import this_process
    from scatterloop.core.worker_pool import EmbeddedRunner

    ws = small_workspace
    run_id = submit(ws.store, "symmetry", {"pattern": "rings"})
    ws.store.update_run(run_id, status="running", **this_process())  # a process that is alive: this one
    runner = EmbeddedRunner(ws.settings, ws.store, workers=1)
    try:
        future = Future()
        future.set_exception(BrokenProcessPool("a process in the process pool was terminated abruptly"))
        runner._finished(run_id, 0, None, future)  # noqa: SLF001 - the callback the executor would call
        run = ws.store.get_run(run_id)
        assert run.status == "failed" and run.error.startswith("interrupted"), run.error
    finally:
        runner.close()
