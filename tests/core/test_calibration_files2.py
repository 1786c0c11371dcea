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
    array pixels and the 2theta and chi of every pixel (rot3 included) must be pyFAI's, flipped up-down too."""
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
    ai = geo.integrator()
    assert np.degrees(np.abs(ai.twoThetaArray(det.shape) - tth).max()) < 1e-4
    chi_off = (ai.chiArray(det.shape) - ref.chiArray() + np.pi) % (2 * np.pi) - np.pi  # rot3 turns chi's origin
    assert np.degrees(np.abs(chi_off).max()) < 1e-4
    flipped = read_calibration(path, flip_ud=True, height=det.shape[0]).integrator()  # Dioptas' view of the frame
    assert np.degrees(np.abs(flipped.twoThetaArray(det.shape)[::-1] - tth).max()) < 1e-4
    chi_off = (flipped.chiArray(det.shape)[::-1] - ref.chiArray() + np.pi) % (2 * np.pi) - np.pi
    assert np.degrees(np.abs(chi_off).max()) < 1e-4


@pytest.mark.parametrize("name", ["Pilatus1M", "Eiger1M"])
@pytest.mark.parametrize("binning", [1, 2])
def test_named_and_binned_pyfai_detectors_keep_their_shape_and_flip_exactly(tmp_path, name, binning):
    """pyFAI writes no max_shape for a detector it knows by name, and bins a detector's shape: the geometry's
    shape is the binned one the frames have, and Dioptas' flip keeps pyFAI's own geometry (rot3, chi)."""
    import pyFAI
    from pyFAI import detector_factory
    from pyFAI.geometry import Geometry as PyFAIGeometry

    det = detector_factory(name)
    det.set_binning((binning, binning))
    path = tmp_path / f"{name}.poni"
    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    PyFAIGeometry(
        dist=0.2, poni1=0.07, poni2=0.05, rot1=0.02, rot2=-0.01, rot3=0.3, detector=det, wavelength=1e-10
    ).save(str(path))
    ref = pyFAI.load(str(path))
    shape = tuple(ref.detector.shape)
    geo = read_calibration(path)
    assert geo.shape == shape
    flipped = read_calibration(path, flip_ud=True, height=shape[0]).integrator()
    assert np.degrees(np.abs(flipped.twoThetaArray(shape)[::-1] - ref.twoThetaArray()).max()) < 1e-4
    chi_off = (flipped.chiArray(shape)[::-1] - ref.chiArray() + np.pi) % (2 * np.pi) - np.pi
    assert np.degrees(np.abs(chi_off).max()) < 1e-4


def test_gsas2_numbers_written_by_numpy_2_are_read_as_numbers(tmp_path):
    """GSAS-II writes str(value): under numpy 2 a refined value reads `np.float64(20.0)`, whose 64 is no number."""
    plain = "center:[20.0, 30.1]\npixelSize:[172, 172]\ndistance:1000.0\ntilt:0.5\nwavelength:0.62\n"
    (tmp_path / "plain.imctrl").write_text(plain)
    numpy2 = plain.replace("[20.0, 30.1]", "[np.float64(20.0), np.float64(30.1)]")
    numpy2 = numpy2.replace("1000.0", "np.float64(1000.0)").replace("0.5", "numpy.float32(0.5)")
    (tmp_path / "numpy2.imctrl").write_text(numpy2)
    a, b = read_calibration(tmp_path / "plain.imctrl"), read_calibration(tmp_path / "numpy2.imctrl")
    assert (b.centre_x, b.centre_y, b.distance_m, b.tilt_deg) == (a.centre_x, a.centre_y, a.distance_m, a.tilt_deg)
    assert b.tilt_deg == 0.5


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


PONI = (
    "poni_version: 2\nDetector: Detector\n"
    'Detector_config: {"pixel1": 0.0001, "pixel2": 0.0001, "max_shape": [600, 500]}\n'
    "Distance: 0.3\nPoni1: 0.031\nPoni2: 0.025\nRot1: 0.0\nRot2: 0.0\nRot3: 0.0\nWavelength: 7e-11\n"
)
IMCTRL = "center:[10, 20]\npixelSize:[172, 172]\ndistance:100\nwavelength:0.7\n"


def _poni(old: str, new: str) -> tuple[str, str]:
    assert old in PONI
    return "cal.poni", PONI.replace(old, new)


