"""Calibrant d-spacings from their lattices, and the ring geometry they give on a flat detector.

Lattice constants are the certified values of NIST standard reference materials (LaB6 SRM 660c,
CeO2 SRM 674b, Si SRM 640e) and the silver behenate long period used at SAXS beamlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

HC_KEV_ANGSTROM = 12.398419843320026  # h*c in keV*Angstrom


@dataclass(frozen=True)
class Calibrant:
    name: str
    lattice: str  # "lamellar" | "cubic-P" | "cubic-F" | "diamond"
    a: float  # lattice constant or long period, Angstrom

    def reflections(self, max_index: int = 6, d_min: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """d-spacings (Angstrom, descending) and relative intensities (multiplicity with a q^-2 fall-off)."""
        if self.lattice == "lamellar":
            orders = np.arange(1, 16)
            d = self.a / orders
            w = 1.0 / orders**1.5
            keep = d >= d_min
            return d[keep], w[keep]
        found: dict[int, int] = {}
        for h, k, ll in product(range(max_index + 1), repeat=3):
            if (h, k, ll) == (0, 0, 0) or not self._allowed(h, k, ll):
                continue
            s = h * h + k * k + ll * ll
            found[s] = found.get(s, 0) + 1
        s = np.array(sorted(found))
        d = self.a / np.sqrt(s)
        mult = np.array([found[v] for v in s], dtype=float)
        w = mult / s
        keep = d >= d_min
        return d[keep], (w / w.max())[keep]

    def _allowed(self, h: int, k: int, l: int) -> bool:  # noqa: E741 (a Miller index)
        parities = {h % 2, k % 2, l % 2}
        if self.lattice == "cubic-P":
            return True
        if self.lattice == "cubic-F":
            return len(parities) == 1
        if self.lattice == "diamond":
            return len(parities) == 1 and (h % 2 == 1 or (h + k + l) % 4 == 0)
        raise ValueError(f"lattice: unknown {self.lattice!r}")


CALIBRANTS = {
    "AgBh": Calibrant("silver behenate", "lamellar", 58.380),
    "LaB6": Calibrant("lanthanum hexaboride", "cubic-P", 4.156826),
    "CeO2": Calibrant("cerium dioxide", "cubic-F", 5.411651),
    "Si": Calibrant("silicon", "diamond", 5.431179),
}


def wavelength(energy_kev: float) -> float:
    """X-ray wavelength in Angstrom for a photon energy in keV."""
    return HC_KEV_ANGSTROM / energy_kev


def ring_radii_px(d: np.ndarray, energy_kev: float, distance_m: float, pixel_m: float) -> np.ndarray:
    """Radii (pixels) of the Debye-Scherrer cones 2*theta = 2*asin(lambda / 2d) on a flat, normal detector.

    Reflections beyond 2*theta = 90 degrees (lambda > 2d) give no ring and are returned as NaN.
    """
    ratio = wavelength(energy_kev) / (2.0 * np.asarray(d, dtype=float))
    two_theta = 2.0 * np.arcsin(np.where(ratio < 1, ratio, np.nan))
    return distance_m * np.tan(two_theta) / pixel_m
