"""What a job may ask for, checked before a run is recorded: numeric parameters inside limits that keep one
request from taking the machine (a million sampled images, a 10⁶-epoch map), and at most
`Settings.max_jobs` runs queued or running per person at once (per signed-in user with login on; everyone
shares one allowance on a laptop without login). A refusal is a `JobRefused` (a `ValueError`) whose one-line
message names the parameter or the allowance; nothing is recorded then."""

from __future__ import annotations

import math

from .store import Store

ACTIVE = ("queued", "running")

# kind -> parameter -> (lowest, highest); None values mean "the default" and are not checked
LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    "generate": {
        "n": (1, 10_000),
        "steps": (1, 1000),
        "guidance": (0, 30),
        "seed": (0, 2**32 - 1),
        "resolution": (8, 2048),
    },
    "generate-train": {
        "steps": (1, 1_000_000),
        "resume": (1, 2**62),
        "seed": (0, 2**32 - 1),
        "resolution": (8, 2048),
        "rank": (1, 512),
    },
    "classify": {
        "epochs": (1, 500),
        "lr": (1e-8, 1.0),
        "batch_size": (1, 1024),
        "input_size": (16, 1024),
        "round": (1, 10_000),
        "val_fraction": (0.05, 0.5),
        "seed": (0, 2**32 - 1),
    },
    "predict": {"classify_run": (1, 2**62)},
    "embed": {
        "size": (16, 512),
        "latent_dim": (2, 512),
        "epochs": (1, 1000),
        "batch_size": (1, 4096),
        "lr": (1e-8, 1.0),
        "seed": (0, 2**32 - 1),
    },
    "place": {"map_run_id": (1, 2**62)},
    "symmetry": {},
    "demo": {"size": (8, 8192), "n_per_pattern": (1, 100_000)},
    "evaluate": {
        "kid_subsets": (1, 1000),
        "kid_subset_size": (2, 100_000),
        "is_splits": (1, 100),
        "per_group_cap": (1, 10_000),
        "seed": (0, 2**32 - 1),
    },
    "pretrain": {
        "input_size": (16, 512),
        "epochs": (1, 1000),
        "batch_size": (2, 4096),
        "lr": (1e-8, 1.0),
        "max_images": (1, 10_000_000),
        "seed": (0, 2**32 - 1),
    },
}


# upper limits that only bound how long a job runs: a shared server enforces them (`worker.submit`), while a run
# started from the command line or Python (`jobs.run_job`) may be as long as its owner likes (Ctrl-C, cancel);
# generate's n is one: frames are sampled and stored batch by batch (50,000 for an FID-50k comparison)
TIME_ONLY = frozenset({"epochs", "steps", "n"})


class JobRefused(ValueError):
    """A job request outside its limits, or beyond the person's allowance of active jobs."""


def check_params(kind: str, params: dict, time_caps: bool = True) -> None:
    """Raises JobRefused naming the first parameter of `params` outside the limits of `kind`; without
    `time_caps`, the upper limits of `TIME_ONLY` parameters are not checked."""
    for name, (lo, hi) in LIMITS.get(kind, {}).items():
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise JobRefused(f"{kind}: {name} must be a number, got {str(value)[:40]!r}")
        if not time_caps and name in TIME_ONLY:
            hi = math.inf
        if not lo <= value <= hi:
            raise JobRefused(f"{kind}: {name} = {value:g} is outside the allowed {lo:g}…{hi:g}")


def check_allowance(store: Store, started_by: str | None, max_jobs: int) -> None:
    """Raises JobRefused when `started_by` already has `max_jobs` runs queued or running."""
    if max_jobs <= 0:
        return
    mine = store.count_active_runs(started_by)
    if mine >= max_jobs:
        who = started_by or "this workspace"
        raise JobRefused(
            f"{who} already has {mine} job{'s' if mine != 1 else ''} queued or running (at most {max_jobs} at once): "
            "wait for one to finish or cancel one in the Jobs tab"
        )
