"""Benchmarks behind `scatterloop bench NAME`: each returns a JSON-ready dict of measured figures.

The registry names module and function rather than importing them, so one benchmark does not pay for the
imports of all the others (the classifier benchmarks import torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

BENCHES = {
    "simulate": "io_bench:bench_simulate",
    "import": "io_bench:bench_import",
    "embed": "embed_bench:bench_embed",
    "explore": "embed_bench:bench_explore",
    "polar": "polar_bench:bench_polar",
    "generate": "generate_bench:bench_generate",
    "train": "classify_bench:bench_train",
    "loop": "loop_bench:bench_loop",
    "speckle": "classify_bench:bench_speckle",
    "fid": "fid_bench:bench_fid",
    "startup": "startup_bench:bench_startup",
    "mapsep": "mapsep_bench:bench_mapsep",
    "simreal": "simreal_bench:bench_simreal",
    "jobs": "jobs_bench:bench_jobs",
    "pretrain": "pretrain_bench:bench_pretrain",
}


def load_bench(name: str) -> Callable[..., dict]:
    """The benchmark function called `name`.

    Raises:
        ValueError: an unknown name.
    """
    if name not in BENCHES:
        raise ValueError(f"bench: expected one of {', '.join(BENCHES)}, got {name!r}")
    module, func = BENCHES[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), func)


__all__ = ["BENCHES", "load_bench"]
