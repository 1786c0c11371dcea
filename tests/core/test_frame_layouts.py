"""Where a file's frames are: Eiger master files, metadata arrays beside the frames, 1-D NeXus defaults, and every
frame of multi-frame GE and SPE files."""

from __future__ import annotations

import h5py
import numpy as np

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.io_hdf5 import first_image_dataset
from scatterloop.core.workspace import Workspace


def _frames(seed: int, n: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).poisson(50, (n, 48, 40)).astype(np.uint32)


def test_eiger_master_imports_the_linked_frames_not_the_flat_field(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    frames = _frames(1)
    with h5py.File(folder / "s_data_000001.h5", "w") as f:
        f["entry/data/data"] = frames
    with h5py.File(folder / "s_master.h5", "w") as f:  # detectorSpecific sorts before data: the old search took it
        f["entry/instrument/detector/detectorSpecific/flatfield"] = np.ones((48, 40), np.float32)
        f["entry/instrument/detector/detectorSpecific/pixel_mask"] = np.zeros((48, 40), np.uint32)
        f["entry/data/data_000001"] = h5py.ExternalLink("s_data_000001.h5", "/entry/data/data")
    with h5py.File(folder / "s_master.h5", "r") as f:
        assert first_image_dataset(f) == "/entry/data/data_000001"
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [folder / "s_master.h5"])
    assert summary.imported == 3, summary
    stored = sorted((img for img, _ in ws.store.list_images()), key=lambda img: img.frame)
    for k, img in enumerate(stored):
        assert img.dataset == "/entry/data/data_000001"
        np.testing.assert_array_equal(ws.load_frame(img).data, frames[k])
    ws.store.dispose()


def test_metadata_arrays_and_one_dimensional_defaults_are_not_taken_for_frames(tmp_path):
    with h5py.File(tmp_path / "meta.h5", "w") as f:
        f["entry/aaa_positions"] = np.zeros((100, 2))  # motor positions: (N, 2) is no frame
        f["entry/bbb_matrix"] = np.eye(3)
        f["entry/ccc_flat"] = np.ones((48, 40))  # a single frame-sized array beside the stack
        f["entry/zzz_data"] = _frames(2)
    with h5py.File(tmp_path / "nx.nxs", "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs["default"] = "integrated"
        entry["integrated/I"] = np.arange(500.0)
        entry["integrated"].attrs["signal"] = "I"
        entry["instrument/detector/data"] = _frames(3)
    with h5py.File(tmp_path / "meta.h5", "r") as f:
        assert first_image_dataset(f) == "/entry/zzz_data"
    with h5py.File(tmp_path / "nx.nxs", "r") as f:
        assert first_image_dataset(f) == "/entry/instrument/detector/data"
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [tmp_path / "meta.h5", tmp_path / "nx.nxs"])
    assert summary.imported == 6 and not summary.failed, summary
    ws.store.dispose()


def _spe(path, frames: np.ndarray, declared: int | None = None) -> None:
    """A Princeton SPE v2 file: 4100-byte header (date at 20, x_dim at 42, data type at 108, time at 172, y_dim
    at 656, frame count at 1446), then uint16 frames (data type 3)."""
    head = bytearray(4100)
    n, h, w = frames.shape
    head[20:29], head[172:178] = b"01Jan2026", b"120000"  # collection date and time (fabio parses them)
    head[42:44] = np.int16(w).tobytes()
    head[108:110] = np.uint16(3).tobytes()
    head[656:658] = np.int16(h).tobytes()
    head[1446:1450] = np.int32(n if declared is None else declared).tobytes()
    path.write_bytes(bytes(head) + frames.astype("<u2").tobytes())


