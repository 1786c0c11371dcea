"""Geometry: calibration files of every format written here and read back, pyFAI agreement, the Dioptas flip
check, pickles refused, I(q) and cakes through pyFAI, and the centre search on every simulated detector type."""

from __future__ import annotations

import json
import pickle

import h5py
import numpy as np
import pytest

from scatterloop.core.cli import main
from scatterloop.core.geometry import search_centre
from scatterloop.core.geometry.integrate import cake, integrate_q
from scatterloop.core.geometry.readers import read_calibration
from scatterloop.core.polar import analyse, read_poni
from scatterloop.core.simulate import frame_record
from scatterloop.core.simulate.detectors import DETECTOR_TYPES, detector_frame

PONI_V1 = """# pyFAI poni version 1
PixelSize1: 0.000172
PixelSize2: 0.000172
Distance: 0.25
Poni1: 0.021
Poni2: 0.034
Rot1: 0.012
Rot2: -0.008
Rot3: 0.0
Wavelength: 1e-10
"""
PONI_V2 = """poni_version: 2
Detector: Detector
Detector_config: {"pixel1": 0.0001, "pixel2": 0.00012, "max_shape": [600, 500]}
Distance: 0.3
Poni1: 0.031
Poni2: 0.025
Rot1: -0.01
Rot2: 0.02
Rot3: 0.0
Wavelength: 7e-11
"""
PONI_V21 = PONI_V2.replace("poni_version: 2", "poni_version: 2.1").replace(
    '"max_shape": [600, 500]}', '"max_shape": [600, 500], "orientation": 3}'
)


@pytest.mark.parametrize("text", [PONI_V1, PONI_V2, PONI_V21], ids=["v1", "v2", "v2.1"])
def test_poni_versions_agree_with_pyfai(tmp_path, text):
    import pyFAI

    path = tmp_path / "cal.poni"
    path.write_text(text)
    f2d = pyFAI.load(str(path)).getFit2D()
    cx, cy = read_poni(path)
    assert cx == pytest.approx(f2d["centerX"] - 0.5, abs=1e-6)
    assert cy == pytest.approx(f2d["centerY"] - 0.5, abs=1e-6)
    geo = read_calibration(path)
    assert geo.distance_m == pytest.approx(f2d["directDist"] * 1e-3, rel=1e-9)
    again = geo.integrator().getFit2D()  # the Geometry rebuilds the same pyFAI geometry
    assert again["centerX"] == pytest.approx(f2d["centerX"], abs=1e-6)
    assert again["tilt"] == pytest.approx(f2d["tilt"], abs=1e-6)


def test_poni_orientation_4_counts_columns_from_the_right(tmp_path):
    path = tmp_path / "o4.poni"
    path.write_text(PONI_V21.replace('"orientation": 3', '"orientation": 4'))
    ref = read_calibration(tmp_path.joinpath("o3.poni").write_text(PONI_V21) and tmp_path / "o3.poni")
    geo = read_calibration(path)
    assert geo.centre_x == pytest.approx(500 - 1 - ref.centre_x)  # pyFAI's orientation 4 reverses d2 (columns)
    assert geo.centre_y == pytest.approx(ref.centre_y)


