"""Inputs found by a robustness sweep of `scatterloop import`: every frame of a stack, RGB in every TIFF layout,
MAR345 streams checked before fabio decodes them, HDF5 filters and 4-D stacks, and the workspace never imported
into itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fabio
import h5py
import numpy as np
import pytest
import tifffile
from PIL import Image

from scatterloop.core.cli import main
from scatterloop.core.ingest import import_paths
from scatterloop.core.io import ImageReadError, is_image_file, read_frame, read_frames
from scatterloop.core.workspace import Workspace


def rings(seed: int, size: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    lam = 40 + 600 * np.exp(-((r - size / 4) ** 2) / 6)
    return np.random.default_rng(seed).poisson(lam).astype(np.int32)


def _mar345(path, data: np.ndarray) -> bytes:
    im = fabio.mar345image.Mar345Image(data=data)
    im.byteorder = "<"  # fabio's writer needs it set
    im.write(str(path))
    return path.read_bytes()


def test_mar345_truncated_or_overlong_stream_is_refused_before_fabio_decodes_it(tmp_path):
    data = rings(1)
    raw = _mar345(tmp_path / "good.mar3450", data)
    assert np.array_equal(read_frame(tmp_path / "good.mar3450").data, data)
    (tmp_path / "cut.mar3450").write_bytes(raw[: len(raw) - 40])  # fabio decoded this into a wrong image
    with pytest.raises(ImageReadError, match=r"truncated or corrupt MAR345: packed data ends after \d+ of 2304"):
        list(read_frames(tmp_path / "cut.mar3450"))
    # blocks of 128 zero pixels (header 0b000111) overshoot a 50x50 frame: fabio would write past its buffer
    odd = _mar345(tmp_path / "odd.mar3450", rings(2, 50))
    start = odd.index(b"\n", odd.index(b"CCP4 packed image")) + 1
    stream = bytes([0b11000111, 0b01110001, 0b00011100]) * 200  # 6-bit headers 000111 back to back
    (tmp_path / "over.mar3450").write_bytes(odd[:start] + stream)
    with pytest.raises(ImageReadError, match="packed blocks describe 2560 pixels, the frame has 2500"):
        list(read_frames(tmp_path / "over.mar3450"))


def test_every_mar345_scan_mode_suffix_is_found_in_a_folder(tmp_path):
    for n in (1200, 1600, 1800, 2000, 2300, 2400, 3000, 3450):
        assert is_image_file(tmp_path / f"plate.mar{n}")


def test_animated_gif_is_a_stack(tmp_path):
    frames = [Image.fromarray(np.clip(rings(10 + i), 0, 255).astype(np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    got = list(read_frames(tmp_path / "a.gif"))
    assert len(got) == 3 and len({f.sha256 for f in got}) == 3
    with Image.open(tmp_path / "a.gif") as im:
        im.seek(2)
        assert np.array_equal(read_frame(tmp_path / "a.gif", 2).data, np.asarray(im.convert("L")))


def test_tiff_planar_rgb_every_appended_series_and_no_thumbnail(tmp_path):
    rgb = np.stack([np.clip(rings(20 + c), 0, 255) for c in range(3)]).astype(np.uint8)
    tifffile.imwrite(tmp_path / "planar.tif", rgb, photometric="rgb", planarconfig="separate")
    tifffile.imwrite(tmp_path / "contig.tif", np.moveaxis(rgb, 0, -1), photometric="rgb")
    planar, contig = read_frame(tmp_path / "planar.tif").data, read_frame(tmp_path / "contig.tif").data
    assert planar.shape == (48, 48) and np.array_equal(planar, contig)
    for i in range(4):  # an acquisition loop writing one frame at a time: one series per frame
        tifffile.imwrite(tmp_path / "acq.tif", rings(30 + i).astype(np.uint16), append=True)
    got = list(read_frames(tmp_path / "acq.tif"))
    assert [f.index for f in got] == [0, 1, 2, 3]
    assert all(np.array_equal(f.data, rings(30 + f.index)) for f in got)
    assert np.array_equal(read_frame(tmp_path / "acq.tif", 3).data, rings(33))
    with tifffile.TiffWriter(tmp_path / "thumb.tif") as tw:
        tw.write(rings(40).astype(np.uint16))
        tw.write(rings(40).astype(np.uint16)[::4, ::4], subfiletype=1)  # reduced resolution
    assert len(list(read_frames(tmp_path / "thumb.tif"))) == 1


def test_hdf5_4d_stack_bitshuffle_and_clear_reasons(tmp_path):
    import hdf5plugin

    stack = np.stack([[rings(50 + 3 * i + j) for j in range(3)] for i in range(2)]).astype(np.uint16)
    with h5py.File(tmp_path / "scan.h5", "w") as f:
        f["scan/frames"] = stack  # 4-D, no NeXus attributes
    got = list(read_frames(tmp_path / "scan.h5"))
    assert len(got) == 6 and np.array_equal(got[4].data, stack[1, 1])
    with h5py.File(tmp_path / "eiger.h5", "w") as f:
        f.create_dataset("entry/data/data", data=stack[0], chunks=(1, 48, 48), **hdf5plugin.Bitshuffle())
    # read in a fresh process: this one registered the filters by writing with them
    code = "import sys; from scatterloop.core.io import read_frame; print(read_frame(sys.argv[1], 2).data.sum())"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "eiger.h5")], capture_output=True, text=True)
    assert out.returncode == 0 and int(out.stdout) == stack[0, 2].sum(), out.stderr[-500:]
    with h5py.File(tmp_path / "soft.nxs", "w") as f:
        f.attrs["default"] = "entry"
        f.create_group("entry").attrs["default"] = "plot"
        f.create_group("entry/plot").attrs["signal"] = "data"
        f["entry/plot/data"] = h5py.SoftLink("/entry/nothing")
    with pytest.raises(ImageReadError, match=r"no dataset '/entry/plot/data' in the file \(or a link to nothing\)"):
        list(read_frames(tmp_path / "soft.nxs"))
    with h5py.File(tmp_path / "zstd.h5", "w") as f:
        f.create_dataset("x", data=stack[0, 0], chunks=(48, 48), **hdf5plugin.Zstd())
    raw = bytearray((tmp_path / "zstd.h5").read_bytes())
    code = (32015).to_bytes(2, "little")
    assert raw.count(code) == 1
    raw[raw.index(code) : raw.index(code) + 2] = (32099).to_bytes(2, "little")  # a filter nobody registered
    (tmp_path / "zstd.h5").write_bytes(bytes(raw))
    with pytest.raises(ImageReadError, match=r"compressed with HDF5 filter 32099 \(.*\), not installed here"):
        list(read_frames(tmp_path / "zstd.h5"))


def test_workspace_inside_the_folder_is_not_imported_into_itself(settings, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    tifffile.imwrite(data / "a.tif", rings(60).astype(np.uint16))
    ws = Workspace.open(settings.with_(workspace=data / "ws"))
    try:
        first = import_paths(ws, [data])
        again = import_paths(ws, [data])  # the workspace's thumbnails and originals are not new images
        assert (first.imported, again.imported, again.duplicates, again.failed) == (1, 0, 1, 0)
        itself = import_paths(ws, [data / "ws"])
        reason = "is the workspace itself: its files are not imported again"
        assert itself.imported == 0 and itself.errors == [f"{data / 'ws'}: {reason}"]
    finally:
        ws.store.dispose()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_named_pipe_in_a_folder_is_named_and_skipped_and_the_rest_imported(settings, tmp_path):
    """Before, a pipe with an image name was passed over without a word (and opening it would block)."""
    data = tmp_path / "data"
    data.mkdir()
    tifffile.imwrite(data / "a.tif", rings(60).astype(np.uint16))
    os.mkfifo(data / "b.tif")
    ws = Workspace.open(settings.with_(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [data])
        assert res.imported == 1 and res.errors == [f"{data / 'b.tif'}: not a regular file (a named pipe)"]
        named = import_paths(ws, [data / "b.tif"])  # named directly: the same words, and it is never opened
        assert named.imported == 0 and named.errors == [f"{data / 'b.tif'}: not a regular file (a named pipe)"]
    finally:
        ws.store.dispose()


def test_bruker_numbered_and_other_fabio_detector_frames_are_found_in_a_folder(settings, tmp_path):
    """Before, a folder walk took frames by a fixed list of suffixes: a Bruker series (`scan_01.001`, ...) and
    Esperanto or PNM frames in a folder were passed over without a word, though each read when named."""
    from fabio.brukerimage import BrukerImage
    from fabio.esperantoimage import EsperantoImage
    from fabio.pnmimage import PnmImage

    data = tmp_path / "data"
    data.mkdir()
    # one byte a pixel: fabio's writer of the old Bruker format writes no overflow table (its reader reads one)
    frames = [np.clip(rings(60 + 4 * k), 0, 255).astype(np.uint16) for k in range(4)]
    BrukerImage(data=frames[0]).write(str(data / "scan_01.001"))
    BrukerImage(data=frames[1]).write(str(data / "scan_01.002"))
    EsperantoImage(data=frames[2].astype(np.int32)).write(str(data / "x.esperanto"))
    PnmImage(data=frames[3]).write(str(data / "x.pnm"))
    (data / "notes.1").write_text("not a frame")  # one or two digits: not a Bruker frame number
    (data / "run.log").write_text("not a frame")
    assert not is_image_file(data / "notes.1") and not is_image_file(data / "x.0001")
    ws = Workspace.open(settings.with_(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [data])
        assert res.imported == 4 and res.errors == []
        stored = {Path(img.original_name).name: ws.load_frame(img).data for img, _ in ws.store.list_images()}
        assert np.array_equal(stored["scan_01.001"], frames[0]) and np.array_equal(stored["x.pnm"], frames[3])
        assert stored["x.esperanto"].ndim == 2  # fabio's Esperanto writer pads to a square of its own sizes
    finally:
        ws.store.dispose()


def test_a_file_that_is_no_frame_or_too_large_is_refused_before_it_is_copied(settings, tmp_path, monkeypatch):
    """Before, every file was copied whole into the workspace before its header was read: a large file that is
    no frame (or a frame over `--max-pixels`) was written to the workspace's disk only to be refused."""
    import scatterloop.core.ingest as ingest

    data = tmp_path / "data"
    data.mkdir()
    tifffile.imwrite(data / "a.tif", rings(60).astype(np.uint16))
    tifffile.imwrite(data / "huge.tif", np.zeros((300, 300), np.uint16))
    (data / "junk.tif").write_bytes(np.random.default_rng(0).bytes(1 << 20))
    copied = []
    real_copy = ingest.copy_to_temp
    monkeypatch.setattr(ingest, "copy_to_temp", lambda ws, src: copied.append(src.name) or real_copy(ws, src))
    ws = Workspace.open(settings.with_(workspace=tmp_path / "ws", max_pixels=200 * 200))
    try:
        res = import_paths(ws, [data])
        assert res.imported == 1 and copied == ["a.tif"]
        reasons = dict(e.split(": ", 1) for e in res.errors)
        assert set(reasons) == {str(data / "huge.tif"), str(data / "junk.tif")}
        assert reasons[str(data / "huge.tif")] == "300x300 frame exceeds the size limit of 40000 pixels"
        assert reasons[str(data / "junk.tif")].startswith("cannot read as TIF: not a TIFF file")
    finally:
        ws.store.dispose()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda raw, end: raw.replace(b"Dim_1 = 48", b"Dim_1 = abc"),
            "EDF header: Dim_1 = 'abc' is not a positive whole number",
        ),
        (lambda raw, end: b"{\n}\n" + bytes(100), "EDF header has no Dim_1 (the frame's size)"),
        (
            lambda raw, end: raw.replace(b"UnsignedShort", b"Complex"),
            "EDF header: DataType 'Complex' is not an EDF data type",
        ),
        (lambda raw, end: raw[:end], "EDF file ends after its header: no data"),
        (
            lambda raw, end: raw[: end - 1].replace(b"}", b"") + b"\n",
            "EDF header is not closed (no '}' in its first 64 KiB)",
        ),
    ],
    ids=["dim-not-a-number", "empty-header", "unknown-datatype", "header-only", "header-not-closed"],
)
def test_a_broken_edf_header_names_the_key(tmp_path, edit, reason):
    """Before, fabio's own failure came through as "corrupt or unsupported EDF file (the reader could not parse
    it)" or "Invalid first header": an UnboundLocalError or a bare KeyError inside it, which says nothing."""
    fabio.edfimage.EdfImage(data=rings(3).astype(np.uint16)).write(str(tmp_path / "ok.edf"))
    raw = (tmp_path / "ok.edf").read_bytes()
    (tmp_path / "bad.edf").write_bytes(edit(raw, raw.index(b"}") + 1))
    with pytest.raises(ImageReadError) as exc:
        list(read_frames(tmp_path / "bad.edf"))
    assert str(exc.value) == reason


def test_max_pixels_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["import", str(tmp_path), "--workspace", str(tmp_path / "ws"), "--max-pixels", "0"])
    assert exc.value.code == 2
    assert "argument --max-pixels: expected a positive integer, got 0" in capsys.readouterr().err
