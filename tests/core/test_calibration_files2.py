"""Calibration files checked against what pyFAI and GSAS-II mean by them: every pyFAI detector orientation
(pyFAI's own 2theta array is the reference), and hostile files refused on one line naming file and field."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from scatterloop.core.geometry.readers import read_calibration


@pytest.mark.parametrize("orientation", [1, 2, 3, 4])
def test_every_pyfai_orientation_gives_pyfais_own_beam_centre_and_two_theta(tmp_path, orientation):
    """pyFAI's orientation 1 reverses rows and columns, 2 the rows only, 4 the columns only; the beam centre in
    array pixels and the 2theta of every pixel (tilt plane mirrored with the axes) must be pyFAI's."""
    import pyFAI
    from pyFAI.detectors import Detector
    from pyFAI.geometry import Geometry as PyFAIGeometry

    det = Detector(pixel1=1e-4, pixel2=1.2e-4, max_shape=(60, 80), orientation=orientation)
    geo_ref = PyFAIGeometry(
        dist=0.05, poni1=0.0021, poni2=0.0037, rot1=0.06, rot2=-0.04, rot3=0.2, detector=det, wavelength=1e-10
    )
    path = tmp_path / f"o{orientation}.poni"
    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    geo_ref.save(str(path))
    ref = pyFAI.load(str(path))
    tth = ref.twoThetaArray()
    row, col = np.unravel_index(np.argmin(tth), tth.shape)
    geo = read_calibration(path)
    assert (round(geo.centre_x), round(geo.centre_y)) == (col, row)  # the darkest-2theta pixel is the beam's
    mine = geo.integrator().twoThetaArray(det.shape)
    assert np.degrees(np.abs(mine - tth).max()) < 1e-4