def test_multi_frame_ge_and_spe_files_import_every_frame(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    ge = np.random.default_rng(4).integers(0, 4000, (2, 2048, 2048)).astype("<u2")
    (folder / "ff_00012.ge2").write_bytes(bytes(8192) + ge.tobytes())  # GE: 8192-byte header, 2048x2048 frames
    spe = np.random.default_rng(5).integers(0, 4000, (3, 32, 40)).astype("<u2")
    _spe(folder / "ccd.spe", spe)
    _spe(folder / "short.spe", spe, declared=5)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [folder])  # a folder walk takes .ge2 files
    assert summary.imported == 5 and summary.failed == 1, summary
    assert any("short.spe: truncated SPE: the header declares 5 frames, the data hold 3" in e for e in summary.errors)
    for img, _ in ws.store.list_images():
        want = (ge if img.original_name.endswith(".ge2") else spe)[img.frame]
        np.testing.assert_array_equal(ws.load_frame(img).data, want)
    ws.store.dispose()


def test_a_file_name_that_is_not_utf8_imports_with_its_odd_bytes_escaped(tmp_path):
    import os

    import tifffile

    folder = tmp_path / "in"
    folder.mkdir()
    data = _frames(6, 1)[0].astype(np.int32)
    tifffile.imwrite(os.fsdecode(bytes(folder) + b"/frame_\xff\xfe.tif"), data)  # Latin-1 bytes, not UTF-8
    tifffile.imwrite(folder / "plain.tif", data + 1)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [folder])
    assert summary.imported == 2 and not summary.failed, summary
    names = sorted(img.original_name for img, _ in ws.store.list_images())
    assert names == [f"{folder}/frame_\\xff\\xfe.tif", f"{folder}/plain.tif"]
    assert len(list((ws.root / "originals").rglob("*.tif"))) == 2  # no stray copy
    ws.store.dispose()


