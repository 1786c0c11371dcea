"""Fréchet distance between two sets of features: ours (float64, two symmetric eigendecompositions) against
`scipy.linalg.sqrtm` (pytorch-fid's formulation) on the same features in the same run."""

from __future__ import annotations

import time

import numpy as np

from .io_bench import machine


def bench_fid(n: int = 10000, size: int | None = None, seed: int = 0) -> dict:
    """Two sets of n 2048-d features (`size` overrides the dimension) with correlated, anisotropic covariance."""
    from ..evaluate.metrics import frechet_distance, frechet_distance_scipy, statistics

    d = size or 2048
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    a = rng.normal(size=(n, d)) @ mix
    b = (rng.normal(size=(n, d)) * 1.05 + 0.02) @ mix
    t0 = time.perf_counter()
    mu1, s1 = statistics(a)
    mu2, s2 = statistics(b)
    stats_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = frechet_distance(mu1, s1, mu2, s2)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = frechet_distance_scipy(mu1, s1, mu2, s2)
    ref_s = time.perf_counter() - t0
    return {
        "bench": "fid",
        "machine": machine(),
        "n_per_set": n,
        "dim": d,
        "statistics_s": round(stats_s, 3),
        "ours": {"fid": ours, "seconds": round(ours_s, 3)},
        "scipy_sqrtm": {"fid": ref, "seconds": round(ref_s, 3)},
        "speedup": round(ref_s / ours_s, 2),
        "abs_difference": abs(ours - ref),
        "rel_difference": abs(ours - ref) / abs(ref),
    }
