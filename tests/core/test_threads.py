"""Background jobs fork from the server: a job must run torch and scikit-learn at full width after the fork,
even when the forking thread ran them itself before (GNU OpenMP's pool does not survive a fork)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import os, sys, threading, time
from scatterloop.core.threads import enter_job_process, limit_server_threads

limit_server_threads()  # what `scatterloop serve` and the WSGI entry do first
import numpy as np
import torch
from scatterloop.core.embed.projection import fit_projection, warm_up

warmer = threading.Thread(target=warm_up)  # a warm-up thread, as the server once ran
warmer.start()
warmer.join()


def callback_work():  # an ordinary callback: a convolution and a UMAP map with its nearest-neighbour search
    torch.nn.Conv2d(4, 4, 3)(torch.randn(4, 4, 64, 64)).sum().backward()
    z = np.random.default_rng(1).normal(size=(600, 8)).astype(np.float32)
    assert fit_projection(z, "umap", 2).shape == (600, 2)


callback_work()  # in the very thread that forks the job next: the worst case
pid = os.fork()
if pid == 0:  # the job
    code = 1
    try:
        enter_job_process(2)
        callback_work()
        z = np.random.default_rng(0).normal(size=(900, 16)).astype(np.float32)
        assert fit_projection(z, "umap", 3, seed=0).shape == (900, 3)
        code = 0 if torch.get_num_threads() == 2 else 3
    finally:
        os._exit(code)
deadline = time.time() + 150
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 4)
    time.sleep(0.2)
os.kill(pid, 9)
sys.exit(2)  # the job hung
"""


def test_a_job_forked_from_a_server_thread_that_used_openmp_runs_at_full_width():
    out = subprocess.run([sys.executable, "-c", SERVER], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 2, "the forked job hung in an OpenMP parallel region"
    assert out.returncode == 0, out.stderr[-2000:]


def test_thread_counts_are_validated():
    from scatterloop.core.threads import set_openmp_threads

    with pytest.raises(ValueError, match="threads"):
        set_openmp_threads(0)


def test_jobs_side_by_side_share_the_machines_cores(monkeypatch):
    """Each job process once took every core: two jobs on 2 cores ran 4 threads, four Celery processes on 16 cores
    64. A job's share follows the jobs the store lists running on its machine, re-read between its steps."""
    from scatterloop.core import threads

    given, running, t = [], [1], [0.0]
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setattr(threads, "set_openmp_threads", given.append)
    share = threads.CoreShare(lambda: running[0], every=15.0, now=lambda: t[0])
    share()
    assert given == [8]  # alone: every core
    running[0], t[0] = 3, 5.0
    share()
    assert given == [8]  # not re-read within 15 s
    t[0] = 16.0
    share()
    assert given == [8, 2] and share.threads == 2  # three jobs: a third each, rounded down
    running[0], t[0] = 20, 40.0
    share()
    assert given == [8, 2, 1]  # never below one thread
    running[0], t[0] = 0, 60.0  # this run not listed yet (or the database just answered nothing): all cores
    share()
    assert given == [8, 2, 1, 8]

    def busy() -> int:
        raise OSError("database is locked")

    broken = threads.CoreShare(busy, now=lambda: t[0])
    broken()  # the share stays as it is, the job goes on
    assert given == [8, 2, 1, 8]


def test_the_store_counts_the_runs_running_on_this_machine(small_workspace):
    from scatterloop.core.worker import submit

    store = small_workspace.store
    first, second, queued = (submit(store, "symmetry", {"pattern": "rings"}) for _ in range(3))
    assert store.running_here() == 0
    assert store.claim_run(first) and store.claim_run(second)
    assert store.running_here() == 2
    store.update_run(second, host="elsewhere")  # a Celery worker on another machine shares none of these cores
    assert store.running_here() == 1
