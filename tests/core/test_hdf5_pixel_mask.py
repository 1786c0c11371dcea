"""An HDF5/NeXus file's own pixel mask and saturation level mask the pixels they name: the NXdetector's fields
(NXmx) and a DECTRIS master's `detectorSpecific` ones, also when the frames are in the master's data files; only
the frames' own detector counts."""

from __future__ import annotations

import h5py
import numpy as np

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.io import read_frames
from scatterloop.core.workspace import Workspace


def _frames(seed: int, n: int = 2, dtype=np.uint32) -> np.ndarray:
    frames = np.random.default_rng(seed).poisson(50, (n, 48, 40)).astype(dtype)
    frames[:, 10, 10] = 90_000  # a hot pixel the detector counted (pixel_mask_applied false): a plausible value
    frames[:, 20, :] = 0  # a gap row, written as zeros
    return frames


def _flags() -> np.ndarray:
    flags = np.zeros((48, 40), np.uint32)
    flags[10, 10] = 8  # over-responding
    flags[20, :] = 1  # gap
    flags[3, 4] = 2  # dead (its count is what the noise gave)
    flags[7, 7] = 1 << 31  # NXmx: a virtual pixel, a tag that does not reject it
    return flags


def _rejected() -> np.ndarray:
    want = np.zeros((48, 40), bool)
    want[10, 10] = want[3, 4] = True
    want[20, :] = True
    return want


def _nx(group, nx_class: str):
    group.attrs["NX_class"] = nx_class
    return group


def test_an_nxmx_pixel_mask_and_saturation_value_mask_their_pixels(tmp_path):
    for dtype in (np.uint32, np.float32):  # saturation holds for counts and for processed (float) frames alike
        frames = _frames(1, dtype=dtype)
        frames[0, 30, 30], frames[0, 31, 31] = 60_000.5 if dtype == np.float32 else 60_001, 60_000
        path = tmp_path / f"nx_{np.dtype(dtype).name}.h5"
        with h5py.File(path, "w") as f:
            _nx(f.create_group("entry"), "NXentry")
            inst = _nx(f.create_group("entry/instrument"), "NXinstrument")
            det = _nx(inst.create_group("detector"), "NXdetector")
            det["data"] = frames
            det["pixel_mask"] = _flags()
            extra = np.zeros((48, 40), np.uint8)
            extra[44, 2] = 4  # NXmx pixel_mask_N: combined with pixel_mask
            det["pixel_mask_1"] = extra
            det["saturation_value"] = 60_000  # invalid above it
            det["flatfield"] = np.ones((48, 40), np.float32)  # not a mask
        got = list(read_frames(path))
        assert len(got) == 2
        for frame in got:
            want = _rejected()
            want[44, 2] = True
            if frame.index == 0:
                want[30, 30] = True  # above 60,000; 60,000 itself is valid
            np.testing.assert_array_equal(frame.mask, want, err_msg=str(dtype))
            np.testing.assert_array_equal(frame.data, frames[frame.index])  # the values are kept as they are


def test_only_the_frames_own_detector_is_read(tmp_path, caplog):
    frames = _frames(2)
    with h5py.File(tmp_path / "two.h5", "w") as f:
        _nx(f.create_group("entry"), "NXentry")
        inst = _nx(f.create_group("entry/instrument"), "NXinstrument")
        eiger = _nx(inst.create_group("eiger"), "NXdetector")
        eiger["data"] = frames
        eiger["pixel_mask"] = _flags()
        eiger["pixel_mask_1"] = np.ones((48, 40), np.uint8)  # flags every pixel: not a mask
        eiger["pixel_mask_2"] = np.ones((24, 20), np.uint8)  # binned: another shape
        diode = _nx(inst.create_group("diode"), "NXdetector")  # another detector: its level is not the frames'
        diode["data"] = np.zeros(5)
        diode["saturation_value"] = 10
        diode["pixel_mask"] = np.ones((48, 40), np.uint8)
        _nx(f.create_group("entry/data"), "NXdata")
        f["entry/data/data"] = h5py.SoftLink("/entry/instrument/eiger/data")
        f["entry/monitor/saturation_value"] = 10
    with caplog.at_level("WARNING"):
        got = list(read_frames(tmp_path / "two.h5"))
    assert len(got) == 2
    for frame in got:
        np.testing.assert_array_equal(frame.mask, _rejected())
    assert "/entry/instrument/eiger/pixel_mask_1 flags 100 %" in caplog.text and "two.h5" in caplog.text


def test_an_eiger_master_series_keeps_its_pixel_mask_and_count_cutoff(tmp_path):
    for nexus in (False, True):  # older masters carry no NX_class
        folder = tmp_path / f"scan{nexus}"
        folder.mkdir()
        stacks = {k: _frames(k) for k in (1, 2)}
        stacks[2][1, 40, 5] = 800_000  # above the count cutoff
        for k, frames in stacks.items():
            with h5py.File(folder / f"s_data_{k:06d}.h5", "w") as f:
                f["entry/data/data"] = frames
        with h5py.File(folder / "s_master.h5", "w") as f:
            det = f.create_group("entry/instrument/detector")
            if nexus:
                for group, nx_class in ((f["entry"], "NXentry"), (f["entry/instrument"], "NXinstrument")):
                    _nx(group, nx_class)
                _nx(det, "NXdetector")
            spec = det.create_group("detectorSpecific")
            spec["pixel_mask"] = _flags()
            spec["countrate_correction_count_cutoff"] = np.uint32(765_000)
            spec["flatfield"] = np.ones((48, 40), np.float32)
            for k in stacks:
                f[f"entry/data/data_{k:06d}"] = h5py.ExternalLink(f"s_data_{k:06d}.h5", "/entry/data/data")
        ws = Workspace.open(Settings(workspace=tmp_path / f"ws{nexus}"))
        summary = import_paths(ws, [folder / "s_master.h5"])
        assert summary.imported == 4 and not summary.failed, summary
        stored = sorted((img for img, _ in ws.store.list_images()), key=lambda img: img.frame)
        expected = np.concatenate([stacks[1], stacks[2]])
        for k, img in enumerate(stored):
            frame = ws.load_frame(img)
            np.testing.assert_array_equal(frame.data, expected[k])
            want = _rejected()
            want[40, 5] = k == 3
            np.testing.assert_array_equal(frame.mask, want, err_msg=f"nexus={nexus} frame {k}")
        ws.store.dispose()
