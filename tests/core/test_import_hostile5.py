"""Detector files and manifests an import review of 2026-12-07 found misread: a pixel mask taken for the frames,
scans of one file left out, a master's metadata lost by the order of the names, a Pilatus TIFF's cutoff ignored,
big-endian frames hashed apart, a stacked EDF block refused, the workspace's own files imported, and manifest
rows (a byte-order mark, a seed beyond 64 bits) misread."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.io import read_frames
from scatterloop.core.workspace import Workspace


def _ws(tmp_path) -> Workspace:
    return Workspace.open(Settings(workspace=tmp_path / "ws"))


def _frame(k: int = 0, shape=(40, 56)) -> np.ndarray:
    y, x = np.indices(shape)
    return ((x + 2 * y + 7 * k) % 200 + 1).astype(np.int32)


def test_a_pixel_mask_of_the_frames_size_is_not_taken_for_the_frames(tmp_path):
    """A NeXus file without a default plot, its detector's `pixel_mask` sorting before the frames' dataset."""
    path = tmp_path / "single.nxs"
    with h5py.File(path, "w") as f:
        f["entry/instrument/detector/pixel_mask"] = np.zeros((40, 56), np.uint32)
        f["entry/result/image"] = _frame()
    frames = list(read_frames(path))
    assert [fr.dataset for fr in frames] == ["/entry/result/image"]
    np.testing.assert_array_equal(frames[0].data, _frame())


def test_every_scan_of_a_multi_scan_file_is_imported_and_read_back(tmp_path):
    """A Bliss-style file: NXentry groups 1.1, 2.1, 3.1, each with its detector's frames."""
    path = tmp_path / "sample_0001.h5"
    with h5py.File(path, "w") as f:
        for s in (1, 2, 3):
            entry = f.create_group(f"{s}.1")
            entry.attrs["NX_class"] = "NXentry"
            entry["instrument/pilatus/data"] = np.stack([_frame(10 * s + k) for k in range(s + 1)])
            entry["measurement/pilatus"] = h5py.SoftLink(f"/{s}.1/instrument/pilatus/data")
    ws = _ws(tmp_path)
    summary = import_paths(ws, [path])
    assert summary.imported == 2 + 3 + 4 and summary.failed == 0
    for img, _ in ws.store.list_images():
        scan = int(img.dataset.split("/")[1].split(".")[0])
        np.testing.assert_array_equal(ws.load_frame(img).data, _frame(10 * scan + img.frame))


def test_entries_with_frames_of_other_shapes_are_not_taken_for_scans(tmp_path):
    """A reduced map in a second entry is not a scan of the detector: the frames alone are read, as before."""
    path = tmp_path / "reduced.h5"
    with h5py.File(path, "w") as f:
        for name, data in (("raw", np.stack([_frame(k) for k in range(3)])), ("cake", _frame(0, (36, 100)))):
            f.create_group(name).attrs["NX_class"] = "NXentry"
            f[f"{name}/data"] = data
    assert {fr.dataset for fr in read_frames(path)} == {"/raw/data"}


