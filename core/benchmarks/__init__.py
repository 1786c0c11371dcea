"""Benchmarks behind `scatterloop bench NAME`: each returns a JSON-ready dict of measured figures.

The registry names module and function rather than importing them, so one benchmark does not pay for the
imports of all the others (the classifier benchmarks import torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


_SHOWN: list[Callable[[int, int, str], None]] = []  # where `step` reports: the command's terminal bar


@contextmanager
def showing(progress: Callable[[int, int, str], None]) -> Iterator[None]:
    """Within it, a benchmark's `step` calls feed `progress(done, total, message)` (`scatterloop bench`'s bar)."""
    _SHOWN.append(progress)
    try:
        yield
    finally:
        _SHOWN.remove(progress)


def step(done: int, total: int, message: str = "") -> None:
    """A benchmark's own progress through its main stages (rounds, frames, epochs): a bar with the time left in a
    terminal, nothing when called as a function."""
    for progress in _SHOWN:
        progress(done, total, message)


def stage(name: str) -> Callable[..., None]:
    """A `progress(done, total, message)` for one stage of a benchmark (a round, a pretraining, a map), shown as
    "name: message" on the bench's bar."""

    def progress(done: int, total: int, message: str = "") -> None:
        step(done, total, f"{name}: {message}" if message else name)

    return progress


def job(store, kind: str, work: Callable[..., object], name: str | None) -> tuple[int, object]:
    """`run_job` for a benchmark's stage: `work(run_id, progress, should_stop)` shows its progress on the bench's
    bar and stops at its next check when the command is signalled (Ctrl-C, SIGTERM), which then ends as a cancel
    does (exit 130 or 143 naming the run), never running the benchmark's next stage on a missing result. `name`
    None: the stage's own progress is not shown (the benchmark counts its stages itself)."""
    from ..cli_common import RunCancelled
    from ..jobs import run_job

    run_id, result = run_job(store, kind, {}, work, **({"progress": stage(name)} if name else {}))
    if store.get_run(run_id).status != "done":
        raise RunCancelled(run_id)
    return run_id, result
