"""Hostile and unusual inputs found by a fuzzing review (2026-12-07): a failure is one line naming the file, with
no traceback in the terminal, and a file named as one format is not read as another."""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest

from scatterloop.core import cli
from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.workspace import Workspace


def _rings(shape=(160, 170), centre=(80.0, 75.0)) -> np.ndarray:
    yy, xx = np.indices(shape)
    r = np.hypot(xx - centre[0], yy - centre[1])
    expected = 5 + 200 * np.exp(-0.5 * ((r - 35) / 1.5) ** 2) + 200 * np.exp(-0.5 * ((r - 60) / 1.5) ** 2)
    return np.random.default_rng(0).poisson(expected).astype(np.uint16)


TOO_LARGE = "Unable to allocate 381. MiB for an array with shape (10000, 10000) and data type float32"


def _lines(text: str) -> list[str]:
    """stderr without the progress bar's carriage-return updates."""
    return [line for line in text.replace("\r", "\n").splitlines() if line.strip() and "it/s" not in line]


def test_zero_bytes_named_as_a_detector_format_are_refused_not_read_as_a_ge_stack(tmp_path):
    """fabio takes any file beginning with ten zero bytes for a GE detector's raw stack: 8 MB of zeros named
    `.cbf` imported as a 2048 x 2048 frame, and zeros named `.edf` failed as "GE file size is incorrect"."""
    (tmp_path / "zeros.cbf").write_bytes(b"\0" * (8192 + 2048 * 2048 * 2))
    (tmp_path / "zeros.edf").write_bytes(b"\0" * 70_000)
    with gzip.open(tmp_path / "zeros.cbf.gz", "wb") as fh:
        fh.write(b"\0" * (8192 + 512 * 512 * 2))
    ge = tmp_path / "stack.ge2"  # a real GE name: fabio's reading stands (a blank 8192-byte header, one frame)
    ge.write_bytes(b"\0" * 8192 + np.arange(2048 * 2048, dtype=np.uint16).tobytes())
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [tmp_path / n for n in ("zeros.cbf", "zeros.edf", "zeros.cbf.gz", "stack.ge2")])
    errors = {f.path.split("/")[-1]: f.error for f in summary.files if f.error}
    assert errors == {
        "zeros.cbf": "no CBF header: the file begins with zero bytes",
        "zeros.edf": "no EDF header: the file begins with zero bytes",
        "zeros.cbf.gz": "no CBF header: the file begins with zero bytes",
    }
    assert summary.imported == 1


def test_an_internal_failure_or_exhausted_memory_is_one_line_without_a_traceback(tmp_path, monkeypatch, capsys):
    """A reader bug or a MemoryError (a frame too large for the machine) printed a 27-line traceback between the
    progress bar and the summary, even with --quiet; the log of a server job keeps the traceback."""
    from scatterloop.core import ingest

    for name in ("a.npy", "b.npy", "c.npy"):
        np.save(tmp_path / name, _rings())
    real = ingest._check_file

    def flaky(ws, cand, dataset):
        if cand.path.name == "a.npy":
            raise MemoryError(TOO_LARGE)
        if cand.path.name == "b.npy":
            raise KeyError("frame_meta")  # a reader bug
        return real(ws, cand, dataset)

    monkeypatch.setattr(ingest, "_check_file", flaky)
    for quiet in ([], ["--quiet"]):
        rc = cli.main(["import", "--workspace", str(tmp_path / f"ws{len(quiet)}"), *quiet, str(tmp_path)])
        err = capsys.readouterr().err
        assert rc == 2
        assert "Traceback" not in err
        lines = _lines(err)
        assert [line for line in lines if line.startswith(str(tmp_path / "a.npy"))] == [
            f"{tmp_path / 'a.npy'}: not enough memory to import it: {TOO_LARGE}"
        ]
        assert [line for line in lines if "b.npy" in line] == [
            f"{tmp_path / 'b.npy'}: internal error while importing this file (KeyError: 'frame_meta')"
        ]
    ws = Workspace.open(Settings(workspace=tmp_path / "ws0"))
    assert [img.original_name.split("/")[-1] for img, _ in ws.store.list_images()] == ["c.npy"]  # the rest went on


@pytest.mark.parametrize("kind", ["external", "virtual"])
def test_polar_reads_a_frame_kept_in_another_hdf5_file_as_import_does(tmp_path, capsys, kind):
    """An Eiger master file keeps its frames in data files behind external links; `polar` refused it
    ("external link to ...") where `import` reads it."""
    with h5py.File(tmp_path / "data_000001.h5", "w") as f:
        f["data"] = _rings()[None]
    with h5py.File(tmp_path / "master.h5", "w") as f:
        if kind == "external":
            f["entry/data/data_000001"] = h5py.ExternalLink("data_000001.h5", "/data")
        else:
            layout = h5py.VirtualLayout(shape=(1, 160, 170), dtype=np.uint16)
            layout[0] = h5py.VirtualSource("data_000001.h5", "data", shape=(1, 160, 170))[0]
            f.create_virtual_dataset("entry/data/data", layout)
    assert cli.main(["polar", str(tmp_path / "master.h5"), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    import json

    res = json.loads(out)
    assert res["status"] == "found"
    assert res["centre_x"] == pytest.approx(80.0, abs=0.5) and res["centre_y"] == pytest.approx(75.0, abs=0.5)


def test_calibration_and_folder_inputs_are_named_as_what_they_are(tmp_path, capsys):
    """A folder given as the calibration was "no such calibration file"; a HEXRD file whose `detectors` is a number
    failed as "'int' object is not subscriptable"; a folder named for import that holds no image was a silent
    success; a symlink loop in a folder walk was a "broken symlink"."""
    np.save(tmp_path / "frame.npy", _rings())
    (tmp_path / "cal.poni").mkdir()
    (tmp_path / "bad.yml").write_text("detectors: 5\n")
    (tmp_path / "short.yml").write_text(
        "detectors:\n  a:\n    pixels: {rows: 10, columns: 10, size: 3}\n    transform: {translation: [0, 0, -1]}\n"
    )
    for cal, said in (
        ("cal.poni", "not a regular file (a folder)"),
        ("bad.yml", "HEXRD 'detectors' must map detector names to panels, not int"),
        ("short.yml", "HEXRD detector 'a' needs pixels (rows, columns, size [row, column])"),
    ):
        assert cli.main(["polar", str(tmp_path / "frame.npy"), "--calibration", str(tmp_path / cal)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"scatterloop polar: {tmp_path / cal}: {said}") and "\n" not in err
    (tmp_path / "empty.tif").mkdir()
    (tmp_path / "walk").mkdir()
    (tmp_path / "walk" / "a.tif").symlink_to("b.tif")
    (tmp_path / "walk" / "b.tif").symlink_to("a.tif")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [tmp_path / "empty.tif", tmp_path / "walk", tmp_path / "frame.npy"])
    assert {f.path.split("/")[-1]: f.error for f in summary.files if f.error} == {
        "empty.tif": "a folder with no image files or manifest in it",
        "a.tif": "symlink loop",
        "b.tif": "symlink loop",
    }
    assert summary.imported == 1