def _eiger(folder):
    """A master whose pixel mask flags rows 10-12, and its data file (named so that a glob lists it first)."""
    folder.mkdir()
    with h5py.File(folder / "scan_data_000001.h5", "w") as f:
        f["entry/data/data"] = np.stack([_frame(k).astype(np.uint32) for k in range(2)])
    with h5py.File(folder / "scan_master.h5", "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        mask = np.zeros((40, 56), np.uint32)
        mask[10:13] = 1
        det["detectorSpecific/pixel_mask"] = mask
        f["entry/data/data_000001"] = h5py.ExternalLink("scan_data_000001.h5", "/entry/data/data")


def test_a_master_named_after_its_data_files_is_still_imported_first(tmp_path):
    _eiger(tmp_path / "e")
    ws = _ws(tmp_path)
    files = sorted((tmp_path / "e").iterdir())  # what `scan_*.h5` gives: the data file first
    assert files[0].name == "scan_data_000001.h5"
    summary = import_paths(ws, files)
    assert (summary.imported, summary.duplicates) == (2, 2)
    for img, _ in ws.store.list_images():
        assert img.original_name.endswith("scan_master.h5")
        assert ws.load_frame(img).mask[11].all()


def test_a_pilatus_tiff_masks_counts_at_its_count_cutoff(tmp_path):
    data = _frame(0, (60, 50))
    data[5, 5], data[7, 7] = 1048576, 1048577
    header = "# Detector: PILATUS 300K, 3-0101\r\n# Count_cutoff 1048576 counts\r\n"
    tifffile.imwrite(tmp_path / "p.tif", data, description=header)
    mask = next(read_frames(tmp_path / "p.tif")).mask
    assert mask[5, 5] and mask[7, 7] and mask.sum() == 2


def test_a_big_endian_frame_is_the_same_image_as_its_little_endian_copy(tmp_path):
    tifffile.imwrite(tmp_path / "a_le.tif", _frame())
    with h5py.File(tmp_path / "c_be.h5", "w") as f:
        f.create_dataset("entry/data/data", data=_frame().astype(">i4"))
    ws = _ws(tmp_path)
    summary = import_paths(ws, [tmp_path / "a_le.tif", tmp_path / "c_be.h5"])
    assert (summary.imported, summary.duplicates) == (1, 1)
    assert next(read_frames(tmp_path / "c_be.h5")).data.dtype.isnative


def test_a_stacked_edf_block_gives_a_frame_per_plane(tmp_path):
    planes = np.stack([_frame(k).astype("<u2") for k in range(3)])
    head = (
        "{\nHeaderID = EH:000001:000000:000000 ;\nByteOrder = LowByteFirst ;\nDataType = UnsignedShort ;\n"
        f"Dim_1 = 56 ;\nDim_2 = 40 ;\nDim_3 = 3 ;\nSize = {planes.nbytes} ;\n"
    )
    head += " " * (1024 - len(head) - 2) + "}\n"
    (tmp_path / "dim3.edf").write_bytes(head.encode() + planes.tobytes())
    frames = list(read_frames(tmp_path / "dim3.edf"))
    assert [fr.index for fr in frames] == [0, 1, 2]
    for k, fr in enumerate(frames):
        np.testing.assert_array_equal(fr.data, planes[k])


def test_a_folder_inside_the_workspace_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    tifffile.imwrite(tmp_path / "src" / "a.tif", _frame())
    ws = _ws(tmp_path)
    import_paths(ws, [tmp_path / "src"])
    for inside in (ws.root / "thumbs", next((ws.root / "thumbs").iterdir())):
        summary = import_paths(ws, [inside])
        assert summary.imported == 0 and "inside the workspace's own stores" in summary.errors[0]
    assert len(ws.store.list_images()) == 1


def test_manifest_rows_with_a_bom_or_a_huge_seed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for k in range(4):
        tifffile.imwrite(src / f"h{k}.tif", _frame(k))
    rows = "file_name,label,seed\nh0.tif,realistic,1\n"
    rows += "h1.tif,fake,-100000000000000000000\nh2.tif,fake,100000000000000000000\n"
    (src / "metadata.csv").write_bytes(b"\xef\xbb\xbf" + rows.encode())  # "CSV UTF-8" as a spreadsheet saves it
    ws = _ws(tmp_path)
    before = set(ws.root.rglob("*"))
    summary = import_paths(ws, [src])
    errors = {e.split(": ", 1)[0].rsplit("/", 1)[-1]: e for e in summary.errors}
    assert set(errors) == {"h1.tif", "h2.tif"}
    assert "seed -100000000000000000000 does not fit a 64-bit integer" in errors["h1.tif"]
    assert "seed 100000000000000000000 does not fit a 64-bit integer" in errors["h2.tif"]
    stored = {img.original_name.rsplit("/", 1)[-1]: (img, lab) for img, lab in ws.store.list_images()}
    assert set(stored) == {"h0.tif", "h3.tif"}
    assert stored["h0.tif"][1] == "realistic" and stored["h0.tif"][0].seed == 1
    new_files = {p.name for p in set(ws.root.rglob("*")) - before if p.suffix == ".png"}
    assert len(new_files) == 2  # no thumbnail left behind by the refused rows


def test_a_named_pipe_among_hdf5_files_is_named_not_opened(tmp_path):
    """Review 2026-12-07: reading every HDF5 file's links first opened a named pipe called `x.h5` and waited on it."""
    import os
    import threading

    src = tmp_path / "in"
    src.mkdir()
    with h5py.File(src / "a.h5", "w") as f:
        f["entry/data/data"] = np.stack([_frame(0), _frame(1)])
    os.mkfifo(src / "pipe.h5")
    ws = _ws(tmp_path)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(summary=import_paths(ws, [src])), daemon=True)
    worker.start()
    worker.join(120)
    if worker.is_alive():  # unblock the open, then fail
        with open(src / "pipe.h5", "wb"):
            pass
        worker.join(30)
        raise AssertionError("the import waited on the named pipe")
    summary = result["summary"]
    assert summary.imported == 2 and len(summary.errors) == 1 and "named pipe" in summary.errors[0]


