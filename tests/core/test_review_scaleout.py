"""What a review of the install and scale-out path found (2026-12-07): runs that stayed queued or running for ever,
a database others could read, caches cut short, and tracebacks where the CLI promises one line."""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import Future
from datetime import timedelta

import numpy as np
import pytest

from scatterloop.core.store.models import utcnow
from scatterloop.core.store.runs import LOST, LOST_AFTER_S
from scatterloop.core.worker import submit


def _running_elsewhere(store, silent_s: float) -> int:
    run = store.create_run("symmetry", {})
    store.update_run(run, status="running", host="a-node-that-died", pid=4242, pid_started=1.0,
                     heartbeat_at=utcnow() - timedelta(seconds=silent_s))  # fmt: skip
    return run


def test_a_run_whose_worker_went_silent_is_lost_from_any_machine(workspace):
    store = workspace.store
    dead, alive = _running_elsewhere(store, LOST_AFTER_S + 60), _running_elsewhere(store, 30)
    assert store.reap_interrupted() == [dead]
    run = store.get_run(dead)
    assert run.status == "failed" and run.error == LOST
    assert store.get_run(alive).status == "running"  # another machine's live run is left alone


def test_cancel_ends_a_queued_run_and_a_silent_one_at_once(workspace):
    store = workspace.store
    queued = submit(store, "symmetry", {"pattern": "rings"})
    silent, live = _running_elsewhere(store, LOST_AFTER_S + 60), _running_elsewhere(store, 30)
    assert store.cancel_run(queued) and store.cancel_run(silent) and store.cancel_run(live)
    assert store.get_run(queued).status == "cancelled" and store.get_run(silent).status == "cancelled"
    live_run = store.get_run(live)
    assert live_run.status == "running" and live_run.cancel_requested  # its process reads the request


def test_a_job_beats_while_it_runs_and_stops_once_taken_for_lost(workspace, monkeypatch):
    import time

    from scatterloop.core.jobs import run_job
    from scatterloop.core.store import runs

    monkeypatch.setattr(runs, "HEARTBEAT_S", 0.05)
    store = workspace.store
    beats = []

    def work(run_id, progress, should_stop):
        first = store.get_run(run_id).heartbeat_at
        deadline = time.monotonic() + 30
        while store.get_run(run_id).heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.01)  # waits on the heartbeat's state: a silent step, as a UMAP fit is
        beats.append(store.get_run(run_id).heartbeat_at != first)
        store.update_run(run_id, status="failed", error=LOST)  # another machine takes it for lost meanwhile
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise Cancelled()

    from scatterloop.core.jobs import Cancelled

    run_id, result = run_job(store, "symmetry", {}, work)
    assert beats == [True] and result is None
    run = store.get_run(run_id)
    assert run.status == "failed" and run.error == LOST  # stopped, and left as the reaper recorded it


def test_a_job_queue_that_cannot_be_reached_leaves_no_queued_run(settings):
    from scatterloop.callbacks import job_watch
    from scatterloop.callbacks.services import make_services
    from scatterloop.core.job_limits import JobRefused
    from scatterloop.dashboard import ids

    class Down:
        def submit(self, run_id, kind=None):
            raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    services = make_services(settings)
    services.runner = Down()
    with pytest.raises(JobRefused, match="job queue is unreachable"):
        job_watch.launch(services, "symmetry", {"pattern": "rings"}, ids.EXPLORE_PROGRESS)
    (run,) = services.store.list_runs(10)
    assert run.status == "failed" and "Connection refused" in run.error
    assert services.store.count_active_runs(None) == 0  # the allowance is not used up by it
    services.store.dispose()


def test_a_run_the_stopping_server_never_started_is_not_left_queued(workspace):
    from scatterloop.core.worker_pool import EmbeddedRunner

    run = submit(workspace.store, "symmetry", {"pattern": "rings"})
    runner = EmbeddedRunner.__new__(EmbeddedRunner)
    runner.store = workspace.store
    future = Future()
    future.cancel()
    runner._finished(run, 0, None, future)
    assert workspace.store.get_run(run).status == "cancelled"


def test_the_database_is_not_readable_by_other_accounts(settings, tmp_path):
    from scatterloop.core.workspace import Workspace

    ws = Workspace.open(settings)
    db = ws.root / "scatterloop.db"
    assert not stat.S_IMODE(db.stat().st_mode) & 0o007
    ws.store.dispose()
    os.chmod(db, 0o644)  # made by an older version under umask 022
    Workspace.open(settings).store.dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o640


def test_a_worker_never_makes_a_workspace(tmp_path, capsys):
    from scatterloop.core.cli import main

    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["worker", "--workspace", str(plain)]) == 2
    assert "not a scatterloop workspace" in capsys.readouterr().err
    assert list(plain.iterdir()) == []


def test_an_input_cache_file_cut_short_is_made_again(small_workspace):
    from scatterloop.core.atomic import is_temporary
    from scatterloop.core.embed.inputs import image_input

    img = small_workspace.store.list_images()[0][0]
    x, _ = image_input(small_workspace, img, 32)
    (path,) = (small_workspace.cache / "inputs").rglob(f"{img.sha256}.npz")
    path.write_bytes(path.read_bytes()[:100])  # what a kill in the middle of the write left before
    again, _ = image_input(small_workspace, img, 32)
    assert np.array_equal(x, again)
    assert not [p for p in path.parent.iterdir() if is_temporary(p)]


def test_a_missing_optional_part_is_one_line(workspace, capsys, monkeypatch):
    from scatterloop.core import cli_data
    from scatterloop.core.cli import main

    def export(args):
        raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")

    monkeypatch.setattr(cli_data, "cmd_export", export)
    monkeypatch.setattr("scatterloop.core.cli.cmd_export", export)
    code = main(["export", "--workspace", str(workspace.root), "--out", str(workspace.root.parent / "o"), "--json"])
    out = capsys.readouterr()
    assert code == 2 and "pip install 'scatterloop[postgres]'" in out.err and "Traceback" not in out.err
    assert json.loads(out.out.strip().splitlines()[-1])["exit_code"] == 2


def test_the_pages_cancel_ends_a_queued_run(workspace):
    from scatterloop.core.auth import cancel_run

    queued = submit(workspace.store, "symmetry", {"pattern": "rings"})
    assert cancel_run(workspace.store, None, queued)
    assert workspace.store.get_run(queued).status == "cancelled"
    assert workspace.store.count_active_runs(None) == 0


def test_the_database_file_of_any_sqlite_url():
    from scatterloop.core.workspace import sqlite_file

    assert str(sqlite_file("sqlite:////d/db.sqlite?timeout=5")) == "/d/db.sqlite"
    assert str(sqlite_file("sqlite+pysqlite:////d/db.sqlite")) == "/d/db.sqlite"
    assert str(sqlite_file("sqlite:///file:/d/db.sqlite?mode=rwc&uri=true")) == "/d/db.sqlite"
    assert sqlite_file("sqlite://") is None and sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None


def test_a_run_taken_for_lost_that_finishes_reads_done(workspace):
    from scatterloop.core.jobs import run_job

    store = workspace.store

    def work(run_id, progress, should_stop):  # a process suspended past the limit, then woken: it finishes
        store.update_run(run_id, status="failed", error=LOST, message=LOST)
        return None

    run_id, _ = run_job(store, "symmetry", {}, work)
    run = store.get_run(run_id)
    assert (run.status, run.error, run.message) == ("done", None, "done")
