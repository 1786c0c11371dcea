"""How long the command line takes to start: `scatterloop --help`, and importing one small TIFF into a new
workspace, each in a fresh interpreter (imports are what a start-up pays for, and a warm process hides them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .io_bench import machine

# The source tree of this `core`: the commands run from it, so they measure this code, not an installed copy.
ROOT = Path(__file__).resolve().parents[2]


def _best_of(argv_for: list, repeats: int) -> float:
    """The fastest of `repeats` fresh runs (the least disturbed by other load), in seconds."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    best = float("inf")
    for argv in argv_for[:repeats]:
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise ValueError(f"{' '.join(map(str, argv[2:]))}: exit {done.returncode}: {done.stderr.strip()[-200:]}")
        best = min(best, elapsed)
    return best


def bench_startup(n: int = 3) -> dict:
    """`scatterloop --help` and `scatterloop import` of one 64-px TIFF (a new workspace each time), best of
    `n` fresh processes each."""
    import tifffile

    cli = [sys.executable, "-m", "scatterloop"]
    with tempfile.TemporaryDirectory() as tmp:
        tiff = Path(tmp) / "one.tif"
        tifffile.imwrite(tiff, np.random.default_rng(0).integers(0, 1000, (64, 64), dtype=np.uint16))
        help_s = _best_of([[*cli, "--help"]] * n, n)
        imports = [[*cli, "import", str(tiff), "--workspace", str(Path(tmp) / f"ws{i}"), "--quiet"] for i in range(n)]
        import_s = _best_of(imports, n)
    return {
        "bench": "startup",
        "repeats": n,
        "help_s": round(help_s, 3),
        "import_one_tiff_s": round(import_s, 3),
        "machine": machine(),
    }
