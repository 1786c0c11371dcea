"""Reading every supported format losslessly, masks, normalisation, and clear errors for bad files."""

from __future__ import annotations

import bz2
import gzip
import struct

import fabio
import h5py
import numpy as np
import pytest
import tifffile
from PIL import Image

from scatterloop.core.io import ImageReadError, display_normalise, model_normalise, read_frames, thumbnail_png

RNG = np.random.default_rng(0)
DATA_I32 = RNG.integers(0, 50_000, (40, 48)).astype(np.int32)


def _one(path, **kw):
    frames = list(read_frames(path, **kw))
    assert len(frames) == 1
    return frames[0]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32])
def test_tiff_lossless(tmp_path, dtype):
    data = (DATA_I32 % 200).astype(dtype) if dtype == np.uint8 else DATA_I32.astype(dtype)
    tifffile.imwrite(tmp_path / "x.tif", data)
    frame = _one(tmp_path / "x.tif")
    assert frame.data.dtype == dtype and np.array_equal(frame.data, data)


def test_png_8_and_16_bit_and_jpg(tmp_path):
    d8 = (DATA_I32 % 256).astype(np.uint8)
    Image.fromarray(d8).save(tmp_path / "a.png")
    assert np.array_equal(_one(tmp_path / "a.png").data, d8)
    d16 = (DATA_I32 % 65535).astype(np.uint16)
    Image.fromarray(d16).save(tmp_path / "b.png")
    assert np.array_equal(_one(tmp_path / "b.png").data.astype(np.uint16), d16)
    Image.fromarray(d8).convert("RGB").save(tmp_path / "c.jpg")
    assert _one(tmp_path / "c.jpg").data.shape == d8.shape


