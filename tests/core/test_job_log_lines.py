"""A job run by the embedded pool or a Celery worker tells that runner's terminal how it goes: a line when it
starts, at each tenth of the work or stage, at least every 30 s, and how it ended."""

from __future__ import annotations

import logging

from scatterloop.core.progress import LogLines
from scatterloop.core.worker import execute_logged, submit


def test_lines_at_each_tenth_each_stage_and_every_half_minute():
    t, said = [0.0], []
    lines = LogLines(7, "embed", said.append, every=30.0, now=lambda: t[0])
    for step in range(1, 101):  # a 100 s count: a line at the first report and one per tenth, not per step
        t[0] = float(step)
        lines(step, 100, f"autoencoder epoch {step}/100")
    assert len(said) == 11 and said[0].startswith("run 7 (embed) 1% · autoencoder epoch 1/100 · 0:01")
    assert said[5].startswith("run 7 (embed) 50% · autoencoder epoch 50/100 · 0:50") and "~0:50 left" in said[5]
    t[0] = 101.0
    lines(0, 3, "umap 2-D")  # the count starts again: a new stage gets its line at once
    assert said[-1] == "run 7 (embed) stage 2 · 0% · umap 2-D · 1:41"
    t[0] = 125.0
    lines(0, 3, "umap 2-D")  # the same tenth within 30 s: silent
    t[0] = 135.0
    lines(0, 3, "umap 2-D")  # 34 s since the last line: a sign of life
    assert len(said) == 13 and said[-1].endswith("· 2:15")


def test_a_worker_run_logs_its_start_progress_and_end(small_workspace, caplog):
    ws = small_workspace
    run_id = submit(ws.store, "symmetry", {"pattern": "rings"})
    with caplog.at_level(logging.INFO, logger="scatterloop.core.worker"):
        execute_logged(ws, run_id)
    said = [r.getMessage() for r in caplog.records if r.name == "scatterloop.core.worker"]
    head = f"run {run_id} (symmetry)"
    assert said[0] == f"{head} started" and said[-1].startswith(f"{head} done in 0:"), said
    assert any(line.startswith(f"{head} 100%") for line in said[1:-1]), said
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scatterloop.core.worker"):
        execute_logged(ws, run_id)  # a redelivered message runs nothing: no "started", no "done"
    assert not [r for r in caplog.records if r.name == "scatterloop.core.worker"]


def test_a_benchmarks_stage_stops_at_its_check_when_signalled_and_ends_as_a_cancel(tmp_path):
    """Benchmarks ran their jobs without a stop check: SIGTERM waited out the 10 s grace, then "interrupted"; and a
    stage cancelled by other means handed the next stage a missing result. A stage now stops at its next check and
    the command ends as a cancel naming the run."""
    import pytest

    from scatterloop.core import jobs
    from scatterloop.core.benchmarks import job
    from scatterloop.core.cli_common import RunCancelled
    from scatterloop.core.store import Store

    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    checks = []

    def work(run_id, progress, should_stop):
        for k in range(1000):
            if k == 3:
                jobs.stop_running_jobs()  # what the command's signal handler does
            checks.append(k)
            if should_stop():
                raise jobs.Cancelled(run_id)
        return "never"

    try:
        with pytest.raises(RunCancelled) as stopped:
            job(store, "classify", work, "a round")
        assert checks == [0, 1, 2, 3] and store.get_run(stopped.value.run_id).status == "cancelled"
        assert job(store, "classify", lambda run_id, progress, should_stop: "fine", "next")[1] == "fine"
    finally:
        jobs._SIGNALLED.clear()
        store.dispose()


def test_a_runners_job_takes_its_share_of_the_cores_from_its_first_report(small_workspace, monkeypatch):
    """Review rev11: removing the share from `execute_logged` left every test passing."""
    from scatterloop.core import threads

    given = []
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setattr(threads, "set_openmp_threads", given.append)
    monkeypatch.setattr(type(small_workspace.store), "running_here", lambda self: 3)  # three jobs run already
    run_id = submit(small_workspace.store, "symmetry", {"pattern": "rings"})
    seen = []
    monkeypatch.setattr(threads, "set_openmp_threads", lambda n: (given.append(n), seen.append(
        small_workspace.store.get_run(run_id).status)))  # fmt: skip
    execute_logged(small_workspace, run_id)
    assert given == [2] and seen == ["queued"]  # a quarter of 8 cores, set before the job's first step
