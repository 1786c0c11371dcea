"""An HDF5/NeXus file's own pixel mask and saturation level mask the pixels they name: NXmx's NXdetector fields
and a DECTRIS master's `detectorSpecific` ones, also when the frames are in the master's data files."""

from __future__ import annotations

import h5py
import numpy as np

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.io import read_frames
from scatterloop.core.workspace import Workspace


def _frames(seed: int, n: int = 2) -> np.ndarray:
    frames = np.random.default_rng(seed).poisson(50, (n, 48, 40)).astype(np.uint32)
    frames[:, 10, 10] = 90_000  # a hot pixel the detector counted (pixel_mask_applied false): a plausible value
    frames[:, 20, :] = 0  # a gap row, written as zeros
    return frames


def _flags() -> np.ndarray:
    flags = np.zeros((48, 40), np.uint32)
    flags[10, 10] = 8  # over-responding
    flags[20, :] = 1  # gap
    flags[3, 4] = 2  # dead (its count is what the noise gave)
    return flags


def test_an_nxmx_pixel_mask_and_saturation_value_mask_their_pixels(tmp_path):
    frames = _frames(1)
    frames[0, 30, 30], frames[0, 31, 31] = 70_000, 60_000
    with h5py.File(tmp_path / "nx.h5", "w") as f:
        f["entry/data/data"] = frames
        f["entry/instrument/detector/pixel_mask"] = _flags()
        f["entry/instrument/detector/saturation_value"] = 60_000  # invalid above it
        f["entry/instrument/detector/flatfield"] = np.ones((48, 40), np.float32)  # not a mask
    got = list(read_frames(tmp_path / "nx.h5"))
    assert len(got) == 2
    for frame in got:
        expected = _flags() != 0
        if frame.index == 0:
            expected[30, 30] = True  # 70,000 > 60,000; 60,000 itself is valid
        np.testing.assert_array_equal(frame.mask, expected)
        np.testing.assert_array_equal(frame.data, frames[frame.index])  # the values are kept as they are


def test_a_mask_of_another_shape_or_flagging_most_pixels_is_not_taken(tmp_path, caplog):
    frames = _frames(2)
    with h5py.File(tmp_path / "odd.h5", "w") as f:
        f["entry/data/data"] = frames
        f["entry/instrument/detector/pixel_mask"] = np.ones((24, 20), np.uint32)  # binned: another shape
        f["entry/instrument/other/pixel_mask"] = np.ones((48, 40), np.uint8)  # flags every pixel
    with caplog.at_level("WARNING"):
        frame = next(iter(read_frames(tmp_path / "odd.h5")))
    assert not frame.mask.any()
    assert "/entry/instrument/other/pixel_mask flags 100 %" in caplog.text and "odd.h5" in caplog.text


def test_an_eiger_master_series_keeps_its_pixel_mask_and_count_cutoff(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    stacks = {k: _frames(k) for k in (1, 2)}
    stacks[2][1, 40, 5] = 800_000  # above the count cutoff
    for k, frames in stacks.items():
        with h5py.File(folder / f"s_data_{k:06d}.h5", "w") as f:
            f["entry/data/data"] = frames
    with h5py.File(folder / "s_master.h5", "w") as f:
        spec = f.create_group("entry/instrument/detector/detectorSpecific")
        spec["pixel_mask"] = _flags()
        spec["countrate_correction_count_cutoff"] = np.uint32(765_000)
        spec["flatfield"] = np.ones((48, 40), np.float32)
        for k in stacks:
            f[f"entry/data/data_{k:06d}"] = h5py.ExternalLink(f"s_data_{k:06d}.h5", "/entry/data/data")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    summary = import_paths(ws, [folder / "s_master.h5"])
    assert summary.imported == 4 and not summary.failed, summary
    stored = sorted((img for img, _ in ws.store.list_images()), key=lambda img: img.frame)
    expected = np.concatenate([stacks[1], stacks[2]])
    for k, img in enumerate(stored):
        frame = ws.load_frame(img)
        np.testing.assert_array_equal(frame.data, expected[k])
        want = _flags() != 0
        if k == 3:
            want[40, 5] = True
        np.testing.assert_array_equal(frame.mask, want)
    ws.store.dispose()
