"""The single-crystal simulator: the Ewald construction, checked against a brute-force turn of the crystal."""

from __future__ import annotations

import numpy as np
import pytest

from scatterloop.core.simulate.crystal import (
    crossings,
    lattice_points,
    random_reciprocal_basis,
    render_crystal_spots,
)
from scatterloop.core.simulate.geometry import Detector, Scene


def _rotate(g: np.ndarray, axis: np.ndarray, w: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return g @ Rotation.from_rotvec(axis * w).as_matrix().T


def test_cells_are_valid_and_lattice_points_lie_within_the_limit_with_their_reciprocal_metric():
    rng = np.random.default_rng(3)
    for _ in range(20):
        recip, cell = random_reciprocal_basis(rng)
        assert np.all(cell[:3] >= 3.0) and np.all(cell[:3] <= 250.0) and np.all((cell[3:] >= 60) & (cell[3:] <= 120))
        direct = np.linalg.inv(recip).T
        assert np.allclose(np.linalg.norm(direct, axis=1), cell[:3])  # the same cell, turned
    recip = np.diag([0.1, 0.1, 0.1])  # a 10 Angstrom cube
    g = lattice_points(recip, 0.35)
    q = np.linalg.norm(g, axis=1)
    assert q.max() < 0.35 and q.min() > 0
    hkl = np.round(g / 0.1).astype(int)
    assert len(g) == sum(1 for v in np.indices((9, 9, 9)).reshape(3, -1).T - 4 if 0 < np.linalg.norm(v) < 3.5)
    assert len({tuple(v) for v in hkl}) == len(g)


def test_crossings_agree_with_turning_the_crystal_in_fine_steps():
    """Every reciprocal-lattice point found by the analytic construction crosses the sphere where a brute-force
    turn in 0.01-degree steps sees |k0 + g(w)| pass through k, and no crossing is missed."""
    rng = np.random.default_rng(7)
    recip, _ = random_reciprocal_basis(rng)
    k = 1.0 / 0.7
    g = lattice_points(recip, 0.8)
    g = g[rng.choice(len(g), min(len(g), 150), replace=False)]
    axis = np.array([np.cos(0.4), np.sin(0.4), 0.0])
    osc = np.radians(12.0)
    kout, part = crossings(g, k, axis, osc, mosaic=1e-6)
    assert len(kout) and np.allclose(np.linalg.norm(kout, axis=1), k)  # on the Ewald sphere
    assert np.all(part == pytest.approx(1.0))
    k0 = np.array([0.0, 0.0, k])
    steps = np.radians(np.arange(-6.0, 6.0 + 1e-9, 0.01))
    found = []
    for gi in g:
        f = np.array([np.sum((k0 + _rotate(gi, axis, w)) ** 2) - k * k for w in steps])
        for j in np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]:
            found.append(k0 + _rotate(gi, axis, 0.5 * (steps[j] + steps[j + 1])))
    assert len(found) == len(kout)
    brute = np.array(found)
    dist = np.linalg.norm(kout[:, None, :] - brute[None, :, :], axis=2).min(axis=1)
    assert dist.max() < np.radians(0.01) * 2 * np.linalg.norm(g, axis=1).max()  # within one step's travel


def test_partiality_is_the_share_of_the_rocking_curve_the_turn_covers():
    k = 1.0 / 1.0
    axis = np.array([1.0, 0.0, 0.0])
    w1 = np.arcsin(-0.5 * 0.3**2 / (k * 0.3))  # (0, 0.3 cos w, 0.3 sin w) meets the sphere when k0 . g = -|g|^2/2
    g = np.array([[0.0, 0.3 * np.cos(w1), 0.3 * np.sin(w1)]])  # crosses at w = 0, the middle of every turn below
    mosaic = np.radians(0.4)
    for osc, share in ((0.4, 1.0), (0.8, 1.0), (0.2, 0.5), (0.1, 0.25)):
        _, part = crossings(g, k, axis, np.radians(osc), mosaic)
        assert np.max(part) == pytest.approx(share, abs=0.01)


def test_a_crystal_frame_holds_spots_with_its_truth():
    scene = Scene((160, 160), Detector("GE", (1, 1), module_px=(2048, 2048), pixel_m=200e-6), (80.0, 80.0), 0.0128)
    text = render_crystal_spots(scene, np.random.default_rng(11), native_side=2048)
    p = scene.params
    assert "single crystal" in text and p["spots"] >= 1 and scene.expected.sum() > 0
    assert {"crystal_cell", "oscillation_deg", "mosaic_deg", "energy_kev", "d_min_A"} <= set(p)
    again = Scene((160, 160), scene.detector, (80.0, 80.0), 0.0128)
    render_crystal_spots(again, np.random.default_rng(11), native_side=2048)
    assert np.array_equal(again.expected, scene.expected)  # one seed, one frame
