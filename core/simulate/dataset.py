"""Write simulated frames to disk as an imagefolder (`metadata.jsonl` beside the files).

Frame i of a set made with seed S is drawn from `default_rng([S, i])`, so any frame can be remade alone.
Rings, peaks and background are written as int32 TIFF counts (gaps -1, like a Pilatus); speckle as float32
intensity with the blocked centre NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import tifffile

from ..atomic import atomic_write
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .patterns import ARTIFACTS, PATTERNS, simulate_frame
from .speckle import simulate_speckle
from .wide import wide_frame

SIM_PATTERNS = PATTERNS + ("speckle", "speckle-poly")


@dataclass
class SimulateResult:
    out: str
    files: list[str] = field(default_factory=list)
    artifacts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


MIN_SIZE, MAX_SIZE = 8, 8192  # frame side in pixels (the longest side for domain="wide")
MAX_FRAMES = 1_000_000


def check_frame_args(size: int, seed: int) -> None:
    """Refuse a frame size or seed the simulator cannot use, naming the flag (every caller: simulate, demo, bench).

    Raises:
        ValueError: a size outside MIN_SIZE..MAX_SIZE (0 divided by zero; 10^7 asked numpy for petabytes) or a
            negative seed.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"--size: expected {MIN_SIZE} to {MAX_SIZE} pixels, got {size}")
    if seed < 0:
        raise ValueError(f"--seed: expected a non-negative integer, got {seed}")


def frame_record(
    pattern: str,
    seed: int,
    index: int,
    size: int,
    artifact: str | None,
    grid: int = 257,
    n_disks: int | None = None,
    domain: Literal["default", "wide"] = "default",
) -> tuple[np.ndarray, dict]:
    """Simulate frame `index` of a seeded set; returns (array, metadata row without file_name).

    `domain="wide"` draws the frame on a random detector of `wide.WIDE_TYPES` (its longest side `size`);
    the default domain is the ALS-like square station, unchanged so older sets can be remade frame by frame.
    """
    check_frame_args(size, seed)
    rng = np.random.default_rng([seed, index])
    if pattern.startswith("speckle"):
        n = int(n_disks if n_disks is not None else rng.integers(2, 21))
        disp = "poly" if pattern == "speckle-poly" else "mono"
        sp = simulate_speckle(n, rng, grid=grid, dispersity=disp)
        text = f"coherent speckle of {n} {'polydisperse' if disp == 'poly' else 'monodisperse'} disks"
        return sp.intensity, {
            "text": text,
            "pattern": "speckle",
            "label": str(n),
            "seed": seed,
            "index": index,
            "params": {"n_disks": n, "dispersity": disp, "grid": grid},
        }
    if domain == "wide":
        if artifact is not None:
            raise ValueError("--artifacts: the wide domain has no hallucination variants; use --artifacts none")
        sim = wide_frame(pattern, rng, size=size)
    else:
        sim = simulate_frame(pattern, rng, size=size, artifact=artifact)
    row = {
        "text": sim.description,
        "pattern": pattern,
        "seed": seed,
        "index": index,
        "params": sim.params,
        "truth": {"artifact": artifact, "realistic": artifact is None},
    }
    if domain == "wide":
        row["domain"] = "wide"
    return sim.counts, row


def choose_artifact(pattern: str, mode: str, rng: np.random.Generator) -> str | None:
    """`none`, `random` (each frame a hallucination of a type that applies), a probability like `0.5` (each frame a
    hallucination with that chance, drawn frame by frame: not an exact share of a small set), or a type."""
    if mode == "none":
        return None
    if pattern.startswith("speckle"):
        raise ValueError(f"--artifacts: speckle has no hallucination variants, got {mode!r}; use --artifacts none")
    choices = ARTIFACTS[pattern]
    if mode == "random":
        return str(rng.choice(choices))
    try:
        rate = float(mode)
    except ValueError:
        if mode not in choices:
            raise ValueError(
                f"--artifacts: {mode!r} does not apply to {pattern}; choose none, random, a "
                f"fraction, or one of {choices}"
            ) from None
        return mode
    if not 0 <= rate <= 1:
        raise ValueError(f"--artifacts: a probability must lie in [0, 1], got {rate}")
    return str(rng.choice(choices)) if rng.random() < rate else None


def _drop_rows(manifest: Path, names: set[str]) -> None:
    """Remove the rows of `names` from an existing manifest (their frames are about to be written again)."""
    if not manifest.is_file():
        return
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = []
    for line in lines:
        try:
            name = json.loads(line).get("file_name")
        except (ValueError, AttributeError):
            name = None
        if name not in names:
            kept.append(line)
    if len(kept) != len(lines):
        with atomic_write(manifest) as tmp:
            tmp.write_text("".join(kept), encoding="utf-8")


def simulate_dataset(
    pattern: str,
    n: int,
    out: str | Path,
    *,
    seed: int = 0,
    size: int = 256,
    artifacts: str = "none",
    grid: int = 257,
    start: int = 0,
    domain: Literal["default", "wide"] = "default",
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> SimulateResult:
    """Write n frames of `pattern` into `out` with an imagefolder `metadata.jsonl` (appended to).

    `domain="wide"` draws rings, peaks and background on many detector geometries, dtypes and count levels
    (see `core.simulate.wide`), for classifiers that must carry over to real detectors.
    """
    import time

    if pattern not in SIM_PATTERNS:
        raise ValueError(f"pattern: expected one of {SIM_PATTERNS}, got {pattern!r}")
    if domain not in ("default", "wide"):
        raise ValueError(f"--domain: expected 'default' or 'wide', got {domain!r}")
    if domain == "wide" and pattern not in PATTERNS:
        raise ValueError(f"--domain wide: simulates {PATTERNS}, not {pattern!r}")
    check_frame_args(size, seed)
    if not 1 <= n <= MAX_FRAMES:  # a billion frames is a full disk, not a data set
        raise ValueError(f"-n: expected 1 to {MAX_FRAMES} frames, got {n}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pick = np.random.default_rng([seed, 10**6])
    result = SimulateResult(out=str(out))
    t0 = time.perf_counter()
    choose_artifact(pattern, artifacts, np.random.default_rng(0))  # a bad --artifacts before anything is written
    names = {f"{pattern}_{seed}_{i:05d}.tif" for i in range(start, start + n)}
    _drop_rows(out / "metadata.jsonl", names)  # a frame made again is described once, by its new row
    with open(out / "metadata.jsonl", "a", encoding="utf-8") as meta:
        for i in range(start, start + n):
            check_stop(should_stop)
            artifact = choose_artifact(pattern, artifacts, pick)
            arr, row = frame_record(pattern, seed, i, size, artifact, grid=grid, domain=domain)
            name = f"{pattern}_{seed}_{i:05d}.tif"
            try:  # whole or not at all: a full disk leaves no truncated frame for an import to trip on
                with atomic_write(out / name, sync=False) as tmp:
                    tifffile.imwrite(tmp, arr, compression="zlib")
            except OSError as exc:
                raise ValueError(f"{out / name}: not written ({exc.strerror or exc})") from None
            meta.write(json.dumps({"file_name": name, **row}) + "\n")
            result.files.append(name)
            key = artifact or "none"
            result.artifacts[key] = result.artifacts.get(key, 0) + 1
            progress(i - start + 1, n, f"{pattern} {i - start + 1}/{n}")
    result.seconds = time.perf_counter() - t0
    return result
