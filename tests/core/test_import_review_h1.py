"""What an import and polar review of 2026-12-08 found said only on stderr, said with a temporary file's name, or
not said at all: a series read up to a missing part, a frame number out of range on a master, a `--dataset` given
for a TIFF, a detector mask of the wrong shape, an H x W x 3 array refused without a hint."""

from __future__ import annotations

import json
import logging

import h5py
import numpy as np
import pytest
import tifffile

from scatterloop.core.cli import main
from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.workspace import Workspace


def _frames(n: int, seed: int = 0, shape=(48, 40)) -> np.ndarray:
    return np.random.default_rng(seed).poisson(20, (n, *shape)).astype(np.int32)


def _series(folder, write=(1,)):
    """An Eiger master linking two data files of 3 frames; only those in `write` exist."""
    folder.mkdir()
    for k in write:
        with h5py.File(folder / f"s_data_{k:06d}.h5", "w") as f:
            f["entry/data/data"] = _frames(3, k)
    with h5py.File(folder / "s_master.h5", "w") as f:
        for k in (1, 2):
            f[f"entry/data/data_{k:06d}"] = h5py.ExternalLink(f"s_data_{k:06d}.h5", "/entry/data/data")


def test_a_series_read_up_to_a_missing_part_is_said_once_in_the_json_naming_the_file_given(tmp_path, caplog):
    _series(tmp_path / "scan")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        with caplog.at_level(logging.WARNING):
            summary = import_paths(ws, [tmp_path / "scan" / "s_master.h5"])
        assert summary.imported == 3 and not summary.failed
        shown = str(tmp_path / "scan" / "s_master.h5")
        assert len(summary.warnings) == 1 and summary.warnings[0].startswith(f"{shown}: "), summary.warnings
        assert "s_data_000002.h5 not found; the series is read up to data_000001" in summary.warnings[0]
        logged = [r.getMessage() for r in caplog.records if "read up to" in r.getMessage()]
        assert logged == summary.warnings  # one line, never the workspace's temporary copy
        assert ".tmp" not in " ".join(logged)
    finally:
        ws.store.dispose()


def test_polar_names_the_frames_a_master_holds_and_never_its_temporary_copy(tmp_path, capsys):
    _series(tmp_path / "scan", write=(1, 2))
    master = tmp_path / "scan" / "s_master.h5"
    for frame, said in (("6", "no frame 6 (it holds 6, numbered 0 to 5)"), ("-1", "no frame -1 (frames are numbered")):
        assert main(["polar", str(master), "--frame", frame, "--json"]) == 2
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["error"].startswith(f"{master}: {said}"), out
        assert "scatterloop-polar-" not in out["error"]


def test_an_option_or_a_mask_that_cannot_apply_is_said(tmp_path, capsys, caplog):
    tifffile.imwrite(tmp_path / "one.tif", _frames(1)[0])
    assert main(["polar", str(tmp_path / "one.tif"), "--dataset", "/entry/data", "--json"]) == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["error"] == f"--dataset: names an HDF5 dataset, and {tmp_path / 'one.tif'} holds none"

    with h5py.File(tmp_path / "t.nxs", "w") as f:
        f["entry/instrument/detector/data"] = _frames(1, 3)
        f["entry/instrument/detector/pixel_mask"] = np.zeros((40, 48), np.uint32)  # transposed
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        summary = import_paths(ws, [tmp_path / "t.nxs"])
        assert summary.imported == 1 and summary.warnings == [
            f"{tmp_path / 't.nxs'}: /entry/instrument/detector/pixel_mask of shape 40x48 is not one mask of its "
            "48x40 frames: not taken for a pixel mask"
        ]
        np.save(tmp_path / "rgb.npy", np.zeros((64, 64, 3), np.uint16))
        summary = import_paths(ws, [tmp_path / "rgb.npy"])
        assert summary.failed == 1 and "an H x W x 3 array reads as H frames of W x 3" in summary.errors[0]
    finally:
        ws.store.dispose()


def test_a_wide_frame_gets_no_axis_hint(tmp_path):
    from scatterloop.core.io import read_frames
    from scatterloop.core.io_safety import ImageReadError

    np.save(tmp_path / "strip.npy", np.ones((3, 300), np.uint16))
    with pytest.raises(ImageReadError) as err:
        list(read_frames(tmp_path / "strip.npy"))
    assert str(err.value) == "frame 0: 3x300 is smaller than the minimum side of 8 pixels"


def test_imports_in_threads_each_keep_their_own_files_warnings_and_each_import_says_them(tmp_path):
    """Review rev11: the capture took every thread's warnings (18 of 50 named another import's file), and a mask
    warning said by one import was not said by the next."""
    import threading

    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        for k in range(4):
            _series(tmp_path / side / f"scan{k}")
    out = {}

    def run(side):
        ws = Workspace.open(Settings(workspace=tmp_path / f"ws_{side}"))
        try:
            out[side] = import_paths(ws, [tmp_path / side]).warnings
        finally:
            ws.store.dispose()

    threads = [threading.Thread(target=run, args=(side,)) for side in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for side in ("a", "b"):
        assert len(out[side]) == 4 and all(w.startswith(str(tmp_path / side)) for w in out[side]), out

    with h5py.File(tmp_path / "t.nxs", "w") as f:
        f["entry/instrument/detector/data"] = _frames(1, 3)
        f["entry/instrument/detector/pixel_mask"] = np.zeros((40, 48), np.uint32)  # transposed
    for side in ("c", "d"):  # the same file into two workspaces in one process: both imports say it
        ws = Workspace.open(Settings(workspace=tmp_path / f"ws_{side}"))
        try:
            assert len(import_paths(ws, [tmp_path / "t.nxs"]).warnings) == 1
        finally:
            ws.store.dispose()


def test_polar_says_why_a_series_holds_fewer_frames_and_puts_reader_warnings_in_its_json(tmp_path, capsys):
    _series(tmp_path / "scan")  # data_000002 missing
    master = tmp_path / "scan" / "s_master.h5"
    assert main(["polar", str(master), "--frame", "4", "--json"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert error.startswith(f"{master}: no frame 4 (it holds 3, numbered 0 to 2) (external link target")
    assert "the series is read up to data_000001" in error
    with h5py.File(tmp_path / "t.nxs", "w") as f:
        f["entry/instrument/detector/data"] = _frames(1, 3)
        f["entry/instrument/detector/pixel_mask"] = np.zeros((40, 48), np.uint32)  # transposed
    assert main(["polar", str(tmp_path / "t.nxs"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("is not one mask of its 48x40 frames" in w for w in out["warnings"]), out["warnings"]
