"""Simulator and import throughput."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ..config import Settings
from ..ingest import import_paths
from ..simulate import SIM_PATTERNS, simulate_dataset
from ..workspace import Workspace


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}


def bench_simulate(n: int = 50, size: int = 256, seed: int = 0) -> dict:
    """Frames per second of the simulator per pattern, writing TIFFs, against the bare in-memory render."""
    from ..simulate.dataset import frame_record

    out = {"bench": "simulate", "n": n, "size": size, "machine": machine(), "patterns": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for pattern in SIM_PATTERNS:
            t0 = time.perf_counter()
            for i in range(n):
                frame_record(pattern, seed, i, size, None)
            render = time.perf_counter() - t0
            t0 = time.perf_counter()
            artifacts = "none" if pattern.startswith("speckle") else "0.5"  # speckle has no hallucination variants
            simulate_dataset(pattern, n, Path(tmp) / pattern, seed=seed, size=size, artifacts=artifacts)
            written = time.perf_counter() - t0
            out["patterns"][pattern] = {
                "images_per_s": round(n / written, 2),
                "render_only_images_per_s": round(n / render, 2),
            }
    rates = [v["images_per_s"] for v in out["patterns"].values()]
    out["images_per_s"] = round(float(np.mean(rates)), 2)
    return out


def bench_import(n: int = 200, size: int = 256, seed: int = 0) -> dict:
    """Images per second of `import` (read, hash, store original, thumbnail, register) on simulated TIFFs,
    against the bare read of the same files (the floor set by the file format)."""
    from ..io import read_frames

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        per = max(1, n // 3)
        for i, pattern in enumerate(("rings", "peaks", "background")):
            simulate_dataset(pattern, per, src, seed=seed + i, size=size, artifacts="0.5")
        files = sorted(src.glob("*.tif"))
        t0 = time.perf_counter()
        for f in files:
            for _ in read_frames(f):
                pass
        bare = time.perf_counter() - t0
        ws = Workspace.open(Settings(workspace=Path(tmp) / "ws"))
        t0 = time.perf_counter()
        summary = import_paths(ws, [src], source="experimental")
        full = time.perf_counter() - t0
        ws.store.dispose()
    return {
        "bench": "import",
        "n": len(files),
        "size": size,
        "machine": machine(),
        "imported": summary.imported,
        "images_per_s": round(summary.imported / full, 2),
        "baseline_bare_read_images_per_s": round(len(files) / bare, 2),
        "overhead_vs_bare_read": round(full / bare, 2),
    }
