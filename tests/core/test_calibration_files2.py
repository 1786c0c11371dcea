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


def _gsas_two_theta(shape, center, pixel_um, distance, tilt, rotation):
    """2theta (deg) of every pixel as GSAS-II computes it (GSASIIimage.GetTthAzmG with det2theta 0, no depth or
    sag): pixel centres at (i + 0.5) * pixelSize, the beam `distance / cos(tilt)` away, the detector turned by
    R(rotation) T(tilt) R(rotation)^T."""

    def mat(angle, axis):  # GSASIIimage.makeMat
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        m = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
        return np.roll(np.roll(m, axis, axis=0), axis, axis=1)

    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    dx = (cols + 0.5) * pixel_um[0] / 1000 - center[0]
    dy = (rows + 0.5) * pixel_um[1] / 1000 - center[1]
    rot, tlt = mat(rotation, 2), mat(tilt, 0)
    mn = np.inner(rot, np.inner(rot, tlt))
    xyz = np.inner(np.dstack([dx, dy, np.zeros_like(dx)]), mn)
    xyz[..., 2] += distance / np.cos(np.radians(tilt))
    return np.degrees(np.arccos(xyz[..., 2] / np.linalg.norm(xyz, axis=-1)))


@pytest.mark.parametrize("tilt,rotation", [(0.0, 0.0), (4.0, 0.0), (6.0, 30.0), (3.0, 200.0), (-5.0, -60.0)])
def test_gsas2_imctrl_gives_gsas2s_own_two_theta(tmp_path, tilt, rotation):
    """GSAS-II's `distance` is to the detector plane (the beam travels distance / cos(tilt)) and its `rotation`
    is the tilt axis's angle, 90 degrees from Fit2D's tilt-plane rotation."""
    shape, center, pixel_um, distance = (60, 90), (4.0, 3.1), (100.0, 120.0), 40.0
    (tmp_path / "g.imctrl").write_text(
        f"type:PWDR\nwavelength:0.5\ndistance:{distance}\ncenter:[{center[0]}, {center[1]}]\n"
        f"pixelSize:[{pixel_um[0]}, {pixel_um[1]}]\ntilt:{tilt}\nrotation:{rotation}\ndet2theta:0.0\n"
        f"size:[{shape[1]}, {shape[0]}]\n"
    )
    geo = read_calibration(tmp_path / "g.imctrl")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((40 - 0.5, 3.1 / 0.12 - 0.5))
    mine = np.degrees(geo.integrator().twoThetaArray(shape))
    assert np.abs(mine - _gsas_two_theta(shape, center, pixel_um, distance, tilt, rotation)).max() < 1e-4


def test_gsas2_detector_arm_off_the_beam_is_refused_not_misplaced(tmp_path):
    (tmp_path / "arm.imctrl").write_text("center:[10, 20]\npixelSize:[172, 172]\ndistance:100\ndet2theta:30.0\n")
    with pytest.raises(ValueError, match=r"arm\.imctrl: det2theta 30 deg"):
        read_calibration(tmp_path / "arm.imctrl")
