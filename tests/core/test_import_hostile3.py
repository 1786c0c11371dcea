"""Hostile and unusual detector files found by a fuzzing review (2026-12-06): each is refused on one line naming
the file, or read as what it is, and the rest of an import goes on."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.workspace import Workspace


def _frames(seed: int, n: int, shape=(48, 40)) -> np.ndarray:
    return np.random.default_rng(seed).poisson(30, (n, *shape)).astype(np.uint16)


def test_a_virtual_dataset_declaring_frames_no_source_maps_is_refused_and_module_gaps_are_not(tmp_path):
    """8 KB of VDS can declare thousands of frames of which one is mapped: the rest would read as its fill value
    and be stored (and copied into the workspace) as images. An assembled detector's VDS that leaves a gap
    between modules in every frame is still read."""
    with h5py.File(tmp_path / "src.h5", "w") as f:
        f["stack"] = _frames(0, 10)
    sparse = h5py.VirtualLayout(shape=(300, 48, 40), dtype=np.uint16)
    sparse[5:15] = h5py.VirtualSource("src.h5", "stack", shape=(10, 48, 40))
    gaps = h5py.VirtualLayout(shape=(10, 48, 41), dtype=np.uint16)
    gaps[:, :, :20] = h5py.VirtualSource("src.h5", "stack", shape=(10, 48, 40))[:, :, :20]
    gaps[:, :, 21:] = h5py.VirtualSource("src.h5", "stack", shape=(10, 48, 40))[:, :, 20:]
    strided = h5py.VirtualLayout(shape=(10, 48, 40), dtype=np.uint16)  # every other frame: a hole inside the bounds
    strided[0:10:2] = h5py.VirtualSource("src.h5", "stack", shape=(10, 48, 40))[0:5]
    with h5py.File(tmp_path / "grow.h5", "w") as f:  # a mapping that grows with its source (HDF5 1.10+)
        f.create_dataset("stack", data=_frames(9, 3), maxshape=(None, 48, 40), chunks=(1, 48, 40))
    unlimited = h5py.VirtualLayout(shape=(3, 48, 40), dtype=np.uint16, maxshape=(None, 48, 40))
    grow = h5py.VirtualSource("grow.h5", "stack", shape=(3, 48, 40), maxshape=(None, 48, 40))
    unlimited[0 : h5py.h5s.UNLIMITED] = grow[0 : h5py.h5s.UNLIMITED]
    layouts = (("sparse.h5", sparse), ("gaps.h5", gaps), ("strided.h5", strided), ("unlimited.h5", unlimited))
    for name, layout in layouts:
        with h5py.File(tmp_path / name, "w") as f:
            f.create_virtual_dataset("entry/data/data", layout, fillvalue=0)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [tmp_path / name for name, _ in layouts])
        unmapped = "map to no source (they would read as fill value)"
        assert res.errors == [
            f"{tmp_path / 'sparse.h5'}: HDF5 virtual dataset /entry/data/data: 290 of 300 frames {unmapped}",
            f"{tmp_path / 'strided.h5'}: HDF5 virtual dataset /entry/data/data: 5 of 10 frames {unmapped}",
        ]
        assert res.imported == 13  # gaps.h5's 10 and the unlimited mapping's 3
    finally:
        ws.store.dispose()


def test_a_broken_manifest_is_named_and_the_frames_beside_it_still_import(tmp_path):
    """Before: an unclosed quote in a CSV manifest (the rest of the file one field, over csv's field limit) or a
    JSON line nested 2000 deep ended the whole import in a traceback, the good frames beside it not imported."""
    import tifffile

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        tifffile.imwrite(tmp_path / name / "frame.tif", _frames(1 if name == "a" else 2, 1)[0])
    rows = "".join(f"other_{i}.tif,ring sample number {i}\n" for i in range(8000))
    (tmp_path / "a" / "metadata.csv").write_text(f'file_name,text\nframe.tif,ok\nx.tif,"ring 1, 5 mm\n{rows}')
    (tmp_path / "c").mkdir()
    tifffile.imwrite(tmp_path / "c" / "frame.tif", _frames(3, 1)[0])
    (tmp_path / "c" / "metadata.csv").write_text(f'"file_name,text\n{rows}')  # the header's quote never closes
    (tmp_path / "b" / "metadata.jsonl").write_text(
        '{"file_name": "frame.tif", "p": ' + "[" * 2000 + "]" * 2000 + "}\n"
    )
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [tmp_path / "a", tmp_path / "b", tmp_path / "c"])
        assert res.imported == 3
        assert any(e.startswith(f"{tmp_path / 'c' / 'metadata.csv'}:1: not readable as CSV") for e in res.errors)
        assert any(e.startswith(f"{tmp_path / 'a' / 'metadata.csv'}:3: not readable as CSV") for e in res.errors)
        assert f"{tmp_path / 'b' / 'metadata.jsonl'}:1: not a JSON line (nested too deeply)" in res.errors
        texts = {img.description for img, _ in ws.store.list_images()}
        assert "ok" in texts  # the rows before the broken one stand
    finally:
        ws.store.dispose()


def test_a_tiff_stack_cut_between_pages_or_with_unwritten_tiles_is_refused_not_shortened_or_zero_filled(tmp_path):
    """Before: a stack cut just before a page's directory (a copy of a file still being written) imported the
    pages before the cut without a word, and tiles never written (offset and byte count 0) read as zeros."""
    import tifffile

    from scatterloop.core.io import ImageReadError, read_frames

    stack = tmp_path / "stack.tif"
    with tifffile.TiffWriter(stack) as w:
        for frame in _frames(3, 6, (64, 64)) + 1:
            w.write(frame, metadata=None)
    with tifffile.TiffFile(stack) as t:
        cut = t.pages[4].offset
    assert len(list(read_frames(stack))) == 6
    stack.write_bytes(stack.read_bytes()[:cut])
    with pytest.raises(ImageReadError, match=r"truncated TIFF: its chain of pages breaks off"):
        list(read_frames(stack))

    tiled = tmp_path / "tiled.tif"
    tifffile.imwrite(tiled, _frames(4, 1, (128, 128))[0] + 1, tile=(64, 64), compression="zlib")
    assert len(list(read_frames(tiled))) == 1
    with tifffile.TiffFile(tiled) as t:
        counts, offsets = t.pages[0].tags["TileByteCounts"], t.pages[0].tags["TileOffsets"]
    raw = bytearray(tiled.read_bytes())
    for tag in (counts, offsets):  # the last two of four tiles never written
        raw[tag.valueoffset + 8 : tag.valueoffset + 16] = bytes(8)
    tiled.write_bytes(bytes(raw))
    with pytest.raises(ImageReadError, match=r"TIFF frame 0: 2 of 4 tiles hold no data"):
        list(read_frames(tiled))


def test_a_file_holding_no_frame_is_a_failure_not_a_success_with_nothing_imported(tmp_path):
    from scatterloop.core.io import ImageReadError, read_frames

    np.save(tmp_path / "empty.npy", np.zeros((0, 64, 64), np.uint16))
    np.savez(tmp_path / "thin.npz", a=np.arange(10), b=np.arange(3))
    np.savez(tmp_path / "none.npz")
    for name, fmt in (("empty.npy", "NPY"), ("thin.npz", "NPZ"), ("none.npz", "NPZ")):
        with pytest.raises(ImageReadError, match=rf"^no frame in this {fmt} file"):
            list(read_frames(tmp_path / name))


def test_minor_cases_of_the_fuzzing_review(tmp_path, caplog):
    """A float64 frame beyond float32's range is masked there, not turned into inf in thumbnails; a NeXus entry
    whose `default` names the frames' dataset itself is read; a library's error never quotes the file's bytes;
    a pixel mask left out is said once, not again for the workspace's stored copy of the same file."""
    import logging
    import warnings

    import tifffile

    from scatterloop.core.io import read_frames, thumbnail_png

    data = np.random.default_rng(5).poisson(9, (64, 64)).astype(np.float64) + 1
    data[:8] *= 1e300
    tifffile.imwrite(tmp_path / "f64.tif", data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (frame,) = read_frames(tmp_path / "f64.tif")
        assert frame.mask[:8].all() and not frame.mask[8:].any()
        thumbnail_png(frame.data, frame.mask, max_side=32)

    with h5py.File(tmp_path / "nx.nxs", "w") as f:
        f.attrs["default"] = "entry"
        f["entry/img"] = _frames(6, 1)[0]
        f["entry"].attrs["default"] = "img"
        f["entry/img"].attrs["signal"] = "x"
    (frame,) = read_frames(tmp_path / "nx.nxs")
    assert frame.dataset == "/entry/img"

    (tmp_path / "leak.pgm").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 4)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [tmp_path / "leak.pgm"])
        assert len(res.errors) == 1 and "root" not in res.errors[0].split(":", 1)[1], res.errors

        with h5py.File(tmp_path / "scan.nxs", "w") as f:
            f["entry/instrument/detector/data"] = _frames(7, 2)
            f["entry/instrument/detector/pixel_mask"] = np.ones((48, 40), np.uint32)  # an inverted mask
        with caplog.at_level(logging.WARNING):
            res = import_paths(ws, [tmp_path / "scan.nxs"])
        assert res.imported == 2
        said = [r.getMessage() for r in caplog.records if "not taken for a pixel mask" in r.getMessage()]
        assert len(said) == 1 and said[0].startswith(f"{tmp_path / 'scan.nxs'}: "), said  # the path as given
        assert res.warnings == said  # and in the import's JSON
    finally:
        ws.store.dispose()


def test_an_import_racing_another_for_the_same_frame_counts_it_as_a_duplicate(tmp_path, monkeypatch):
    """Two imports of the same frames at once: the slower one's duplicate check passed before the faster one
    wrote, and its write hit the unique hash ("internal error while importing this file")."""
    import tifffile

    tifffile.imwrite(tmp_path / "f.tif", _frames(8, 1)[0])
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        import_paths(ws, [tmp_path / "f.tif"])
        tifffile.imwrite(tmp_path / "copy.tif", _frames(8, 1)[0] + 0)  # the same values under another name
        real, asked = ws.store.has_sha, []

        def racing(sha):  # the duplicate check runs before the other import has written: "new"
            asked.append(sha)
            return False if len(asked) == 1 else real(sha)

        monkeypatch.setattr(ws.store, "has_sha", racing)
        res = import_paths(ws, [tmp_path / "copy.tif"])
        assert res.errors == [] and res.imported == 0 and res.duplicates == 1
        assert len(ws.store.list_images()) == 1
    finally:
        ws.store.dispose()