HOSTILE = [  # (file name, text, what the one-line error must say after the file name)
    (*_poni("Distance: 0.3", "Distance: nan"), "Distance nan m is not a physical distance"),
    (*_poni("Distance: 0.3", "Distance: -0.3"), "Distance -0.3 m is not a physical distance"),
    (*_poni("Distance: 0.3", "Distance: 300"), "Distance 300 m is not a physical distance"),  # written in mm
    (*_poni("Distance: 0.3", "Distance: abc"), "Distance 'abc' is not a number"),
    (*_poni("Poni1: 0.031", "Poni1: inf"), "Poni1/Poni2: the beam centre is not a number (inf)"),
    (*_poni("Poni1: 0.031", "Poni1: nan"), "Poni1/Poni2: the beam centre is not a number (nan)"),
    (*_poni("Poni1: 0.031", "Poni1: 1e300"), "Poni1/Poni2: the beam centre 1e+300 m from the detector's corner"),
    (*_poni('{"pixel1": 0.0001, "pixel2": 0.0001, "max_shape": [600, 500]}', "null"), "Detector_config is null"),
    (*_poni("Rot1: 0.0", "Rot1: 45"), "Rot1 45 is not an angle in radians"),
    (*_poni("Rot1: 0.0", "Rot1: 2.0"), "Rot1/Rot2 tilt 114.592 deg tilts the detector 90 degrees or more"),
    (*_poni("Distance: 0.3", "Distance: 80"), "Distance 80 m is not a physical distance"),  # 80 mm meant
    (*_poni('"pixel1": 0.0001', '"pixel1": -0.0001'), "-0.0001 m is not a physical pixel"),
    (*_poni('"pixel1": 0.0001', '"pixel1": 100'), "100 m is not a physical pixel"),
    (*_poni("Wavelength: 7e-11", "Wavelength: 0.7"), "Wavelength 0.7 m is not a physical wavelength"),  # in Å
    (*_poni("Detector: Detector", "Detector: NoSuchCam"), "Detector: 'nosuchcam' is not a detector pyFAI knows"),
    (*_poni('{"pixel1"', '{pixel1"'), "Detector_config is not JSON"),
    (*_poni('{"pixel1": 0.0001', '{"pixel1": "abc"'), "Detector_config pixel1 'abc' is not a number"),
    (*_poni("[600, 500]", "[-5, 1e12]"), "Detector_config max_shape [-5, 1000000000000.0] is not [rows, columns]"),
    (
        *_poni('{"pixel1": 0.0001, "pixel2": 0.0001, "max_shape": [600, 500]}', "[1, 2]"),
        "Detector_config is not a JSON object (list)",
    ),
    (
        *_poni(
            'Detector: Detector\nDetector_config: {"pixel1": 0.0001, "pixel2": 0.0001, "max_shape": [600, 500]}',
            'Detector: NexusDetector\nDetector_config: {"filename": "/no/such/detector.h5"}',
        ),
        "Detector_config names the file '/no/such/detector.h5', which does not exist",
    ),
    ("g.imctrl", IMCTRL.replace("distance:100", "distance:0.1"), "distance 0.1 mm is not a physical distance"),
    ("g.imctrl", IMCTRL.replace("[172, 172]", "[0.172, 0.172]"), "pixelSize 0.172 um is not a physical pixel"),
    ("g.imctrl", IMCTRL.replace("[172, 172]", "[0, 172]"), "GSAS-II 'pixelSize' 0 um is not a pixel size"),
    ("g.imctrl", IMCTRL.replace("[10, 20]", "[nan, 20]"), "center: the beam centre is not a number (nan)"),
    ("g.imctrl", IMCTRL.replace("distance:100", "distance:1.5"), "distance 1.5 mm is not a physical distance"),
    # with a tilt: the file's own number, not the beam path's distance / cos(tilt) that the geometry keeps
    ("g.imctrl", IMCTRL.replace("distance:100", "distance:-300") + "tilt:20\n", "distance -300 mm is not a physical"),
    ("g.imctrl", IMCTRL + "tilt:1.0\nrotation:nan\n", "rotation nan deg is not a number"),
    ("g.imctrl", IMCTRL.replace("distance:100", "distance:abc"), "(GSAS-II 'distance' needs a number, got 'abc')"),
    ("g.imctrl", IMCTRL.replace("0.7", "1e-10"), "wavelength 1e-10 Angstrom is not a physical wavelength"),
    (
        "p.f2d",
        "X-BEAM CENTRE (PIXELS) = 10\nY-BEAM CENTRE (PIXELS) = 20\nX-PIXEL SIZE (MICRONS) = 0\n",
        "X-/Y-PIXEL SIZE 0 um is not a physical pixel",
    ),
    (
        "p.f2d",
        "X-BEAM CENTRE (PIXELS) = 10\nY-BEAM CENTRE (PIXELS) = .\n",
        "Y-BEAM CENTRE (PIXELS) '.' is not a number",
    ),
    (
        "p.f2d",
        "X-BEAM CENTRE = 10\nY-BEAM CENTRE = 20\nSAMPLE TO DETECTOR DISTANCE (mm) = -5\n",
        "SAMPLE TO DETECTOR DISTANCE -5 mm is not a physical distance",
    ),
]


