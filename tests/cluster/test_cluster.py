"""End to end, through the app's HTTP interface as the browser uses it: a real server (`scatterloop serve`), a real
`scatterloop worker` on a real Redis, the store on a real PostgreSQL. A map and a classifier round are built,
a generator training is cancelled from its own Cancel button, and the runs, their progress and their artifacts
are checked in the store. Also: a job clicked the moment a fresh (embedded) server answers completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from scatterloop.core.benchmarks.jobs_bench import _free_port, _http, call, callback_request, dependencies
from scatterloop.core.benchmarks.jobs_bench import _wait_for as _wait
from scatterloop.core.config import Settings
from scatterloop.core.workspace import Workspace
from scatterloop.dashboard import ids

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "scatterloop"]


def _populate(settings: Settings, tmp_path: Path) -> Workspace:
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    ws = Workspace.open(settings)
    for i, pattern in enumerate(("rings", "peaks", "background")):
        simulate_dataset(pattern, 2, tmp_path / "sim" / "exp", seed=i, size=64)
        simulate_dataset(pattern, 2, tmp_path / "sim" / "cand", seed=10 + i, size=64, artifacts="0.5")
    import_paths(ws, [tmp_path / "sim" / "exp"], source="experimental")
    import_paths(ws, [tmp_path / "sim" / "cand"], source="generated")
    for img, _ in ws.store.list_images():
        if img.source == "generated":
            ws.store.add_labels([img.id], "realistic" if (img.truth or {}).get("realistic") else "fake", "oracle")
    return ws


@pytest.fixture
def postgres_url():
    base = os.environ.get("SCATTERLOOP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL test server (make test starts one through scripts/with-postgres.sh)")
    from sqlalchemy import create_engine, text

    name = "sl_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def redis_url():
    url = os.environ.get("SCATTERLOOP_TEST_REDIS_URL")
    if not url:
        pytest.skip("no Redis test server (make test starts one through scripts/with-redis.sh)")
    return url


class Processes:
    def __init__(self, tmp_path: Path):
        self.procs, self.tmp = [], tmp_path

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed when the test ends
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def stop(self):
        for proc, _ in reversed(self.procs):
            proc.terminate()
        for proc, log in reversed(self.procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.stop()


def _serve(processes: Processes, ws_root: Path, env: dict) -> tuple[str, subprocess.Popen]:
    port = _free_port()
    server = processes.start("server", [*CLI, "serve", "--workspace", str(ws_root), "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    _wait(lambda: _http(f"{base}/", timeout=5)[0] == 200, 240, "server answers", server)
    return base, server


def _run_id(seen: list[dict], bar: str) -> int | None:
    key = json.dumps(ids.job_run(bar), sort_keys=True, separators=(",", ":"))
    for reply in seen:
        for cid, props in (reply.get("sideUpdate") or {}).items():
            if cid == key or json.loads(cid) == ids.job_run(bar):
                return props["data"]
    return None


def test_map_round_and_a_cancel_through_the_app_on_redis_postgres_and_one_worker(
    tmp_path, postgres_url, redis_url, processes
):
    settings = Settings(workspace=tmp_path / "ws", database_url=postgres_url, broker_url=redis_url)
    ws = _populate(settings, tmp_path)
    if {s.label for s in ws.store.current_labels().values()} != {"realistic", "fake"}:
        pytest.skip("seeded candidates happen to hold one class only")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "SCATTERLOOP_DATABASE_URL": postgres_url,
        "SCATTERLOOP_BROKER_URL": redis_url,
    }
    worker = processes.start(
        "worker", [*CLI, "worker", "--workspace", str(ws.root), "--concurrency", "2", "--queues", "gpu,cpu"], env
    )
    _wait(lambda: " ready." in processes.log("worker"), 240, "worker ready", worker)
    base, server = _serve(processes, ws.root, env)
    deps = dependencies(base)

    # a map, from the Explore tab's Build button
    seen: list[dict] = []
    values = {ids.EXPLORE_METHOD_RADIO: "pca", ids.EXPLORE_EPOCHS_INPUT: 2, ids.EXPLORE_SEED_INPUT: 0}
    out = call(base, callback_request(deps, ids.EXPLORE_BUILD_BUTTON, values), seen=seen)
    assert "Map of 12 images computed" in out[ids.EXPLORE_JOB_STATUS]["children"], out
    map_run = ws.store.get_run(_run_id(seen, ids.EXPLORE_PROGRESS))
    assert map_run.kind == "embed" and map_run.status == "done" and map_run.progress == 1.0
    assert map_run.pid not in (server.pid, os.getpid()) and ws.store.latest_map_run().id == map_run.id
    assert any(p.get("progress") for p in seen), "the page saw the run's progress"

    # a classifier round, from the Train tab
    seen = []
    values = {
        ids.TRAIN_TASK_SELECT: "realism",
        ids.TRAIN_RECIPE_SELECT: "ours",
        ids.TRAIN_MODELS_CHECKLIST: ["tiny"],
        ids.TRAIN_EPOCHS_INPUT: 1,
        ids.TRAIN_BATCH_INPUT: 4,
        ids.TRAIN_SIZE_INPUT: 32,
        ids.TRAIN_INIT_RADIO: "scratch",
        ids.TRAIN_DEVICE_SELECT: "cpu",
    }
    out = call(base, callback_request(deps, ids.TRAIN_RUN_BUTTON, values), seen=seen)
    assert "round 1 (scratch)" in out[ids.TRAIN_STATUS]["children"], out
    round_run = ws.store.get_run(_run_id(seen, ids.TRAIN_PROGRESS))
    assert round_run.kind == "classify" and round_run.status == "done" and round_run.progress == 1.0
    assert [a.kind for a in ws.store.list_artifacts(run_id=round_run.id)], "the round registered its model"

    # a third job, generator training, cancelled from its own Cancel button while it runs
    import threading

    seen, result = [], {}
    body = callback_request(
        deps, ids.GEN_TRAIN_BUTTON, {ids.GEN_PRESET_SELECT: "test", ids.GEN_TRAIN_STEPS_INPUT: 10**6}
    )
    job = threading.Thread(target=lambda: result.update(call(base, body, seen=seen)))
    job.start()
    _wait(lambda: _run_id(list(seen), ids.GEN_TRAIN_PROGRESS) is not None, 120, "training run bound to the page")
    train_id = _run_id(list(seen), ids.GEN_TRAIN_PROGRESS)
    _wait(lambda: ws.store.get_run(train_id).status == "running", 240, "training running in the worker")
    cancel_body = callback_request(
        deps, ids.GEN_TRAIN_CANCEL_BUTTON, {json.dumps(ids.job_run(ids.GEN_TRAIN_PROGRESS), sort_keys=True): train_id}
    )
    reply = call(base, cancel_body)
    assert f"Cancelling training run {train_id}" in reply[ids.GEN_TRAIN_STATUS]["children"], reply
    job.join(240)
    assert "cancelled" in result[ids.GEN_TRAIN_STATUS]["children"], result
    cancelled = ws.store.get_run(train_id)
    assert cancelled.status == "cancelled" and cancelled.kind == "generate-train"
    assert ws.store.list_artifacts(run_id=train_id) == []  # a cancelled run offers nothing as finished
    # the other runs were not touched by that cancel
    assert ws.store.get_run(map_run.id).status == "done" and ws.store.get_run(round_run.id).status == "done"
    kinds = {r.kind: r.status for r in ws.store.list_runs()}
    assert kinds == {"embed": "done", "classify": "done", "generate-train": "cancelled"}, kinds
    ws.store.dispose()


def test_a_job_clicked_as_soon_as_a_fresh_server_answers_completes(tmp_path, processes):
    settings = Settings(workspace=tmp_path / "ws")
    ws = _populate(settings, tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SCATTERLOOP_BROKER_URL", None)
    env.pop("SCATTERLOOP_DATABASE_URL", None)
    base, server = _serve(processes, ws.root, env)  # returns at the server's first answer: workers still starting
    out = call(base, callback_request(dependencies(base), ids.EXPLORE_SYMMETRY_BUTTON))
    assert out[ids.EXPLORE_JOB_STATUS]["children"] == "Symmetry score of 4 ring image(s) stored.", out
    [run] = ws.store.list_runs()
    assert run.kind == "symmetry" and run.status == "done" and run.pid != server.pid
    ws.store.dispose()
