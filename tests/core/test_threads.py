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