@pytest.mark.parametrize("name,text,message", HOSTILE, ids=[f"{i}-{h[0]}" for i, h in enumerate(HOSTILE)])
def test_hostile_calibrations_are_refused_on_one_line_naming_file_and_field(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        read_calibration(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and message in text, text


@pytest.mark.parametrize("name,data", [("bin.poni", bytes(range(256)) * 4), ("bin.imctrl", b"\xff\xfe" + bytes(500))])
def test_binary_garbage_is_not_a_text_file(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match=rf"^{tmp_path / name}: not a readable \w+ calibration \(not a text file"):
        read_calibration(tmp_path / name)


def test_polar_cli_refuses_a_nan_calibration_instead_of_printing_a_nan_centre(tmp_path, capsys):
    from scatterloop.core.cli import main

    np.save(tmp_path / "frame.npy", np.random.default_rng(0).poisson(5.0, (60, 50)).astype(np.float32))
    (tmp_path / "nan.poni").write_text(PONI.replace("Poni2: 0.025", "Poni2: nan"))
    assert main(["polar", str(tmp_path / "frame.npy"), "--calibration", str(tmp_path / "nan.poni"), "--json"]) == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert "NaN" not in captured.out and len(err) == 1, captured
    said = f"scatterloop polar: {tmp_path / 'nan.poni'}: Poni1/Poni2: the beam centre is not a number"
    assert err[0].startswith(said), err
    assert main(["polar", str(tmp_path / "frame.npy"), "--flip-ud"]) == 2  # a flip of no calibration
    assert "--flip-ud: flips the --calibration file's geometry" in capsys.readouterr().err


def test_gsas2_controls_as_gsas2_writes_them_say_how_to_add_the_pixel_size(tmp_path):
    """GSAS-II's WriteControls saves no pixelSize (the image reader supplies it): say which line to add."""
    (tmp_path / "saved.imctrl").write_text(
        "type:PWDR\ncolor:Paired\nwavelength:0.1839\ncalibrant:CeO2\ndistance:1001.5\ncenter:[204.12, 205.55]\n"
        "Oblique:[0.5, False]\ntilt:0.361\nrotation:-144.33\nazmthOff:0.0\nfullIntegrate:True\nLRazimuth:[0, 360]\n"
        "setdist:1000.0\nIOtth:[1.0, 10.0]\noutChannels:2500\noutAzimuths:1\ninvert_x:False\ninvert_y:True\n"
        "DetDepth:0.0\n"
    )
    with pytest.raises(ValueError, match=r"saved\.imctrl: .*'pixelSize'.*add a line pixelSize:\[x, y\] in microns$"):
        read_calibration(tmp_path / "saved.imctrl")
    with (tmp_path / "saved.imctrl").open("a") as fh:
        fh.write("pixelSize:[200.0, 200.0]\n")
    geo = read_calibration(tmp_path / "saved.imctrl")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((204.12 / 0.2 - 0.5, 205.55 / 0.2 - 0.5))
    assert geo.distance_m == pytest.approx(1.0015 / np.cos(np.radians(0.361)))


@pytest.mark.parametrize(
    "tilt,azimuth", [([0.03, 0.0, 0.0], 90.0), ([0.02, -0.03, 0.1], 90.0), ([-0.05, 0.02, 0.0], 91.5)]
)
def test_hexrd_tilted_panel_gives_its_own_two_theta(tmp_path, tilt, azimuth):
    """A HEXRD panel tilted about any axis (and a beam off the lab's z axis): the tilt's direction is converted
    too, so 2theta of every pixel is the angle between the beam and the sample-to-pixel ray."""
    from scipy.spatial.transform import Rotation

    rows, cols, prow, pcol, t = 120, 100, 0.2, 0.25, [3.0, -4.0, -60.0]
    (tmp_path / "inst.yml").write_text(
        f"beam:\n  energy: 20.0\n  vector: {{azimuth: {azimuth}, polar_angle: 90.0}}\n"
        f"detectors:\n  panel:\n    pixels: {{rows: {rows}, columns: {cols}, size: [{prow}, {pcol}]}}\n"
        f"    transform: {{tilt: {tilt}, translation: {t}}}\n"
    )
    geo = read_calibration(tmp_path / "inst.yml")
    rot = Rotation.from_rotvec(tilt).as_matrix()
    i, j = np.mgrid[0:rows, 0:cols]
    x, y = (j + 0.5) * pcol - cols * pcol / 2, rows * prow / 2 - (i + 0.5) * prow  # HEXRD: rows count down from +y
    ray = np.asarray(t)[:, None, None] + rot[:, 0, None, None] * x + rot[:, 1, None, None] * y
    az, pol = np.radians(azimuth), np.radians(90.0)
    beam = -np.array([np.sin(pol) * np.cos(az), np.cos(pol), np.sin(pol) * np.sin(az)])
    two_theta = np.arccos(np.tensordot(beam, ray, 1) / np.linalg.norm(ray, axis=0))
    mine = geo.integrator().twoThetaArray((rows, cols))
    assert np.degrees(np.abs(mine - two_theta).max()) < 1e-4


@pytest.mark.parametrize("unit,expect", [("\u00b5m", 159.5), ("um", 159.5), ("furlong", None)])
def test_nexus_pixel_size_units_are_converted_or_refused_never_taken_as_metres(tmp_path, unit, expect):
    import h5py

    with h5py.File(tmp_path / "scan.nxs", "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["beam_center_x"] = 12.0
        det["beam_center_x"].attrs["units"] = "mm"
        det["beam_center_y"] = 101.5
        for axis in ("x", "y"):
            det[f"{axis}_pixel_size"] = 75.0
            det[f"{axis}_pixel_size"].attrs["units"] = unit
    if expect is None:
        with pytest.raises(ValueError, match=r"scan\.nxs: y_pixel_size has unknown units 'furlong'"):
            read_calibration(tmp_path / "scan.nxs")
    else:
        geo = read_calibration(tmp_path / "scan.nxs")
        assert geo.pixel_m == pytest.approx((75e-6, 75e-6)) and geo.centre_x == pytest.approx(expect)


def test_a_huge_text_calibration_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from scatterloop.core.geometry import readers

    monkeypatch.setattr(readers, "MAX_TEXT_BYTES", 1000)
    (tmp_path / "big.poni").write_text(PONI + "# padding\n" * 200)
    with pytest.raises(
        ValueError, match=r"big\.poni: 2,\d{3} bytes is too large for a poni calibration file \(at most 1,000\)"
    ):
        read_calibration(tmp_path / "big.poni")
    (tmp_path / "ok.poni").write_text(PONI)
    assert read_calibration(tmp_path / "ok.poni").source == "poni"


@pytest.mark.parametrize(
    "name,orientation,poni_px,rots",
    [
        ("Pilatus1M", 3, (-150.0, 1100.0), (0.04, -0.03, 0.2)),  # beam left of and below the frame
        ("Eiger2_4M", 2, (2300.0, -400.0), (-0.02, 0.05, -0.1)),
        ("Perkin", 4, (1024.0, 1024.0), (0.3, 0.2, 0.0)),  # a 20 deg tilt
        ("Mar345", 1, (3000.0, 3000.0), (0.0, 0.0, 0.0)),
    ],
)
def test_saved_pyfai_geometries_put_the_beam_where_pyfai_has_two_theta_zero(
    tmp_path, name, orientation, poni_px, rots
):
    """Whatever the detector, orientation, tilt and rot3, and wherever the beam lands (off the frame too),
    pyFAI's own 2theta at the centre read back is zero."""
    from pyFAI import detector_factory
    from pyFAI.geometry import Geometry as PyFAIGeometry

    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    det = detector_factory(name, {"orientation": orientation})
    ref = PyFAIGeometry(
        dist=0.15, poni1=poni_px[0] * det.pixel1, poni2=poni_px[1] * det.pixel2, rot1=rots[0], rot2=rots[1],
        rot3=rots[2], detector=det, wavelength=1e-10,
    )  # fmt: skip
    ref.save(str(tmp_path / "g.poni"))
    geo = read_calibration(tmp_path / "g.poni")
    two_theta = ref.tth(np.array([geo.centre_y]), np.array([geo.centre_x]))[0]
    assert abs(two_theta) < 1e-7, (geo.centre_x, geo.centre_y)
    assert geo.tilt_deg == pytest.approx(ref.getFit2D()["tilt"])


@pytest.mark.parametrize(
    "rotation_line",
    ["TILT ROTATION = 45.0", "ROTATION ANGLE OF TILTING PLANE (DEGREES) = 45.0", "tiltPlanRotation: 45.0"],
)
def test_fit2d_tilt_plane_rotation_is_never_read_as_the_tilt(tmp_path, rotation_line):
    """'TILT ROTATION' starts with 'TILT': the longer name wins, whichever line comes first; Fit2D's own label
    for the rotation is read too."""
    (tmp_path / "g.f2d").write_text(
        f"X-BEAM CENTRE = 100\nY-BEAM CENTRE = 120\n{rotation_line}\nANGLE OF TILT (DEGREES) = 0.5\n"
        "SAMPLE TO DETECTOR DISTANCE (MM) = 200\nX-PIXEL SIZE = 100\nY-PIXEL SIZE = 100\nWAVELENGTH = 1.0\n"
    )
    geo = read_calibration(tmp_path / "g.f2d")
    assert (geo.tilt_deg, geo.tilt_plane_deg) == (0.5, 45.0)


def test_an_empty_gsas_field_does_not_swallow_the_next_line(tmp_path):
    """GSAS-II writes `calibrant:` with nothing after it when none was chosen (its tutorial's NCD5.imctrl)."""
    path = tmp_path / "g.imctrl"
    path.write_text("calibrant:\ndistance:400\ncenter:[10, 20]\npixelSize:[200, 200]\nwavelength:0.7\n")
    geo = read_calibration(path)
    assert geo.distance_m == pytest.approx(0.4)
    path.write_text("calibrant:\ncenter:[10, 20]\npixelSize:[200, 200]\n")
    assert read_calibration(path).centre_x == pytest.approx(10 / 0.2 - 0.5)


@pytest.mark.parametrize(
    "text",
    [
        "X-BEAM CENTRE (PIXELS)\n1024.5\nY-BEAM CENTRE (PIXELS)\n800.5\nSAMPLE TO DETECTOR DISTANCE (MM)\n200\n"
        "ANGLE OF DETECTOR TILT IN PLANE (DEGREES)\n1.5\nROTATION ANGLE OF TILTING PLANE (DEGREES)\n30\n",
        "X-BEAM CENTRE = 1024,5\nY-BEAM CENTRE = 800.5\nSAMPLE TO DETECTOR DISTANCE = 200\n"
        "ANGLE OF DETECTOR TILT IN PLANE (DEGREES) = 1.5\nTILT ROTATION = 30\n",
    ],
    ids=["macro-lines", "decimal-comma"],
)
def test_fit2d_parameters_in_fit2ds_other_forms(tmp_path, text):
    path = tmp_path / "p.f2d"
    path.write_text(text)
    geo = read_calibration(path)
    assert (geo.centre_x, geo.centre_y, geo.distance_m) == (1024.0, 800.0, pytest.approx(0.2))
    assert (geo.tilt_deg, geo.tilt_plane_deg) == (1.5, 30.0)


def test_a_fit2d_number_with_a_thousands_separator_is_refused_not_cut(tmp_path):
    path = tmp_path / "p.f2d"
    path.write_text("X-BEAM CENTRE = 1,024.5\nY-BEAM CENTRE = 800\n")
    with pytest.raises(ValueError, match=r"X-BEAM CENTRE '1,024.5' is not a number"):
        read_calibration(path)


@pytest.mark.parametrize("name,orientation", [("Jungfrau", 3), ("Jungfrau", 1), ("imxpad_s70", 3)])
def test_a_detector_with_wider_pixels_between_chips_gets_pyfais_beam_pixel(tmp_path, name, orientation):
    """JUNGFRAU and imXPAD pixels are no uniform grid: the PONI divided by the pixel size was 4-15 px off."""
    import pyFAI
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    det = pyFAI.detector_factory(name, config={"orientation": orientation})
    p1, p2, _ = det.calc_cartesian_positions()
    ai = AzimuthalIntegrator(dist=0.1, poni1=0.4 * np.abs(p1).max(), poni2=0.7 * np.abs(p2).max(), rot1=0.05,
                             rot2=0.03, detector=det, wavelength=1e-10)  # fmt: skip
    ai.save(str(tmp_path / "m.poni"))
    tth = ai.center_array(det.shape, unit="2th_rad")
    row, col = np.unravel_index(np.argmin(tth), tth.shape)
    geo = read_calibration(tmp_path / "m.poni")
    assert (round(geo.centre_x), round(geo.centre_y)) == (col, row)
    t2 = tth[row, col - 1 : col + 2] ** 2  # sub-pixel: 2theta^2 is quadratic about the beam
    assert geo.centre_x == pytest.approx(col + 0.5 * (t2[0] - t2[2]) / (t2[0] - 2 * t2[1] + t2[2]), abs=0.05)


def test_pyfais_integration_settings_json_gives_its_geometry(tmp_path):
    """pyFAI-integrate and its worker save their settings as JSON, the geometry nested under `poni` (version 4+)."""
    import json

    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator
    from pyFAI.worker import Worker

    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    det = Detector(pixel1=172e-6, pixel2=172e-6, max_shape=(300, 200))
    ai = AzimuthalIntegrator(dist=0.15, poni1=120.5 * 172e-6, poni2=60.5 * 172e-6, detector=det, wavelength=1e-10)
    (tmp_path / "integrate.json").write_text(json.dumps(Worker(ai, shapeOut=(36, 50)).get_config(), default=str))
    geo = read_calibration(tmp_path / "integrate.json")
    assert (geo.centre_x, geo.centre_y) == (pytest.approx(60.0), pytest.approx(120.0))
    assert geo.distance_m == pytest.approx(0.15)
    (tmp_path / "other.json").write_text('{"poni1_note": 1, "unit": "q_nm^-1"}')
    with pytest.raises(ValueError, match=r"other\.json: JSON without a pyFAI geometry"):
        read_calibration(tmp_path / "other.json")


def test_a_poni_rotation_of_a_quarter_turn_or_more_is_doubted_not_refused(tmp_path):
    """`Rot1: 6` is 6 degrees written as radians more likely than -0.28 rad; but a refinement may land on an
    equivalent set of large rotations (Rot1 -3.13159, Rot2 3.12159, Rot3 pi gives pyFAI's 2theta of 0.01, 0.02, 0)."""
    import numpy as np

    from scatterloop.core.polar import analyse

    path = tmp_path / "six.poni"
    path.write_text(PONI.replace("Rot1: 0.0", "Rot1: 6"))
    assert "check: Rot1 6 rad turn the detector a quarter turn" in read_calibration(path).notes[0]
    frame = np.ones((600, 500), np.float32)
    assert any(w.startswith("check: Rot1 6 rad") for w in analyse(frame, calibration=path).warnings)
    path.write_text(PONI.replace("Rot1: 0.0\nRot2: 0.0\nRot3: 0.0", "Rot1: -3.13159\nRot2: 3.12159\nRot3: 3.14159"))
    same = tmp_path / "same.poni"
    same.write_text(PONI.replace("Rot1: 0.0\nRot2: 0.0", "Rot1: 0.01\nRot2: 0.02"))
    a, b = read_calibration(path), read_calibration(same)
    assert (a.centre_x, a.centre_y) == (pytest.approx(b.centre_x, abs=0.05), pytest.approx(b.centre_y, abs=0.05))


def test_a_poni_distance_is_judged_and_named_as_the_file_gives_it(tmp_path):
    path = tmp_path / "steep.poni"  # 0.5 m to the point of normal incidence, 57 m to the beam point
    path.write_text(PONI.replace("Rot2: 0.0", "Rot2: 1.5621").replace("Distance: 0.3", "Distance: 0.5"))
    assert read_calibration(path).distance_m > 50
    path.write_text(PONI.replace("Distance: 0.3", "Distance: 80"))
    with pytest.raises(ValueError, match=r"Distance 80 m is not a physical distance"):
        read_calibration(path)