def test_hdf5_failures_say_what_is_wrong_and_name_the_link_target(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    with h5py.File(folder / "data_000001.h5", "w") as f:
        f["entry/data/data"] = _frames(7)
    raw = (folder / "data_000001.h5").read_bytes()
    (folder / "data_000001.h5").write_bytes(raw[: len(raw) // 3])  # a data file cut short by a failed copy
    with h5py.File(folder / "master.h5", "w") as f:
        f["entry/data/data_000001"] = h5py.ExternalLink("data_000001.h5", "/entry/data/data")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [folder / "master.h5"])
    assert summary.failed == 1 and not summary.imported, summary
    (error,) = summary.errors
    assert error.startswith(f"{folder}/master.h5: external link target data_000001.h5: "), error
    assert len(error.split(": ", 2)[2]) > len("OSError"), error  # h5py's message, not just the error's type
    ws.store.dispose()


def _eiger_series(folder, parts: int, write: tuple[int, ...]):
    """A master linking `parts` data files (data_000001 ...); only those numbered in `write` are written."""
    stacks = {k: _frames(10 + k, n=2 + k) for k in range(1, parts + 1)}
    for k in write:
        with h5py.File(folder / f"s_data_{k:06d}.h5", "w") as f:
            f["entry/data/data"] = stacks[k]
    with h5py.File(folder / "s_master.h5", "w") as f:
        f["entry/instrument/detector/detectorSpecific/flatfield"] = np.ones((48, 40), np.float32)
        for k in range(1, parts + 1):
            f[f"entry/data/data_{k:06d}"] = h5py.ExternalLink(f"s_data_{k:06d}.h5", "/entry/data/data")
    return stacks


def _import_master(tmp_path, folder):
    """Import the series' master into a new workspace: (workspace, summary); the caller disposes the store."""
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    return ws, import_paths(ws, [folder / "s_master.h5"])


def test_an_eiger_master_imports_every_data_file_of_its_series_in_order(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    stacks = _eiger_series(folder, 3, (1, 2, 3))
    ws, summary = _import_master(tmp_path, folder)
    expected = np.concatenate([stacks[1], stacks[2], stacks[3]])
    assert summary.imported == len(expected) == 12 and not summary.failed, summary
    stored = sorted((img for img, _ in ws.store.list_images()), key=lambda img: img.frame)
    for k, img in enumerate(stored):
        assert img.dataset == "/entry/data/data" and img.frame == k
        np.testing.assert_array_equal(ws.load_frame(img).data, expected[k])
    ws.store.dispose()


def test_an_unfinished_eiger_series_keeps_the_frames_before_the_missing_file(tmp_path, caplog):
    folder = tmp_path / "scan"
    folder.mkdir()
    stacks = _eiger_series(folder, 3, (1, 2))  # the third data file has not arrived
    with caplog.at_level("WARNING"):
        ws, summary = _import_master(tmp_path, folder)
    assert summary.imported == len(stacks[1]) + len(stacks[2]) and not summary.failed, summary
    assert "s_data_000003.h5" in caplog.text and "data_000002" in caplog.text, caplog.text
    ws.store.dispose()


def test_a_series_whose_frames_differ_in_shape_is_refused_by_name(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    _eiger_series(folder, 2, (1,))
    with h5py.File(folder / "s_data_000002.h5", "w") as f:
        f["entry/data/data"] = np.zeros((2, 40, 48), np.uint32)
    ws, summary = _import_master(tmp_path, folder)
    assert summary.imported == 0 and summary.failed == 1, summary
    assert "data_000002" in summary.errors[0] and "do not match" in summary.errors[0], summary.errors
    assert not list(ws.store.list_images())
    ws.store.dispose()


def test_a_gap_in_the_series_numbers_ends_it_with_a_warning(tmp_path, caplog):
    folder = tmp_path / "scan"
    folder.mkdir()
    stacks = _eiger_series(folder, 3, (1, 2, 3))
    with h5py.File(folder / "s_master.h5", "a") as f:
        del f["entry/data/data_000002"]  # the master links parts 1 and 3 only
    with caplog.at_level("WARNING"):
        ws, summary = _import_master(tmp_path, folder)
    assert summary.imported == len(stacks[1]) and not summary.failed, summary
    assert "data_000002 is missing from the series" in caplog.text, caplog.text
    ws.store.dispose()


def test_a_master_holding_its_first_part_brings_the_linked_rest(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    stacks = _eiger_series(folder, 2, (2,))
    with h5py.File(folder / "s_master.h5", "a") as f:
        del f["entry/data/data_000001"]
        f["entry/data/data_000001"] = stacks[1]  # the first part inside the master itself
    ws, summary = _import_master(tmp_path, folder)
    assert summary.imported == len(stacks[1]) + len(stacks[2]) and not summary.failed, summary
    ws.store.dispose()


def test_a_broken_part_is_named_in_one_line(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    _eiger_series(folder, 2, (1,))
    with h5py.File(folder / "s_data_000002.h5", "w") as f:
        f["entry/data/other"] = _frames(3)  # the link's target path is not in the data file
    ws, summary = _import_master(tmp_path, folder)
    assert summary.failed == 1 and summary.imported == 0, summary
    error = summary.errors[0]
    assert "data_000002" in error and "s_data_000002.h5" in error and "\n" not in error, error
    ws.store.dispose()


def test_a_long_series_stays_within_the_open_file_limit(tmp_path):
    """Each data file is closed before the next is opened: 150 parts import under a limit of 64 open files."""
    import subprocess
    import sys

    folder = tmp_path / "scan"
    folder.mkdir()
    with h5py.File(folder / "s_master.h5", "w") as f:
        for k in range(1, 151):
            with h5py.File(folder / f"s_data_{k:06d}.h5", "w") as part:
                part["entry/data/data"] = np.full((1, 48, 40), k, np.uint16)
            f[f"entry/data/data_{k:06d}"] = h5py.ExternalLink(f"s_data_{k:06d}.h5", "/entry/data/data")
    code = (
        "import resource, sys\n"
        "from scatterloop.core.config import Settings\n"
        "from scatterloop.core.workspace import Workspace\n"
        "from scatterloop.core.ingest import import_paths\n"
        "ws = Workspace.open(Settings(workspace=sys.argv[1]))\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "s = import_paths(ws, [sys.argv[2]])\n"
        "print(s.imported, s.failed, s.errors)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "ws"), str(folder / "s_master.h5")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:2] == ["150", "0"], out.stdout
