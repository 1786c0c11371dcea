"""`scatterloop polar` on bad input: one line naming the file, the import's size limit, no traceback, and no
library warnings on stderr."""

from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest
import tifffile

from scatterloop.core.cli import main
from scatterloop.core.geometry.readers import read_calibration
from scatterloop.core.geometry.sectors import sector_agreement


@pytest.fixture
def image(tmp_path):
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(yy - 30, xx - 33)
    path = tmp_path / "rings.tif"
    tifffile.imwrite(path, (50 + 500 * np.exp(-((r - 15) ** 2) / 6)).astype(np.uint16))
    return path


def _err(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_read_errors_name_the_file(tmp_path, capsys):
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "text.tif").write_text("not a tiff")
    for path, reason in (
        (tmp_path / "empty.tif", "empty file"),
        (tmp_path / "text.tif", "cannot read as TIF: not a TIFF file"),
        (tmp_path / "missing.tif", "no such file"),
        (tmp_path, "not a regular file"),
    ):
        assert main(["polar", str(path), "--json"]) == 2
        err = _err(capsys)
        assert len(err) == 1 and err[0].startswith(f"scatterloop polar: {path}: {reason}"), err


@pytest.mark.parametrize("shape", [(1, 600), (10, 600), (700, 1)])
def test_a_strip_too_thin_for_a_ring_gets_no_centre_and_says_why(tmp_path, capsys, shape):
    """A one-row strip (a line detector, a cut) made the shadow search divide by zero: now the search refuses it
    with its size, and the command still prints its JSON."""
    path = tmp_path / "strip.tif"
    tifffile.imwrite(path, np.random.default_rng(0).poisson(3, shape).astype(np.int32))
    assert main(["polar", str(path), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["status"] == "no centre"
    assert f"{shape[0]}x{shape[1]} pixels: too thin to hold a ring" in out["reason"]


def test_the_size_limit_holds(image, capsys, monkeypatch):
    assert main(["polar", str(image), "--max-pixels", "1000", "--json"]) == 2
    assert _err(capsys) == [f"scatterloop polar: {image}: 64x64 frame exceeds the size limit of 1000 pixels"]
    monkeypatch.setenv("SCATTERLOOP_MAX_PIXELS", "4000")
    assert main(["polar", str(image), "--json"]) == 2
    assert "exceeds the size limit of 4000 pixels" in _err(capsys)[0]


def test_unreadable_calibrations_are_one_line_naming_the_file(tmp_path, image, capsys):
    (tmp_path / "broken.yml").write_text("detectors: [\n  : : :\n")
    (tmp_path / "keys.yml").write_text("detectors:\n  d1:\n    pixels: {rows: 10}\n")
    (tmp_path / "scalar.yml").write_text("just a string\n")
    (tmp_path / "short.imctrl").write_text("center: [1.0]\npixelSize: [172]\n")
    (tmp_path / "trunc.nxs").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    with h5py.File(tmp_path / "empty.nxs", "w") as f:
        g = f.create_group("entry/det")
        g.attrs["NX_class"] = "NXdetector"
        g.create_dataset("beam_center_x", shape=(0,), dtype="f4")
        g["beam_center_y"] = 3.0
    for name in ("broken.yml", "keys.yml", "scalar.yml", "short.imctrl", "trunc.nxs", "empty.nxs"):
        path = tmp_path / name
        with pytest.raises(ValueError, match=rf"^{path}: not a readable \w+ calibration \(.+\)$"):
            read_calibration(path)
        assert main(["polar", str(image), "--calibration", str(path), "--json"]) == 2
        err = _err(capsys)
        assert len(err) == 1 and err[0].startswith(f"scatterloop polar: {path}: not a readable"), err


def test_all_nan_sectors_raise_no_warning():
    polar = np.full((48, 32), np.nan)
    polar[:2] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sector_agreement(polar) == -1.0
