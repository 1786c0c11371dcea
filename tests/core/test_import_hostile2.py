"""A second adversarial pass over `scatterloop import`: compressed files that decompress far past their frame,
detector headers that lie about the data after them, and stacks a reader took for colour."""

from __future__ import annotations

import gzip
import os
import re
import struct
import zlib

import h5py
import numpy as np
import pytest
import tifffile
from fabio.adscimage import AdscImage
from fabio.cbfimage import CbfImage
from fabio.edfimage import EdfImage
from fabio.mar345image import Mar345Image

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.io import ImageReadError, read_frame, read_frames
from scatterloop.core.workspace import Workspace


def rings(seed: int, size: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    return np.random.default_rng(seed).poisson(40 + 600 * np.exp(-((r - size / 4) ** 2) / 6)).astype(np.int32)


def _gzip_with_zeros(head: bytes, zeros: int) -> bytes:
    """`head` followed by `zeros` zero bytes, gzip-compressed (a few hundred bytes a megabyte)."""
    co = zlib.compressobj(1, zlib.DEFLATED, 31)
    out = [co.compress(head)]
    chunk = bytes(1 << 20)
    out += [co.compress(chunk) for _ in range(zeros >> 20)]
    return b"".join([*out, co.flush()])


def _mar345(path, data: np.ndarray) -> bytes:
    im = Mar345Image(data=data)
    im.byteorder = "<"
    im.write(str(path))
    return path.read_bytes()


def test_a_compressed_file_far_longer_than_its_frame_is_refused_before_fabio_decompresses_it(tmp_path):
    """Before, fabio decompressed such a file whole into memory: 3 MB of gzip after a 48x48 MAR345 header took
    9 GB and then failed as "corrupt or unsupported"; 32 MB of zeros after one imported (and took 200 MB)."""
    raw = _mar345(tmp_path / "good.mar3450", rings(1).astype(np.uint32))
    (tmp_path / "ok.mar3450.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(read_frame(tmp_path / "ok.mar3450.gz").data, rings(1))
    (tmp_path / "bomb.mar3450.gz").write_bytes(_gzip_with_zeros(raw, 32 << 20))
    with pytest.raises(ImageReadError, match=r"^MAR3450: the decompressed file is larger than \d+ bytes, far more "):
        list(read_frames(tmp_path / "bomb.mar3450.gz"))
    # a header that gives no frame size (ADSC read as d*TREK): the decompressed length is held to the limit
    AdscImage(data=rings(2).astype(np.uint16)).write(str(tmp_path / "a.img"))
    (tmp_path / "bomb.img.gz").write_bytes(_gzip_with_zeros((tmp_path / "a.img").read_bytes(), 4 << 20))
    with pytest.raises(ImageReadError, match="header gives no frame size and the decompressed file is larger"):
        list(read_frames(tmp_path / "bomb.img.gz", max_pixels=1_000_000))


def test_mar345_high_intensity_records_that_lie_are_refused(tmp_path):
    """Before, fabio read as many overflow records as the header counted, whatever lay there, and dropped a
    record naming a pixel outside the frame (100000 counts imported as 34464): a wrong image, without a word."""
    data = rings(3).astype(np.uint32)
    data[10, 10], data[20, 20] = 100000, 200000
    raw = _mar345(tmp_path / "of.mar3450", data)
    assert np.array_equal(read_frame(tmp_path / "of.mar3450").data, data)
    assert struct.unpack("<i", raw[8:12]) == (2,)
    outside = bytearray(raw)
    struct.pack_into("<i", outside, 4096, 10**8)  # the first record's pixel number
    (tmp_path / "outside.mar3450").write_bytes(bytes(outside))
    with pytest.raises(ImageReadError, match="a high-intensity pixel record names a pixel outside the 2304 pixels"):
        list(read_frames(tmp_path / "outside.mar3450"))
    many = bytearray(raw)
    struct.pack_into("<i", many, 8, 3000)
    (tmp_path / "many.mar3450").write_bytes(bytes(many))
    with pytest.raises(ImageReadError, match="header counts 3000 high-intensity pixels, the file has room for 8"):
        list(read_frames(tmp_path / "many.mar3450"))


def test_a_cbf_whose_dimensions_or_data_lie_is_refused_by_name(tmp_path):
    """Before, 48x48 values under a header saying 24 rows imported as their first half (a wrong image without a
    word), 96 rows failed as "corrupt or unsupported CBF file", and a .cbf.gz cut short the same way, though fabio
    had logged the failed checksum that says why."""
    CbfImage(data=rings(4)).write(str(tmp_path / "good.cbf"))
    raw = (tmp_path / "good.cbf").read_bytes()
    second = b"X-Binary-Size-Second-Dimension: 48"
    for rows in (24, 96):
        (tmp_path / f"rows{rows}.cbf").write_bytes(raw.replace(second, second[:-2] + str(rows).encode()))
        with pytest.raises(ImageReadError, match=f"^corrupt CBF: its {rows}x48 dimensions do not hold its 2304 el"):
            list(read_frames(tmp_path / f"rows{rows}.cbf"))
    cut = raw[: raw.index(b"\x0c\x1a\x04\xd5") + 1000]
    (tmp_path / "cut.cbf.gz").write_bytes(gzip.compress(cut))
    with pytest.raises(ImageReadError, match="^corrupt CBF: Checksum of binary data mismatch"):
        list(read_frames(tmp_path / "cut.cbf.gz"))


def test_an_edf_whose_dimensions_leave_out_part_of_its_data_is_refused(tmp_path):
    """Before, 48x48 values under Dim_1 = 40 (or Dim_2 = 24) imported as a sheared 48x40 (or half a) frame:
    fabio reads the frame from the block's start and drops the rest. Padding of less than a block still reads."""
    EdfImage(data=rings(5).astype(np.uint16)).write(str(tmp_path / "good.edf"))
    raw = (tmp_path / "good.edf").read_bytes()
    (tmp_path / "cols.edf").write_bytes(raw.replace(b"Dim_1 = 48 ", b"Dim_1 = 40 "))
    with pytest.raises(ImageReadError, match=r"^corrupt EDF: frame 0 is 48x40 \(3840 bytes\) but its Size is 4608"):
        list(read_frames(tmp_path / "cols.edf"))
    (tmp_path / "rows.edf").write_bytes(raw.replace(b"Dim_2 = 48 ", b"Dim_2 = 24 "))
    with pytest.raises(ImageReadError, match="the dimensions do not describe the data"):
        list(read_frames(tmp_path / "rows.edf"))
    data = rings(6).astype(np.uint16)[:47]  # 4512 bytes in a block padded to 4608
    EdfImage(data=data).write(str(tmp_path / "short.edf"))
    raw = (tmp_path / "short.edf").read_bytes()
    (tmp_path / "padded.edf").write_bytes(raw.replace(b"Size = 4512 ", b"Size = 4608 ") + bytes(96))
    assert np.array_equal(read_frame(tmp_path / "padded.edf").data, data)


def test_a_stack_of_16_bit_frame_triples_reads_as_frames_not_colour(tmp_path):
    """tifffile stores a (N, 3, Y, X) uint16 array as N planar "RGB" pages. A (3, Y, X) one already read as three
    frames; before, with N in front, each triple was mixed into one float32 luminance frame: a wrong image."""
    stack = np.stack([[rings(10 + 3 * i + j) for j in range(3)] for i in range(2)]).astype(np.uint16)
    tifffile.imwrite(tmp_path / "triples.tif", stack, photometric="rgb", planarconfig="separate")
    got = list(read_frames(tmp_path / "triples.tif"))
    assert [f.index for f in got] == list(range(6))
    assert all(f.data.dtype == np.uint16 and np.array_equal(f.data, stack[f.index // 3, f.index % 3]) for f in got)
    assert np.array_equal(read_frame(tmp_path / "triples.tif", 4).data, stack[1, 1])


def test_a_nexus_signal_naming_nothing_is_refused_not_replaced_by_another_array(settings, tmp_path):
    """Before, a default plot whose `signal` names no dataset fell back to the largest array in the file: here
    the detector's flat field was imported as a frame, without a word."""
    data = tmp_path / "data"
    data.mkdir()
    with h5py.File(data / "scan.nxs", "w") as f:
        f.attrs["default"] = "entry"
        f.create_group("entry").attrs["default"] = "plot"
        f.create_group("entry/plot").attrs["signal"] = np.array([b"frames"])  # a one-element array, as some write
        f["entry/instrument/detector/flatfield"] = np.ones((48, 48), np.float32)
    tifffile.imwrite(data / "good.tif", rings(7).astype(np.uint16))
    ws = Workspace.open(settings.with_(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [data])
        reason = "NeXus plot /entry/plot: its signal 'frames' names no dataset (pass --dataset to choose one)"
        assert res.imported == 1 and res.errors == [f"{data / 'scan.nxs'}: {reason}"]
        chosen = import_paths(ws, [data / "scan.nxs"], dataset="/entry/instrument/detector/flatfield")
        assert chosen.imported == 1 and not chosen.errors
    finally:
        ws.store.dispose()


def test_grey_samples_that_are_data_read_as_frames_and_alpha_is_dropped(tmp_path):
    """tifffile writes a (Y, X, 2) array (two detector channels) as grey with an extra sample of unspecified
    meaning. Before, the second channel was dropped without a word, and five samples were refused; grey plus
    alpha still reads as the grey alone."""
    two = np.stack([rings(20), rings(21)], -1).astype(np.uint16)
    tifffile.imwrite(tmp_path / "two.tif", two, photometric="minisblack", planarconfig="contig")
    got = list(read_frames(tmp_path / "two.tif"))
    assert len(got) == 2 and all(np.array_equal(f.data, two[..., f.index]) for f in got)
    five = np.stack([rings(22 + c) for c in range(5)], -1).astype(np.uint16)
    tifffile.imwrite(tmp_path / "five.tif", five, photometric="minisblack", planarconfig="contig")
    assert np.array_equal(read_frame(tmp_path / "five.tif", 3).data, five[..., 3])
    grey = np.clip(rings(27), 0, 255).astype(np.uint8)
    alpha = np.stack([grey, np.full_like(grey, 255)], -1)
    tifffile.imwrite(tmp_path / "alpha.tif", alpha, photometric="minisblack", extrasamples=["unassalpha"])
    (only,) = read_frames(tmp_path / "alpha.tif")
    assert np.array_equal(only.data, grey)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_manifest_that_is_a_named_pipe_or_a_device_is_named_and_never_opened(settings, tmp_path):
    """Before, a named pipe called `metadata.jsonl` in a folder (or given as --metadata) blocked the import
    forever, and `--metadata /dev/zero` read until memory ran out."""
    data = tmp_path / "data"
    data.mkdir()
    tifffile.imwrite(data / "a.tif", rings(30).astype(np.uint16))
    os.mkfifo(data / "metadata.jsonl")
    ws = Workspace.open(settings.with_(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [data])
        pipe = "cannot read manifest (not a regular file (a named pipe))"
        assert res.imported == 1 and res.errors == [f"{data / 'metadata.jsonl'}: {pipe}"]
        res = import_paths(ws, [data / "a.tif"], metadata="/dev/zero")
        assert res.duplicates == 1 and res.errors == [
            "/dev/zero: cannot read manifest (not a regular file (a device))"
        ]
    finally:
        ws.store.dispose()


def test_a_bruker_frame_is_named_bruker_not_by_its_number(tmp_path):
    """Before, a cut Bruker frame `scan_01.004` failed as "cannot read as 004: ...": its number, not its format."""
    from fabio.brukerimage import BrukerImage

    BrukerImage(data=np.clip(rings(40), 0, 255).astype(np.uint16)).write(str(tmp_path / "scan_01.004"))
    raw = (tmp_path / "scan_01.004").read_bytes()
    (tmp_path / "scan_01.004").write_bytes(raw[:3500])  # the 2560-byte header and 940 of 2304 pixels
    with pytest.raises(ImageReadError, match=r"^cannot read as Bruker: cannot reshape array of size \d+ into"):
        list(read_frames(tmp_path / "scan_01.004"))


def test_an_adsc_header_with_an_unknown_data_type_says_so_plainly(tmp_path):
    """Before: "cannot read as IMG: [Errno Data_type key contains an invalid/unsupported value: %s] float"
    (fabio raises OSError(message, value), which Python prints as an errno)."""
    AdscImage(data=rings(41).astype(np.uint16)).write(str(tmp_path / "a.img"))
    raw = (tmp_path / "a.img").read_bytes()
    (tmp_path / "a.img").write_bytes(raw.replace(b"unsigned short int", b"float".ljust(18)))
    with pytest.raises(ImageReadError) as exc:
        list(read_frames(tmp_path / "a.img"))
    assert str(exc.value) == "cannot read as IMG: Data_type key contains an invalid/unsupported value: float"


def test_soft_links_in_a_loop_are_named_as_such(tmp_path):
    """Before: "corrupt or unsupported H5 file (the reader could not parse it)" for --dataset naming a soft-link
    loop, and a NeXus signal that is one fell back to the largest array in the file (the flat field)."""
    with h5py.File(tmp_path / "loop.nxs", "w") as f:
        f.attrs["default"] = "entry"
        f.create_group("entry").attrs["default"] = "plot"
        f.create_group("entry/plot").attrs["signal"] = "data"
        f["entry/plot/data"] = h5py.SoftLink("/entry/plot/other")
        f["entry/plot/other"] = h5py.SoftLink("/entry/plot/data")
        f["entry/instrument/detector/flatfield"] = np.ones((48, 48), np.float32)
        f["g"] = h5py.SoftLink("/g")
    loop = re.escape("is a loop of soft links (each names the next, none a dataset)")
    with pytest.raises(ImageReadError, match=f"^'/entry/plot/data' {loop}"):
        list(read_frames(tmp_path / "loop.nxs"))
    with pytest.raises(ImageReadError, match=f"^'g' {loop}"):
        list(read_frames(tmp_path / "loop.nxs", dataset="/g/x"))


def test_a_gzipped_tiff_hdf5_or_npy_is_refused_as_compressed(tmp_path):
    """A folder walk takes `x.tif.gz` (fabio formats are read compressed); before, it failed as "not a TIFF file:
    header=b'\\x1f\\x8b...'" or "file signature not found", which does not say what to do."""
    tifffile.imwrite(tmp_path / "a.tif", rings(50).astype(np.uint16))
    np.save(tmp_path / "a.npy", rings(51))
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["x"] = rings(52)
    for name, fmt in (("a.tif", "TIF"), ("a.npy", "NPY"), ("a.h5", "H5")):
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress((tmp_path / name).read_bytes()))
        with pytest.raises(ImageReadError, match=f"^{fmt} file compressed as .gz: only detector formats read through"):
            list(read_frames(tmp_path / f"{name}.gz"))


def test_an_hdf5_file_of_thin_arrays_says_what_a_frame_needs(tmp_path):
    """Before, a file whose only 2-D array is 1x200 (an integrated profile kept 2-D) was said to hold "no
    numeric image dataset (2-D or more)", which it does."""
    with h5py.File(tmp_path / "thin.h5", "w") as f:
        f["profile"] = rings(53, 200)[:1]
    with pytest.raises(ImageReadError) as exc:
        list(read_frames(tmp_path / "thin.h5"))
    assert str(exc.value) == "no numeric image dataset (2-D or more, at least 8 pixels a side) in the file"
    with pytest.raises(ImageReadError, match="frame 0: 1x200 is smaller than the minimum side of 8 pixels"):
        list(read_frames(tmp_path / "thin.h5", dataset="/profile"))


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (0, 0, "MAR345 header: no byte-order mark 1234 in its first 4 bytes (not a MAR345 plate)"),
        (4, 0, "MAR345 header: a 0-pixel side and 2304 pixels are not a frame"),
        (4, 100000, "MAR345 header: a 100000-pixel side and 2304 pixels are not a frame"),
        (16, 7, "MAR345 header: collection mode 7 is neither dose (0) nor time (1)"),
    ],
    ids=["no-mark", "side-0", "side-huge", "mode"],
)
def test_a_broken_mar345_header_names_the_field(tmp_path, offset, value, reason):
    """Before: "corrupt or unsupported MAR3450 file" (fabio's ZeroDivisionError or bare KeyError), or for a side
    of 100000 "header says 0x100000, packed image 48x48"."""
    raw = bytearray(_mar345(tmp_path / "good.mar3450", rings(60).astype(np.uint32)))
    struct.pack_into("<i", raw, offset, value)
    (tmp_path / "bad.mar3450").write_bytes(bytes(raw))
    with pytest.raises(ImageReadError) as exc:
        list(read_frames(tmp_path / "bad.mar3450"))
    assert str(exc.value) == reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_an_external_link_to_a_named_pipe_says_what_it_is(tmp_path):
    """Before: "external link target data.h5 not found", though it is there (a named pipe, never opened)."""
    os.mkfifo(tmp_path / "data.h5")
    with h5py.File(tmp_path / "master.h5", "w") as f:
        f["entry/data/data"] = h5py.ExternalLink("data.h5", "/entry/data/data")
    with h5py.File(tmp_path / "vds.h5", "w") as f:
        layout = h5py.VirtualLayout(shape=(48, 48), dtype=np.int32)
        layout[:] = h5py.VirtualSource("data.h5", "x", shape=(48, 48))
        f.create_virtual_dataset("image", layout, fillvalue=0)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [tmp_path / "master.h5", tmp_path / "vds.h5"])
        pipe = "data.h5: not a regular file (a named pipe)"
        assert res.errors == [
            f"{tmp_path / 'master.h5'}: external link target {tmp_path / pipe}",
            f"{tmp_path / 'vds.h5'}: virtual dataset source {tmp_path / pipe}",
        ]
    finally:
        ws.store.dispose()


def test_frames_sharing_one_hdf5_chunk_are_decompressed_once_and_huge_chunks_refused(tmp_path, monkeypatch):
    """Before, HDF5's default chunk cache (1 or 8 MiB) kept no larger chunk, so a chunk holding many frames was
    decompressed whole again for every frame read: 64 frames of 1024x1024 in one gzip chunk took 20 s, and the
    cost grows with the square of the frames a chunk holds."""
    import scatterloop.core.io_hdf5 as io_hdf5

    frame = np.tile(rings(70, 64), (16, 8)).astype(np.uint16)
    stack = np.stack([frame + k for k in range(16)])  # 16 MiB, one chunk
    with h5py.File(tmp_path / "one_chunk.h5", "w") as f:
        f.create_dataset("x", data=stack, chunks=stack.shape, compression="gzip", compression_opts=1)
    reader = io_hdf5.Hdf5Reader(tmp_path / "one_chunk.h5", None, 10**8)
    try:
        assert reader._ds.id.get_access_plist().get_chunk_cache()[1] >= stack.nbytes
        assert np.array_equal(reader.frame(9), stack[9])
    finally:
        reader.close()
    with h5py.File(tmp_path / "master.h5", "w") as f:  # read through a link: the linked file opened with the cache
        f["entry/data/data"] = h5py.ExternalLink("one_chunk.h5", "/x")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [tmp_path / "master.h5"])
        assert res.imported == 16 and not res.errors
    finally:
        ws.store.dispose()
    monkeypatch.setattr(io_hdf5, "MAX_CHUNK_CACHE", 8 << 20)
    with pytest.raises(ImageReadError, match=r"^HDF5 dataset /x: chunks \(16, 1024, 512\) hold 16 frames \(16 MiB\)"):
        list(read_frames(tmp_path / "one_chunk.h5"))
