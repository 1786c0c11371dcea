"""`scatterloop bench jobs`: many small jobs submitted at once through the app's own HTTP interface.

For each runner (the embedded pool of spawned processes; Celery workers on a real Redis) a real server
(`scatterloop serve`, gunicorn) is started on a small workspace, then `n` Explore "Symmetry" clicks are sent at
once as the browser sends them (POST /_dash-update-component, each with its own click count) while another
thread keeps asking for pages. Every figure is read back from the store, the one source of truth:

* submitted: requests the server accepted; lost: accepted but no run was ever recorded for them;
* completed: runs that ended `done`; failed: ended otherwise; hung: still queued or running at the deadline;
* start_p50_s / start_p95_s: from the moment the burst was sent to each run's start in a worker
  (recorded_p95_s: to the server's recording of the run; run_p50_s: how long a run took in its worker);
* other_requests: page requests served meanwhile, failures, and their p95 latency;
* first_job_s: before the burst, one click sent the moment the fresh server answered, to its answer.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from ..store.models import as_utc

DEADLINE_S = 240.0
BUTTON = "explore-symmetry-button"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(url: str, body: dict | None = None, timeout: float = 60.0) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read()


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process ended with code {proc.returncode}")
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def callback_request(deps: list[dict], trigger: str, values: dict | None = None, clicks: int = 1) -> dict:
    """The body the browser posts when the button `trigger` is clicked the `clicks`-th time, with the other
    inputs and states the callback reads set from `values` (component id → value, a dict id as
    `json.dumps(id, sort_keys=True)`; absent ones None)."""
    values = values or {}
    # the job's callback, not a small one on the same button (one that only clears a stale status line)
    dep = max(
        (d for d in deps if any(i["id"] == trigger for i in d["inputs"])),
        key=lambda d: (bool(d.get("background") or d.get("long")), len(d["inputs"]) + len(d.get("state", []))),
    )
    outputs = [
        dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
        for part in dep["output"].strip(".").split("...")
    ]

    def component(dep_id):  # a dict id comes as its JSON text: the browser sends the dict
        return json.loads(dep_id) if isinstance(dep_id, str) and dep_id.startswith("{") else dep_id

    def value(dep_id):
        cid = component(dep_id)
        key = json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else cid
        return clicks if cid == trigger else values.get(key)

    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],  # one output: not a list
        "inputs": [{**i, "id": component(i["id"]), "value": value(i["id"])} for i in dep["inputs"]],
        "state": [{**s, "id": component(s["id"]), "value": value(s["id"])} for s in dep["state"]],
        "changedPropIds": [f"{trigger}.n_clicks"],
    }


def dependencies(base: str) -> list[dict]:
    return json.loads(_http(f"{base}/_dash-dependencies")[1])


def call(base: str, body: dict, timeout: float = DEADLINE_S, seen: list | None = None) -> dict:
    """Post a callback as the browser does and, for a background one, poll it until it answers; returns the
    final `response` (component id → props). Each poll's reply is appended to `seen`."""
    status, raw = _http(f"{base}/_dash-update-component", body)
    reply = json.loads(raw)
    end = time.monotonic() + timeout
    while "cacheKey" in reply and "response" not in reply:
        if time.monotonic() > end:
            raise TimeoutError(f"no answer from the callback after {timeout:.0f} s")
        time.sleep(0.5)
        query = urllib.parse.urlencode({"cacheKey": reply["cacheKey"], "job": reply["job"]})
        _, raw = _http(f"{base}/_dash-update-component?{query}", body)
        polled = json.loads(raw) if raw else {}
        if seen is not None:
            seen.append(polled)
        reply = {**polled, "cacheKey": reply["cacheKey"], "job": reply["job"]} if "response" not in polled else polled
    return reply.get("response", {})


def symmetry_request(base: str, clicks: int) -> dict:
    """The body the browser posts when the Explore tab's Symmetry button is clicked the `clicks`-th time."""
    return callback_request(dependencies(base), BUTTON, clicks=clicks)


def _workspace(root: Path) -> Path:
    from ..config import Settings
    from ..ingest import import_paths
    from ..simulate import simulate_dataset
    from ..workspace import Workspace

    simulate_dataset("rings", 3, root / "sim", seed=0, size=64)
    ws = Workspace.open(Settings(workspace=root / "ws"))
    import_paths(ws, [root / "sim"], source="experimental")
    ws.store.dispose()
    return root / "ws"


