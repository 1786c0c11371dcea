"""Azimuthal integration with pyFAI: I(q) in inverse Angstrom and the (q, chi) cake, given a calibration.

pyFAI does the pixel splitting, the solid-angle correction and the polarisation correction; doing them by hand
would be slower and subtly different from what beamline users compare against. Without a calibration there is
no q scale: `core.polar.radial_profile` gives I(r) in pixels about a searched centre.
"""

from __future__ import annotations

import numpy as np

from .calibration import Geometry


def _mask(data: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    from ..io import make_mask

    return make_mask(np.asarray(data)) if mask is None else np.asarray(mask, dtype=bool)


def integrate_q(
    data: np.ndarray,
    geo: Geometry,
    mask: np.ndarray | None = None,
    npt: int = 1000,
    polarization_factor: float | None = 0.99,
    method=None,
    integrator=None,
) -> tuple[np.ndarray, np.ndarray]:
    """I(q) with q in inverse Angstrom, solid-angle and (horizontal, `polarization_factor`) polarisation
    corrected. Raises ValueError when the calibration has no wavelength (no q without one).

    `method` is pyFAI's (None: its default, CSR with bounding-box splitting); `integrator` reuses one made by
    `geo.integrator()`, whose q and solid-angle arrays are then computed once for a profile and a cake."""
    if not geo.wavelength_m:
        raise ValueError(f"{geo.source} calibration {geo.path}: no wavelength, so no q scale")
    res = (integrator or geo.integrator()).integrate1d(
        np.asarray(data, dtype=np.float32),
        npt,
        unit="q_A^-1",
        mask=_mask(data, mask),
        correctSolidAngle=True,
        polarization_factor=polarization_factor,
        **({"method": method} if method is not None else {}),
    )
    return np.asarray(res.radial), np.asarray(res.intensity)


def cake(
    data: np.ndarray,
    geo: Geometry,
    mask: np.ndarray | None = None,
    npt_q: int = 500,
    npt_chi: int = 360,
    polarization_factor: float | None = 0.99,
    method=None,
    integrator=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (chi, q) cake: intensity[chi, q], q in inverse Angstrom and chi in degrees (`method`, `integrator`
    as for `integrate_q`)."""
    if not geo.wavelength_m:
        raise ValueError(f"{geo.source} calibration {geo.path}: no wavelength, so no q scale")
    res = (integrator or geo.integrator()).integrate2d(
        np.asarray(data, dtype=np.float32),
        npt_q,
        npt_chi,
        unit="q_A^-1",
        mask=_mask(data, mask),
        correctSolidAngle=True,
        polarization_factor=polarization_factor,
        **({"method": method} if method is not None else {}),
    )
    return np.asarray(res.intensity), np.asarray(res.radial), np.asarray(res.azimuthal)
