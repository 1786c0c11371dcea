"""A calibration's tilt turned into the tilted plane the polar warp, I(r) and the symmetry score read: its radius,
distance x tan 2theta about the beam, must be pyFAI's own 2theta of every pixel, for every pyFAI orientation, a
Dioptas flip, GSAS-II and Fit2D files; and on a tilted detector's frame the score reads straight rings."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from scatterloop.core.geometry.readers import read_calibration
from scatterloop.core.geometry.tilt import tilted_radius


def _same_two_theta(geo, shape, reference=None):
    plane = geo.plane()
    assert plane is not None and plane[1] != 0
    tth = geo.integrator().twoThetaArray(shape) if reference is None else reference
    yy, xx = np.indices(shape)
    r = tilted_radius(xx, yy, geo.centre_x, geo.centre_y, *plane)
    assert np.abs(r - plane[0] * np.tan(tth)).max() < 1e-3


@pytest.mark.parametrize("orientation", [1, 2, 3, 4])
def test_a_poni_tilt_in_every_orientation_and_flipped_is_pyfais_two_theta(tmp_path, orientation):
    import pyFAI
    from pyFAI.detectors import Detector
    from pyFAI.geometry import Geometry as PyFAIGeometry

    det = Detector(pixel1=1e-4, pixel2=1e-4, max_shape=(60, 80), orientation=orientation)
    ref = PyFAIGeometry(dist=0.05, poni1=0.0021, poni2=0.0037, rot1=0.06, rot2=-0.04, rot3=0.2, detector=det)
    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    ref.save(str(tmp_path / "t.poni"))
    tth = pyFAI.load(str(tmp_path / "t.poni")).twoThetaArray()
    _same_two_theta(read_calibration(tmp_path / "t.poni"), det.shape, tth)
    flipped = read_calibration(tmp_path / "t.poni", flip_ud=True, height=det.shape[0])  # Dioptas' view
    _same_two_theta(flipped, det.shape, tth[::-1])


@pytest.mark.parametrize("tilt,rotation", [(4.0, 0.0), (6.0, 30.0), (3.0, 200.0), (-5.0, -60.0)])
def test_a_gsas2_tilt_is_its_own_two_theta(tmp_path, tilt, rotation):
    (tmp_path / "g.imctrl").write_text(
        f"type:PWDR\nwavelength:0.5\ndistance:40.0\ncenter:[4.0, 3.1]\npixelSize:[100.0, 100.0]\ntilt:{tilt}\n"
        f"rotation:{rotation}\ndet2theta:0.0\nsize:[90, 60]\n"
    )
    _same_two_theta(read_calibration(tmp_path / "g.imctrl"), (60, 90))


def test_no_tilt_or_unequal_pixels_keep_circles(tmp_path):
    base = "type:PWDR\nwavelength:0.5\ndistance:40.0\ncenter:[4.0, 3.1]\ndet2theta:0.0\nsize:[90, 60]\n"
    (tmp_path / "flat.imctrl").write_text(base + "pixelSize:[100.0, 100.0]\ntilt:0.0\nrotation:0.0\n")
    (tmp_path / "oblong.imctrl").write_text(base + "pixelSize:[100.0, 120.0]\ntilt:3.0\nrotation:0.0\n")
    assert read_calibration(tmp_path / "flat.imctrl").plane() is None
    assert read_calibration(tmp_path / "oblong.imctrl").plane() is None  # tilted_radius needs square pixels


def test_a_calibrated_tilted_frame_is_scored_on_its_plane(tmp_path, workspace):
    """A frame of pyFAI's cones on a detector tilted by 4 degrees, with its .poni: `polar` and Explore's polar view
    read the rings on the tilted plane about the calibrated beam, where they are straight, not as circles."""
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from scatterloop.core.explore import polar_view
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.polar import analyse, straightness

    det = Detector(pixel1=172e-6, pixel2=172e-6, max_shape=(400, 400))
    ai = AzimuthalIntegrator(dist=0.12, poni1=0.03, poni2=0.035, rot1=0.05, rot2=-0.045, detector=det)
    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    ai.save(str(tmp_path / "cal.poni"))
    tth = ai.twoThetaArray((400, 400))
    rate = np.full((400, 400), 20.0)
    for t in np.radians([7.0, 12.0, 17.0, 22.0, 27.0]):
        rate += 300.0 * np.exp(-0.5 * ((tth - t) / np.radians(0.1)) ** 2)
    counts = np.random.default_rng(0).poisson(rate).astype(np.int32)
    res = analyse(counts, calibration=tmp_path / "cal.poni")
    assert res.plane is not None and res.score > 0.97
    assert res.score > straightness(counts, (res.centre_x, res.centre_y), None) + 0.05
    np.save(tmp_path / "tilted.npy", counts)
    image_id = import_paths(workspace, [tmp_path / "tilted.npy"], source="experimental").image_ids[0]
    (workspace.root / "calibration").mkdir(exist_ok=True)
    (workspace.root / "calibration" / "default.poni").write_bytes((tmp_path / "cal.poni").read_bytes())
    view = polar_view(workspace, image_id)
    assert view.source == "poni" and view.score == pytest.approx(res.score, abs=1e-6)
    r, prof = np.asarray(view.r), np.array([np.nan if v is None else v for v in view.intensity])
    ring = np.tan(np.radians(17.0)) * res.plane[0]  # a cone is one radius of the plane: a sharp peak in I(r)
    near = np.abs(r - ring) < 15
    assert abs(r[near][np.nanargmax(prof[near])] - ring) < 2.5
    assert np.nanmax(prof[near]) > 250  # circles about the beam smear it to 215, 4 px off


@pytest.mark.parametrize("rot1,rot2", [(0.05, -0.03), (-0.04, 0.06)])
def test_a_fit2d_tilt_is_pyfais_two_theta(tmp_path, rot1, rot2):
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = Detector(pixel1=1e-4, pixel2=1e-4, max_shape=(60, 80))
    ai = AzimuthalIntegrator(dist=0.05, poni1=0.0021, poni2=0.0037, rot1=rot1, rot2=rot2, detector=det)
    f2d = ai.getFit2D()
    (tmp_path / "g.f2d").write_text(
        f"X-BEAM CENTRE = {f2d['centerX']}\nY-BEAM CENTRE = {f2d['centerY']}\n"
        f"ANGLE OF TILT (DEGREES) = {f2d['tilt']}\nTILT ROTATION = {f2d['tiltPlanRotation']}\n"
        f"SAMPLE TO DETECTOR DISTANCE (MM) = {f2d['directDist']}\nX-PIXEL SIZE = 100\nY-PIXEL SIZE = 100\n"
    )
    _same_two_theta(read_calibration(tmp_path / "g.f2d"), det.shape, ai.twoThetaArray(det.shape))