def test_imctrl_fit2d_hexrd_nexus_centres(tmp_path):
    (tmp_path / "a.imctrl").write_text(
        "type:PWDR\nwavelength:0.62\ndistance:1000.0\ncenter:[ 20.0  30.1]\npixelSize:[172.0, 172.0]\n"
        "tilt:0.0\nrotation:0.0\n"
    )
    geo = read_calibration(tmp_path / "a.imctrl")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((20.0 / 0.172 - 0.5, 30.1 / 0.172 - 0.5))
    assert geo.wavelength_m == pytest.approx(0.62e-10)

    (tmp_path / "f2d.txt").write_text(
        "X-BEAM CENTRE (PIXELS) = 512.25\nY-BEAM CENTRE (PIXELS) = 498.75\nSAMPLE TO DETECTOR DISTANCE (mm) = 200.0\n"
        "X-PIXEL SIZE (MICRONS) = 100.0\nY-PIXEL SIZE (MICRONS) = 100.0\nWAVELENGTH (ANGSTROMS) = 0.8\n"
    )
    geo = read_calibration(tmp_path / "f2d.txt")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((511.75, 498.25))
    assert geo.integrator().getFit2D()["centerX"] == pytest.approx(512.25, abs=1e-6)

    (tmp_path / "inst.yml").write_text(
        "beam:\n  energy: 61.3\n  vector: {azimuth: 90.0, polar_angle: 90.0}\n"
        "detectors:\n  panel:\n    pixels: {rows: 400, columns: 300, size: [0.2, 0.2]}\n"
        "    transform: {tilt: [0.0, 0.0, 0.0], translation: [-3.0, 4.0, -500.0]}\n"
    )
    geo = read_calibration(tmp_path / "inst.yml")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((3.0 / 0.2 + 150 - 0.5, 200 - (-4.0) / 0.2 - 0.5))
    assert geo.distance_m == pytest.approx(0.5)

    with h5py.File(tmp_path / "scan.nxs", "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["beam_center_x"] = 12.0
        det["beam_center_x"].attrs["units"] = "mm"
        det["beam_center_y"] = 101.5
        det["beam_center_y"].attrs["units"] = "pixel"
        det["x_pixel_size"] = 75e-6
        det["x_pixel_size"].attrs["units"] = "m"
        det["y_pixel_size"] = 75e-6
        det["y_pixel_size"].attrs["units"] = "m"
    geo = read_calibration(tmp_path / "scan.nxs")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((159.5, 101.0))


def test_real_hexrd_instrument_matches_manifest(realdata, manifest):
    entry = next(e for e in manifest if e["file"].endswith("ceria_50x30_740mm_000005_Pilatus2M.hdf5"))
    geo = read_calibration(realdata / "calibration/HEXRD-examples/Pilatus2M_CeO2_Yb_edge.hexrd")
    assert (geo.centre_x, geo.centre_y) == pytest.approx((entry["centre_x"], entry["centre_y"]), abs=0.05)


def test_pickles_are_refused_by_name_and_content(tmp_path):
    (tmp_path / "geo.pkl").write_bytes(pickle.dumps({"centre": (1, 2)}))
    with pytest.raises(ValueError, match="unpickle"):
        read_calibration(tmp_path / "geo.pkl")
    (tmp_path / "geo.poni").write_bytes(pickle.dumps({"centre": (1, 2)}))
    with pytest.raises(ValueError, match="pickle"):
        read_calibration(tmp_path / "geo.poni")


def _ring_frame():
    arr, row = frame_record("rings", 5, 0, 256, None)
    return arr, row["params"]


def test_dioptas_flip_warns_and_flip_ud_fixes(tmp_path):
    arr, p = _ring_frame()
    h = arr.shape[0]
    flipped_y = h - 1 - p["centre_y"]
    (tmp_path / "dioptas.poni").write_text(
        "poni_version: 2\nDetector: Detector\n"
        f"Detector_config: {json.dumps({'pixel1': p['pixel_m'], 'pixel2': p['pixel_m']})}\n"
        f"Distance: {p['distance_m']}\nPoni1: {(flipped_y + 0.5) * p['pixel_m']}\n"
        f"Poni2: {(p['centre_x'] + 0.5) * p['pixel_m']}\n"
        "Rot1: 0\nRot2: 0\nRot3: 0\nWavelength: 1e-10\n"
    )
    res = analyse(arr, calibration=tmp_path / "dioptas.poni")
    assert res.warnings and "flip" in res.warnings[0]
    res = analyse(arr, calibration=tmp_path / "dioptas.poni", flip_ud=True)
    assert not res.warnings
    assert (res.centre_x, res.centre_y) == pytest.approx((p["centre_x"], p["centre_y"]), abs=1e-6)


def test_integrate_q_peaks_at_the_first_ring_and_cake_shape(tmp_path):
    arr, p = _ring_frame()
    wl = 12.398419843320026 / p["energy_kev"] * 1e-10
    (tmp_path / "sim.f2d").write_text(
        f"X-BEAM CENTRE = {p['centre_x'] + 0.5}\nY-BEAM CENTRE = {p['centre_y'] + 0.5}\n"
        f"DISTANCE = {p['distance_m'] * 1e3}\nX-PIXEL SIZE = {p['pixel_m'] * 1e6}\n"
        f"Y-PIXEL SIZE = {p['pixel_m'] * 1e6}\n"
        f"WAVELENGTH = {wl * 1e10}\n"
    )
    geo = read_calibration(tmp_path / "sim.f2d")
    q, i = integrate_q(arr, geo, npt=400)
    two_theta = np.arctan(p["ring_radii_px"][0] * p["pixel_m"] / p["distance_m"])
    q1 = 4 * np.pi * np.sin(two_theta / 2) / (wl * 1e10)
    near = np.abs(q - q1) < 0.15 * q1
    assert abs(q[near][np.nanargmax(i[near])] - q1) < 0.02 * q1
    img, qq, chi = cake(arr, geo, npt_q=100, npt_chi=36)
    assert img.shape == (36, 100) and qq.shape == (100,) and chi.shape == (36,)


@pytest.mark.parametrize("kind", DETECTOR_TYPES)
def test_centre_on_every_detector_type(kind):
    f = detector_frame(kind, np.random.default_rng([11, 0]))
    res = search_centre(f.counts)
    err = np.hypot(res.x - f.centre[0], res.y - f.centre[1])
    assert 0.0 <= res.confidence <= 1.0
    if f.expect == "centre":
        assert res.status == "found" and err <= 1.5, (res, f.centre)
    elif f.expect == "centre_or_none":
        assert res.status == "no centre" or err <= 5.0
    else:
        assert res.status == "no centre" and res.reason


def test_rings_in_under_a_count_per_pixel_are_searched_and_a_dark_frame_still_says_so():
    for seed in (3, 4):
        f = detector_frame("few_counts_rings", np.random.default_rng([seed, 0]))
        valid = f.counts[f.counts >= 0]
        assert valid.mean() < 1.0 and np.percentile(valid, 99.9) < 10  # what the search calls a dark frame
        res = search_centre(f.counts)
        assert res.status == "found" and np.hypot(res.x - f.centre[0], res.y - f.centre[1]) <= 1.0, res
    dark = search_centre(detector_frame("dark", np.random.default_rng([3, 0])).counts)
    assert dark.status == "no centre" and dark.reason.startswith("dark frame: ")
    empty = search_centre(np.zeros((64, 64), np.int32))
    assert empty.status == "no centre" and "dark frame" in empty.reason


def test_polar_cli_reports_no_centre_and_reads_imctrl(tmp_path, capsys):
    dark = np.random.default_rng(0).poisson(0.2, (128, 128)).astype(np.int32)
    np.save(tmp_path / "dark.npy", dark)
    assert main(["polar", str(tmp_path / "dark.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["status"] == "no centre" and out["centre_x"] is None and out["reason"]
    (tmp_path / "c.imctrl").write_text("center:[ 11.0  12.0]\npixelSize:[100.0, 100.0]\ndistance:100\n")
    assert main(["polar", str(tmp_path / "dark.npy"), "--calibration", str(tmp_path / "c.imctrl"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["source"] == "imctrl" and out["centre_x"] == pytest.approx(109.5)


def test_pyfai_getfit2d_text_keeps_its_tilt_and_a_poni_names_its_missing_field(tmp_path):
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    ai = AzimuthalIntegrator(dist=0.2, poni1=0.013, poni2=0.003, rot1=0.03, rot2=-0.04, pixel1=1e-4, pixel2=1e-4)
    f2d = ai.getFit2D()
    (tmp_path / "fit2d.txt").write_text("".join(f"{k} = {v}\n" for k, v in f2d.items()))  # pyFAI's names
    geo = read_calibration(tmp_path / "fit2d.txt", "fit2d")
    assert geo.tilt_deg == pytest.approx(f2d["tilt"]) and f2d["tilt"] > 1.0
    assert geo.tilt_plane_deg == pytest.approx(f2d["tiltPlanRotation"])  # not the tilt read twice
    assert (geo.centre_x, geo.centre_y) == pytest.approx((f2d["centerX"] - 0.5, f2d["centerY"] - 0.5))

    (tmp_path / "cut.poni").write_text(
        "PixelSize1: 0.0001\nPixelSize2: 0.0001\nDistance: 0.2\nPoni1: 0.009\nRot1: 0\nRot2: 0\nRot3: 0\n"
    )
    with pytest.raises(ValueError, match=r"cut\.poni: no Poni2 in this \.poni$"):
        read_calibration(tmp_path / "cut.poni")


def test_polar_warns_when_the_calibration_is_for_another_detector_or_its_orientation_cannot_apply(tmp_path):
    data = np.random.default_rng(0).poisson(5, (200, 240)).astype(np.int32)
    head = (
        "poni_version: 2.1\nDistance: 0.2\nPoni1: 0.009\nPoni2: 0.013\nRot1: 0\nRot2: 0\nRot3: 0\nWavelength: 1e-10\n"
    )
    (tmp_path / "big.poni").write_text(
        head + 'Detector: Detector\nDetector_config: {"pixel1": 1e-4, "pixel2": 1e-4, "max_shape": [1043, 981], '
        '"orientation": 3}\n'
    )
    res = analyse(data, calibration=tmp_path / "big.poni")
    assert any("big.poni is for a 1043x981 detector, this image is 200x240" in w for w in res.warnings), res.warnings
    (tmp_path / "o2.poni").write_text(
        head + 'Detector: Detector\nDetector_config: {"pixel1": 1e-4, "pixel2": 1e-4, "orientation": 2}\n'
    )
    res = analyse(data, calibration=tmp_path / "o2.poni")
    assert any("orientation 2 not applied" in w for w in res.warnings), res.warnings