@pytest.mark.parametrize("scans", [1, 2])
def test_an_aborted_or_empty_scan_is_left_out_by_name(tmp_path, caplog, scans):
    """An aborted scan (chunks never written, which would read as the fill value) or one with no frame is left out
    with a warning naming it, and the complete scans import, whether one or several stand beside it; an entry
    holding only a pixel mask is no scan (a review found one, sparse by design, taken for an aborted scan)."""
    path = tmp_path / "scans.h5"
    with h5py.File(path, "w") as f:
        for s in range(1, scans + 1):
            f.create_group(f"{s}.1").attrs["NX_class"] = "NXentry"
            f[f"{s}.1/instrument/det/data"] = np.stack([_frame(10 * s + k) for k in range(2)])
        f.create_group("8.1").attrs["NX_class"] = "NXentry"
        f.create_dataset("8.1/instrument/det/data", shape=(0, 40, 56), dtype=np.int32)
        f.create_group("9.1").attrs["NX_class"] = "NXentry"
        f.create_dataset("9.1/instrument/det/data", shape=(4, 40, 56), dtype=np.int32, chunks=(1, 40, 56))
        f["9.1/instrument/det/data"][0] = _frame(90)  # two frames of four written, then the scan stopped
        f["9.1/instrument/det/data"][1] = _frame(91)
        f.create_group("setup").attrs["NX_class"] = "NXentry"
        f.create_dataset("setup/detector/pixel_mask", shape=(40, 56), dtype=np.uint32, chunks=(8, 8))
    with caplog.at_level("WARNING"):
        datasets = [fr.dataset for fr in read_frames(path)]
    assert datasets == [f"/{s}.1/instrument/det/data" for s in range(1, scans + 1) for _ in range(2)]
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "scan /9.1/instrument/det/data left out" in said and "scan /8.1/instrument/det/data left out" in said
    assert "pixel_mask" not in said


def test_frames_named_after_a_correction_are_frames(tmp_path):
    path = tmp_path / "corrected.h5"
    with h5py.File(path, "w") as f:
        f["scan/data_dark_corrected"] = np.stack([_frame(k) for k in range(6)])
        f["scan/background"] = _frame(9)
    assert len(list(read_frames(path))) == 6
    for aux in ("flatfield_uncertainty", "beamstop_mask", "dark_frames", "pedestal_g0", "calibration"):
        with h5py.File(tmp_path / f"{aux}.h5", "w") as f:
            f[f"entry/instrument/detector/{aux}"] = _frame(1).astype(np.float32)
            f["entry/measurement/image"] = _frame(2)
        assert [fr.dataset for fr in read_frames(tmp_path / f"{aux}.h5")] == ["/entry/measurement/image"], aux


def test_a_big_endian_frame_stored_under_its_old_hash_is_still_a_duplicate(tmp_path):
    """Frames were hashed as read (`>i4`) before they were read natively: a workspace may hold one under that hash."""
    from scatterloop.core.io import content_hash

    with h5py.File(tmp_path / "be.h5", "w") as f:
        f.create_dataset("entry/data/data", data=_frame().astype(">i4"))
    ws = _ws(tmp_path)
    old = content_hash(_frame().astype(">i4"))
    ws.store.add_new_image(path="originals/x", sha256=old, frame=0, dataset=None, height=40, width=56, dtype=">i4",
                           masked_fraction=0.0, original_name="be.h5", source="experimental")  # fmt: skip
    summary = import_paths(ws, [tmp_path / "be.h5"])
    assert (summary.imported, summary.duplicates) == (0, 1)
