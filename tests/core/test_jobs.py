"""The long-job contract: runs are recorded with progress, cancellation and failure."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scatterloop.core.jobs import check_stop, run_job
from scatterloop.core.store import Store


@dataclass
class Out:
    n: int


def test_run_records_progress_result_cancel_and_failure(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    seen = []

    def work(*, run_id, progress, should_stop):
        for i in range(5):
            check_stop(should_stop)
            progress(i + 1, 5, f"step {i + 1}")
        return Out(n=5)

    run_id, out = run_job(store, "demo", {"a": 1}, work, progress=lambda d, t, m: seen.append(d))
    run = store.get_run(run_id)
    assert out == Out(5) and run.status == "done" and run.progress == 1.0 and run.result == {"n": 5}
    assert seen == [1, 2, 3, 4, 5] and run.params == {"a": 1}

    calls = iter([False, False, True])
    run_id, out = run_job(store, "demo", {}, work, should_stop=lambda: next(calls))
    assert out is None and store.get_run(run_id).status == "cancelled"

    def broken(*, run_id, progress, should_stop):
        raise ValueError("bad field: x")

    with pytest.raises(ValueError):
        run_job(store, "demo", {}, broken)
    failed = store.list_runs()[0]
    assert failed.status == "failed" and "bad field" in failed.error
    assert failed.message == "bad field: x"  # what the progress bar and Jobs view show: one line, no traceback

    def buggy(*, run_id, progress, should_stop):
        return {}["missing"]

    with pytest.raises(KeyError):
        run_job(store, "demo", {}, buggy)
    assert store.list_runs()[0].message == "KeyError: 'missing'"


def test_a_killed_run_is_marked_interrupted_and_a_live_one_is_not(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid now names no process: the run it "ran" was killed
    dead = store.create_run("generate-train", {})
    store.update_run(dead, status="running", pid=child.pid, host=socket.gethostname())
    alive = store.create_run("classify", {})
    store.update_run(alive, status="running", pid=os.getpid(), host=socket.gethostname())
    elsewhere = store.create_run("classify", {})
    store.update_run(elsewhere, status="running", pid=child.pid, host="another-machine")
    assert store.reap_interrupted() == [dead]
    assert store.get_run(dead).status == "failed" and "interrupted" in store.get_run(dead).error
    assert store.get_run(alive).status == "running" and store.get_run(elsewhere).status == "running"
    store.dispose()


def test_a_reused_pid_does_not_keep_a_dead_run_alive_and_its_artifacts_are_not_usable(tmp_path):
    import os
    import socket

    import psutil

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    me, host = os.getpid(), socket.gethostname()
    mine = psutil.Process().create_time()
    reused = store.create_run("embed", {})  # recorded with this pid, but by a process that started earlier
    store.update_run(reused, status="running", pid=me, host=host, pid_started=mine - 3600)
    store.add_artifact("embedding", "cache/embed/half", run_id=reused)
    alive = store.create_run("embed", {})
    store.start_run(alive)
    store.add_artifact("embedding", "cache/embed/going", run_id=alive)
    done = store.create_run("embed", {})
    store.update_run(done, status="done")
    store.add_artifact("embedding", "cache/embed/whole", run_id=done)
    store.add_artifact("export", "exports/x")  # not made by a run
    assert store.get_run(alive).pid_started == mine and store.get_run(alive).pid == me
    assert store.reap_interrupted() == [reused]
    assert store.get_run(reused).status == "failed" and store.get_run(reused).error.startswith("interrupted")
    assert store.get_run(alive).status == "running"
    assert [a.path for a in store.list_artifacts()] == ["cache/embed/whole", "exports/x"]
    assert store.list_artifacts(run_id=reused) == [] and store.list_artifacts(kind="embedding", run_id=done)
    assert len(store.list_artifacts(include_unfinished=True)) == 4
    store.update_run(alive, status="done")
    assert store.reap_interrupted() == [] and store.get_run(alive).status == "done"  # a finished run is not reaped
    store.dispose()


def test_a_sigkilled_map_build_is_failed_interrupted_once_the_cli_opens_the_workspace(small_workspace):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from scatterloop.core.atomic import is_temporary

    ws = small_workspace
    repo = Path(__file__).resolve().parents[2]
    cli = [sys.executable, "-m", "scatterloop"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    build = [*cli, "embed", "--workspace", str(ws.root), "--method", "pca", "--size", "16", "--epochs", "100000"]
    proc = subprocess.Popen([*build, "--quiet"], cwd=repo, env=env, stderr=subprocess.PIPE)
    run = None
    run = _sigkill_when_training(proc, ws, "embed", 120, 0.1)
    assert proc.returncode == -signal.SIGKILL
    assert ws.store.get_run(run.id).status == "running"  # nobody has looked yet
    # any command that opens the workspace reaps it: here one that needs a finished map, which there is not
    place = [*cli, "embed", "--place", "--workspace", str(ws.root), "--quiet"]
    out = subprocess.run(place, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "no map yet" in out.stderr, out.stderr
    dead = ws.store.get_run(run.id)
    assert dead.status == "failed" and dead.error.startswith("interrupted") and dead.finished_at is not None
    assert ws.store.list_artifacts(run_id=run.id) == [] and ws.store.latest_map_run() is None
    assert [p for p in (ws.cache / "embed").glob("*") if not is_temporary(p)] == []  # no cache to reuse either


def test_a_sigkilled_classifier_round_is_failed_interrupted_with_nothing_registered(small_workspace):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    ws = small_workspace
    for img, _ in ws.store.list_images():
        if img.source == "generated":
            ws.store.add_labels([img.id], "realistic" if (img.truth or {}).get("realistic") else "fake", "oracle")
    if {s.label for s in ws.store.current_labels().values()} != {"realistic", "fake"}:
        pytest.skip("seeded candidates happen to hold one class only")
    repo = Path(__file__).resolve().parents[2]
    cli = [sys.executable, "-m", "scatterloop"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    train = [*cli, "classify", "train", "--workspace", str(ws.root), "--models", "tiny", "--epochs", "100000"]
    proc = subprocess.Popen(
        [*train, "--input-size", "32", "--batch-size", "2", "--quiet"], cwd=repo, env=env, stderr=subprocess.PIPE
    )
    run = _sigkill_when_training(proc, ws, "classify", 180, 0.0)
    assert proc.returncode == -signal.SIGKILL
    assert ws.store.get_run(run.id).status == "running"  # nobody has looked yet
    table = subprocess.run(
        [*cli, "classify", "table", "--workspace", str(ws.root), "--json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0, table.stderr
    dead = ws.store.get_run(run.id)
    assert dead.status == "failed" and dead.error.startswith("interrupted") and dead.finished_at is not None
    assert ws.store.list_artifacts(run_id=run.id, include_unfinished=True) == []  # no model of it was registered
    assert not any(r.id == run.id for r in ws.store.list_runs() if r.status == "done")


def _sigkill_when_training(proc, ws, kind: str, timeout: float, past: float):
    """SIGKILL `proc` once the store shows its `kind` run running beyond `past` progress; returns that run."""
    import os
    import signal
    import time

    run = None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:  # wait until it is training, on the store
            run = next((r for r in ws.store.list_runs() if r.kind == kind), None)
            if run is not None and run.status == "running" and (run.progress or 0) > past:
                break
            run = None
            time.sleep(0.1)
        why = proc.stderr.read().decode() if proc.poll() is not None else f"not training after {timeout:.0f} s"
        assert run is not None, why
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return run