def test_fabio_formats_including_compressed_cbf(tmp_path):
    fabio.edfimage.EdfImage(data=DATA_I32).write(str(tmp_path / "a.edf"))
    fabio.cbfimage.CbfImage(data=DATA_I32).write(str(tmp_path / "a.cbf"))
    raw = (tmp_path / "a.cbf").read_bytes()
    (tmp_path / "b.cbf.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "c.cbf.bz2").write_bytes(bz2.compress(raw))
    (tmp_path / "D.CBF.GZ").write_bytes(gzip.compress(raw))  # fabio decompresses by a lower-case suffix only
    (tmp_path / "E.EDF.BZ2").write_bytes(bz2.compress((tmp_path / "a.edf").read_bytes()))
    fabio.adscimage.AdscImage(data=DATA_I32.astype(np.uint16)).write(str(tmp_path / "a.img"))
    mar = RNG.integers(0, 60_000, (64, 64)).astype(np.uint16)  # fabio's MarCCD writer needs >= 3 kB of pixels
    fabio.marccdimage.MarccdImage(data=mar).write(str(tmp_path / "a.mccd"))
    for name in ("a.edf", "a.cbf", "b.cbf.gz", "c.cbf.bz2", "D.CBF.GZ", "E.EDF.BZ2"):
        assert np.array_equal(_one(tmp_path / name).data, DATA_I32), name
    assert np.array_equal(_one(tmp_path / "a.img").data, DATA_I32.astype(np.uint16))
    assert np.array_equal(_one(tmp_path / "a.mccd").data, mar)


def _write_spe(path, data: np.ndarray) -> None:
    """A WinView/WinSpec SPE (v2) file: 4100-byte header, then uint16 frames."""
    header = bytearray(4100)
    struct.pack_into("<H", header, 42, data.shape[1])  # xdim
    struct.pack_into("<h", header, 108, 3)  # datatype 3: uint16
    struct.pack_into("<H", header, 656, data.shape[0])  # ydim
    struct.pack_into("<i", header, 1446, 1)  # number of frames
    header[20:29] = b"21Nov2026"  # collection date (ddMMMyyyy) and time (hhmmss), as WinView writes them
    header[172:178] = b"120000"
    path.write_bytes(bytes(header) + data.astype("<u2").tobytes())


def test_spe(tmp_path):
    data = DATA_I32.astype(np.uint16)
    _write_spe(tmp_path / "a.spe", data)
    assert np.array_equal(_one(tmp_path / "a.spe").data, data)


def test_hdf5_largest_named_and_stack(tmp_path):
    stack = RNG.integers(0, 100, (3, 20, 24)).astype(np.int32)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["entry/meta/energy"] = 12.0
        f["entry/a_flat/image"] = DATA_I32[:20, :24]  # one frame-sized array before the stack: the stack is bigger
        f["entry/data/stack"] = stack
    frames = list(read_frames(tmp_path / "a.h5"))
    assert len(frames) == 3 and np.array_equal(frames[2].data, stack[2]) and frames[0].dataset == "/entry/data/stack"
    named = _one(tmp_path / "a.h5", dataset="/entry/a_flat/image")
    assert np.array_equal(named.data, DATA_I32[:20, :24])
    with pytest.raises(ImageReadError, match="no dataset"):
        list(read_frames(tmp_path / "a.h5", dataset="/nope"))


def test_npy_stack_and_hexrd_frame_cache(tmp_path):
    np.save(tmp_path / "s.npy", np.stack([DATA_I32, DATA_I32 + 1]))
    assert len(list(read_frames(tmp_path / "s.npy"))) == 2
    dense = np.zeros((30, 40), np.uint16)
    dense[[1, 5, 7], [2, 3, 39]] = [10, 20, 30]
    np.savez(
        tmp_path / "fc.npz",
        shape=np.array([30, 40]),
        nframes=np.array(1),
        dtype=np.array("uint16"),
        **{"0_row": np.array([1, 5, 7]), "0_col": np.array([2, 3, 39]), "0_data": np.array([10, 20, 30])},
    )
    assert np.array_equal(_one(tmp_path / "fc.npz").data, dense)


def test_gaps_dead_pixels_and_nan_are_masked_not_data():
    data = DATA_I32.astype(np.float32)
    data[5, :] = -1  # module gap
    data[7, 7] = -2  # dead pixel
    data[9, 9] = np.nan
    from scatterloop.core.io import make_mask

    mask = make_mask(data)
    assert mask[5].all() and mask[7, 7] and mask[9, 9] and mask.sum() == 48 + 2
    disp = display_normalise(data, mask)
    model = model_normalise(data, mask)
    assert np.isfinite(disp).all() and np.isfinite(model).all()
    assert (disp[mask] == 0).all() and (model[mask] == 0).all()
    assert disp.min() >= 0 and disp.max() <= 1 and model.min() >= -1 and model.max() <= 1
    assert not np.allclose(disp[~mask], (model[~mask] + 1) / 2)  # two different normalisations
    std = model_normalise(data, mask, mode="standardise")
    assert abs(std[~mask].mean()) < 1e-4 and abs(std[~mask].std() - 1) < 1e-3
    png = thumbnail_png(data, mask, max_side=16)
    assert Image.open(__import__("io").BytesIO(png)).size == (16, 13)


@pytest.mark.parametrize(
    ("header", "masked"),
    [
        ({"Dummy": "7", "DDummy": "0.5"}, {(2, 3), (4, 5)}),  # within the tolerance of the dummy value
        ({"Dummy": "7"}, {(2, 3)}),  # no DDummy: exactly the value
        ({"Dummy": "0", "DDummy": "0.1"}, set()),  # 0: the ESRF programs' "no dummy"
        ({"Dummy": "n/a"}, set()),  # not a number: no dummy, the frame is still read
    ],
)
def test_edf_dummy_pixels_are_masked(tmp_path, header, masked):
    data = np.full((20, 24), 100.0, np.float32)
    data[2, 3], data[4, 5], data[6, 7] = 7.0, 7.4, 7.6
    fabio.edfimage.EdfImage(data=data, header=header).write(str(tmp_path / "d.edf"))
    frame = _one(tmp_path / "d.edf")
    assert set(zip(*np.nonzero(frame.mask), strict=True)) == masked
    assert np.array_equal(frame.data, data)  # the values themselves are kept


def _compressed_edf(path, data, compression, extra=0):
    """An EDF whose frame is compressed inside it, as ESRF writers do; `extra` zero bytes inflate after the frame."""
    import zlib

    raw = data.astype("<i4").tobytes() + bytes(extra)
    payload = {
        "gzip": lambda b: gzip.compress(b),
        "zlib": lambda b: zlib.compress(b),
        "bz2": lambda b: bz2.compress(b),
    }[compression](raw)
    path.write_bytes(_edf_head(data.shape, len(payload), compression) + payload)


def _edf_head(shape, size: int, compression: str) -> bytes:
    h, w = shape
    head = (
        "{\nHeaderID = EH:000001:000000:000000 ;\nImage = 1 ;\nByteOrder = LowByteFirst ;\n"
        f"DataType = SignedInteger ;\nDim_1 = {w} ;\nDim_2 = {h} ;\nSize = {size} ;\nCompression = {compression} ;\n"
    ).encode()
    return head + b" " * (1022 - len(head)) + b"}\n"


@pytest.mark.parametrize("compression", ["gzip", "zlib", "bz2"])
def test_edf_compressed_inside_is_read_and_a_bomb_refused_before_it_inflates(tmp_path, compression):
    _compressed_edf(tmp_path / "ok.edf", DATA_I32, compression)
    assert np.array_equal(_one(tmp_path / "ok.edf").data, DATA_I32)
    _compressed_edf(tmp_path / "bomb.edf", DATA_I32, compression, extra=64 << 20)  # 64 MiB of zeros after it
    with pytest.raises(ImageReadError, match=r"data inflate to more than the 7680 bytes of its 40x48 frame"):
        _one(tmp_path / "bomb.edf")
    if compression == "gzip":  # a second gzip member after the frame's own
        payload = gzip.compress(DATA_I32.astype("<i4").tobytes()) + gzip.compress(bytes(64 << 20))
        (tmp_path / "members.edf").write_bytes(_edf_head(DATA_I32.shape, len(payload), "gzip") + payload)
        with pytest.raises(ImageReadError, match=r"data inflate to more than"):
            _one(tmp_path / "members.edf")


def make_bad_folder(folder):
    """The folder the issue names: good files plus each kind of bad one."""
    folder.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(folder / "good.tif", DATA_I32)
    np.save(folder / "good.npy", DATA_I32.astype(np.float32) + 1)
    tifffile.imwrite(folder / "truncated.tif", RNG.integers(0, 9, (256, 256)).astype(np.int32))
    raw = (folder / "truncated.tif").read_bytes()
    (folder / "truncated.tif").write_bytes(raw[: len(raw) // 3])
    (folder / "empty.edf").write_bytes(b"")
    (folder / "notes.png").write_text("this is a text file, not a PNG\n")
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(folder / "tiny.png")
    np.save(folder / "allnan.npy", np.full((32, 32), np.nan, np.float32))
    np.save(folder / "huge.npy", np.zeros((200, 200), np.uint8))
    return {"truncated.tif", "empty.edf", "notes.png", "tiny.png", "allnan.npy", "huge.npy"}


def test_bad_files_each_named_with_reason(tmp_path):
    bad = make_bad_folder(tmp_path / "mixed")
    reasons = {}
    good = 0
    for path in sorted((tmp_path / "mixed").iterdir()):
        try:
            good += len(list(read_frames(path, max_pixels=100 * 100)))
        except ImageReadError as exc:
            reasons[path.name] = str(exc)
    assert good == 2 and set(reasons) == bad
    assert "empty" in reasons["empty.edf"]
    assert "smaller than the minimum side" in reasons["tiny.png"]
    assert "no valid pixel" in reasons["allnan.npy"]
    assert "exceeds the size limit" in reasons["huge.npy"]
    assert all("\n" not in r for r in reasons.values())


@pytest.mark.parametrize("compression", ["lzw", "zstd", "deflate"])
def test_compressed_tiffs_read_back_exactly(tmp_path, compression):
    data = RNG.integers(0, 60_000, (40, 48)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "c.tif", data, compression=compression)  # decoded by imagecodecs
    np.testing.assert_array_equal(_one(tmp_path / "c.tif").data, data)
    Image.fromarray(DATA_I32, "I").save(tmp_path / "pil.tif", compression="tiff_lzw")  # as PIL writes LZW
    np.testing.assert_array_equal(_one(tmp_path / "pil.tif").data, DATA_I32)


@pytest.mark.parametrize("n", [3, 4])
def test_a_short_16_bit_stack_that_tifffile_tags_rgb_reads_as_frames(tmp_path, n):
    stack = RNG.integers(0, 60_000, (n, 40, 48)).astype(np.uint16)
    extra = {"extrasamples": ["unassalpha"]} if n == 4 else {}  # what tifffile writes for it by default today
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="rgb", planarconfig="separate", **extra)
    frames = list(read_frames(tmp_path / "s.tif"))
    assert len(frames) == n
    for k, frame in enumerate(frames):
        np.testing.assert_array_equal(frame.data, stack[k])
    rgb = RNG.integers(0, 255, (3, 40, 48)).astype(np.uint8)  # an 8-bit RGB picture stays one grey frame
    tifffile.imwrite(tmp_path / "p.tif", rgb, photometric="rgb", planarconfig="separate")
    assert len(list(read_frames(tmp_path / "p.tif"))) == 1
