"""The loop benchmark's scoring: the decision rule it applies and the interval it puts on a precision."""

import numpy as np

from core.benchmarks.loop_bench import _score


def test_score_follows_the_threshold_and_bounds_precision_with_a_wilson_interval():
    y = np.array([1] * 150 + [0] * 150)
    p = np.concatenate([np.full(147, 0.9), np.full(3, 0.2), np.full(8, 0.7), np.full(142, 0.1)])
    at_half = _score(p, y, 0.5)
    assert at_half["precision"] == round(147 / 155, 4) and at_half["recall"] == 0.98
    lo, hi = at_half["precision_ci95"]
    assert 0.89 < lo < 147 / 155 < hi < 0.98  # a few hundred truth images pin a precision to a few points
    assert _score(p, y, 0.75)["precision"] == 1.0  # the 0.7 calls are left out above 0.75
    assert _score(np.zeros(4), np.array([1, 0, 1, 0]))["precision_ci95"] is None  # nothing called realistic