def _burst(base: str, n: int, db_url: str) -> dict:
    from ..store import Store

    store = Store(db_url)
    before = {r.id for r in store.list_runs(10_000)}  # the first click's run is not part of the burst
    bodies = [symmetry_request(base, k) for k in range(2, n + 2)]
    stop, other = threading.Event(), {"served": 0, "failed": 0, "latency": []}

    def pages():
        while not stop.is_set():
            t = time.monotonic()
            try:
                _http(f"{base}/_dash-layout", timeout=30)
                other["served"] += 1
                other["latency"].append(time.monotonic() - t)
            except OSError:
                other["failed"] += 1

    browsing = threading.Thread(target=pages, daemon=True)
    browsing.start()
    sent = datetime.now(timezone.utc)

    def post(body):
        try:
            status, raw = _http(f"{base}/_dash-update-component", body)
            return status == 200 and "job" in json.loads(raw)
        except OSError:
            return False

    with ThreadPoolExecutor(n) as pool:
        accepted = sum(pool.map(post, bodies))
    end = time.monotonic() + DEADLINE_S
    while True:
        runs = [r for r in store.list_runs(10_000) if r.id not in before and r.kind == "symmetry"]
        if (len(runs) >= accepted and all(r.status not in ("queued", "running") for r in runs)) or (
            time.monotonic() > end
        ):
            break
        time.sleep(0.5)
    stop.set()
    browsing.join(60)
    store.dispose()

    starts = sorted((as_utc(r.started_at) - sent).total_seconds() for r in runs if r.started_at)
    recorded = sorted((as_utc(r.created_at) - sent).total_seconds() for r in runs)
    took = sorted((as_utc(r.finished_at) - as_utc(r.started_at)).total_seconds() for r in runs if r.finished_at)
    lat = sorted(other["latency"])

    def pct(values, q):
        return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None

    return {
        "submitted": accepted,
        "completed": sum(r.status == "done" for r in runs),
        "failed": sum(r.status in ("failed", "cancelled") for r in runs),
        "hung": sum(r.status in ("queued", "running") for r in runs),
        "lost": max(0, accepted - len(runs)),
        "start_p50_s": pct(starts, 0.5),
        "start_p95_s": pct(starts, 0.95),
        "start_max_s": pct(starts, 1.0),
        "recorded_p95_s": pct(recorded, 0.95),
        "run_p50_s": pct(took, 0.5),
        "other_requests": {
            "served": other["served"],
            "failed": other["failed"],
            "p95_s": pct(lat, 0.95),
        },
    }


def _run_mode(mode: str, root: Path, n: int, workers: int) -> dict:
    ws = _workspace(root / mode)
    env = {**os.environ, "SCATTERLOOP_WORKSPACE": str(ws)}
    env.pop("SCATTERLOOP_DATABASE_URL", None)
    env.pop("SCATTERLOOP_BROKER_URL", None)
    cli = [sys.executable, "-m", "scatterloop"]
    procs: list[subprocess.Popen] = []
    logs = root / f"{mode}-logs"
    logs.mkdir()
    try:
        if mode == "celery":
            if shutil.which("redis-server") is None:
                return {"skipped": "redis-server is not installed (apt-get install redis-server)"}
            rport = _free_port()
            procs.append(
                subprocess.Popen(
                    ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                    stdout=subprocess.DEVNULL,
                )
            )
            env["SCATTERLOOP_BROKER_URL"] = f"redis://127.0.0.1:{rport}/0"
            log = open(logs / "worker.log", "w")  # noqa: SIM115 - closed with the process
            worker = subprocess.Popen(
                [*cli, "worker", "--workspace", str(ws), "--concurrency", str(workers), "--queues", "cpu"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            procs.append(worker)
            _wait_for(lambda: " ready." in (logs / "worker.log").read_text(), 180, "celery worker", worker)
        port = _free_port()
        server = subprocess.Popen(
            [*cli, "serve", "--workspace", str(ws), "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(logs / "server.log", "w"),  # noqa: SIM115
        )
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _http(f"{base}/", timeout=5)[0] == 200, 180, "server", server)
        answered = time.monotonic()
        call(base, symmetry_request(base, 1))  # one click at once: the cold start a person could hit
        first = time.monotonic() - answered
        from ..config import Settings

        return {"workers": workers, "first_job_s": round(first, 3), **_burst(base, n, Settings(workspace=ws).db_url)}
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def bench_jobs(n: int = 50, workers: int = 4, modes: tuple[str, ...] = ("embedded", "celery")) -> dict:
    """`n` Symmetry clicks at once through the app's HTTP interface, embedded runner then Celery + Redis."""
    if n < 1:
        raise ValueError(f"--n: expected 1 or more jobs, got {n}")
    root = Path(tempfile.mkdtemp(prefix="scatterloop-bench-jobs-"))
    try:
        out = {mode: _run_mode(mode, root, n, workers) for mode in modes}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"bench": "jobs", "n": n, **out}
