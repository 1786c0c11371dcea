"""A folder of hostile and broken inputs next to good frames, built small by the tests that use it."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import fabio
import h5py
import numpy as np
import tifffile
from PIL import Image

RNG = np.random.default_rng(11)


def frame(seed: int, dtype=np.int32) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 5000, (64, 64)).astype(dtype)


def _png(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 999)) + chunk(b"IEND", b"")
    )


def _truncate(path: Path, keep: float = 0.6) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def _edf_header(dim1: int, dim2: int) -> bytes:
    text = (
        "{\nHeaderID = EH:000001:000000:000000 ;\nImage = 1 ;\nByteOrder = LowByteFirst ;\n"
        f"DataType = UnsignedShort ;\nDim_1 = {dim1} ;\nDim_2 = {dim2} ;\nSize = {dim1 * dim2 * 2} ;\n"
    )
    return (text.ljust(510) + "}\n").encode()


def make_hostile_folder(root: Path) -> tuple[Path, set[str], set[str]]:
    """Returns (folder, names of good files, names shown for bad inputs relative to the folder)."""
    d, out = root / "in", root / "outside"
    d.mkdir(parents=True)
    out.mkdir()
    good = {"good1.tif", "good2.edf", "good3.cbf", "good4.h5", "good5.npy", "good6.png", "vds_ok.h5", "ext_ok.h5"}
    tifffile.imwrite(d / "good1.tif", frame(1))
    fabio.edfimage.EdfImage(data=frame(2)).write(str(d / "good2.edf"))
    fabio.cbfimage.CbfImage(data=frame(3)).write(str(d / "good3.cbf"))
    with h5py.File(d / "good4.h5", "w") as f:
        f["entry/data"] = frame(4)
    np.save(d / "good5.npy", frame(5).astype(np.float32))
    Image.fromarray(frame(6).astype(np.uint8)).save(d / "good6.png")
    tifffile.imwrite(out / "elsewhere.tif", frame(7))
    for name, folder, seed in (("src.dat", d, 8), ("far.dat", out, 9), ("link.dat", d, 10), ("farlink.dat", out, 12)):
        with h5py.File(folder / name, "w") as f:
            f["data"] = frame(seed)
    for name, source in (
        ("vds_ok.h5", "src.dat"),
        ("vds_outside.h5", "../outside/far.dat"),
        ("vds_missing.h5", "gone.h5"),
    ):
        layout = h5py.VirtualLayout(shape=(64, 64), dtype=np.int32)
        layout[:] = h5py.VirtualSource(source, "data", shape=(64, 64))
        with h5py.File(d / name, "w") as f:
            f.create_virtual_dataset("image", layout, fillvalue=0)
    for name, target in (
        ("ext_ok.h5", "link.dat"),
        ("ext_outside.h5", "../outside/farlink.dat"),
        ("ext_missing.h5", "no.h5"),
    ):
        with h5py.File(d / name, "w") as f:
            f["entry/image"] = h5py.ExternalLink(target, "/data")

    bad: set[str] = set()
    # truncated files of every format
    for name, writer in (
        ("trunc.tif", lambda p: tifffile.imwrite(p, frame(20))),
        ("trunc_zlib.tif", lambda p: tifffile.imwrite(p, frame(21), compression="zlib")),
        ("trunc.edf", lambda p: fabio.edfimage.EdfImage(data=frame(22)).write(str(p))),
        ("trunc.cbf", lambda p: fabio.cbfimage.CbfImage(data=frame(23)).write(str(p))),
        ("trunc.h5", lambda p: h5py.File(p, "w").__enter__().create_dataset("x", data=frame(24)).file.close()),
        ("trunc.npy", lambda p: np.save(p, frame(25))),
        ("trunc.npz", lambda p: np.savez(p, a=frame(26))),
        ("trunc.png", lambda p: Image.fromarray(frame(27).astype(np.uint8)).save(p)),
        ("trunc.jpg", lambda p: Image.fromarray(frame(28).astype(np.uint8)).save(p)),
    ):
        writer(d / name)
        _truncate(d / name)
        bad.add(name)
    # zero-byte files and text files renamed
    for ext in (".tif", ".edf", ".cbf", ".h5", ".npy", ".npz", ".png", ".img"):
        (d / f"empty{ext}").write_bytes(b"")
        (d / f"text{ext}").write_text("this is a plain text file, not an image\n" * 3)
        bad |= {f"empty{ext}", f"text{ext}"}
    # header bombs: tiny files that claim enormous frames
    tifffile.imwrite(d / "bomb.tif", frame(30).astype(np.uint8))
    raw = bytearray((d / "bomb.tif").read_bytes())
    with tifffile.TiffFile(d / "bomb.tif") as tif:
        for tag in ("ImageWidth", "ImageLength"):
            t = tif.pages[0].tags[tag]
            struct.pack_into("<H" if t.dtype == 3 else "<I", raw, t.valueoffset, 60000)
    (d / "bomb.tif").write_bytes(bytes(raw))
    (d / "bomb.edf").write_bytes(_edf_header(100000, 100000) + b"\0" * 1024)
    cbf = (d / "good3.cbf").read_bytes()
    for key in (b"X-Binary-Size-Fastest-Dimension: 64", b"X-Binary-Size-Second-Dimension: 64"):
        cbf = cbf.replace(key, key[:-2] + b"100000")
    (d / "bomb.cbf").write_bytes(cbf)
    with h5py.File(d / "bomb.h5", "w") as f:
        f.create_dataset("x", shape=(100000, 100000), dtype="u2", chunks=(64, 64))
    (d / "bomb.png").write_bytes(_png(100000, 100000))
    Image.fromarray(frame(31).astype(np.uint8)).save(d / "bomb.jpg")
    jpg = bytearray((d / "bomb.jpg").read_bytes())
    struct.pack_into(">HH", jpg, jpg.index(b"\xff\xc0") + 5, 60000, 60000)
    (d / "bomb.jpg").write_bytes(bytes(jpg))
    with open(d / "bomb.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<u2", "fortran_order": False, "shape": (100000, 100000)})
        fh.write(b"\0" * 1024)
    bad |= {"bomb.tif", "bomb.edf", "bomb.cbf", "bomb.h5", "bomb.png", "bomb.jpg", "bomb.npy"}
    # pickles, multi-panel imgCIF, a broken frame cache, HDF5 data outside or missing
    np.save(d / "pickled.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.savez(d / "pickled.npz", a=np.array([{"a": 1}], dtype=object))
    (d / "panels.cbf").write_bytes(cbf.replace(b"100000", b"64") + cbf[cbf.index(b"--CIF-BINARY-FORMAT-SECTION--") :])
    np.savez(
        d / "cache_bad.npz",
        shape=np.array([30, 40]),
        nframes=np.array(2),
        dtype=np.array("uint16"),
        **{"0_row": np.array([1]), "0_col": np.array([2]), "0_data": np.array([10])},
        **{"1_row": np.array([99]), "1_col": np.array([2]), "1_data": np.array([10])},
    )
    with h5py.File(d / "unwritten.h5", "w") as f:
        ds = f.create_dataset("x", shape=(128, 128), dtype="u2", chunks=(64, 64))
        ds[:64, :64] = 7
    bad |= {"pickled.npy", "pickled.npz", "panels.cbf", "cache_bad.npz", "unwritten.h5"}
    # damage fabio only logs (the CLI silences its log): a CBF whose binary block fails its MD5, an EDF whose
    # Dim_2 claims 100 times the rows its Size and data hold
    cbf = bytearray((d / "good3.cbf").read_bytes())
    at = cbf.index(b"\x0c\x1a\x04\xd5") + 24
    cbf[at : at + 50] = bytes(50)
    (d / "checksum.cbf").write_bytes(bytes(cbf))
    fabio.edfimage.EdfImage(data=frame(32)).write(str(d / "rows_lie.edf"))
    edf = (d / "rows_lie.edf").read_bytes()
    head = edf[: edf.index(b"}\n")]
    lied = head.replace(b"Dim_2 = 64 ;", b"Dim_2 = 6400 ;")
    assert lied != head and lied.endswith(b"  ")
    (d / "rows_lie.edf").write_bytes(lied[: len(head)] + edf[len(head) :])
    bad |= {"checksum.cbf", "rows_lie.edf"}
    bad |= {"vds_outside.h5", "vds_missing.h5", "ext_outside.h5", "ext_missing.h5"}
    # symlinks out of the folder, broken ones, odd names
    os.symlink(out / "elsewhere.tif", d / "link_out.tif")
    os.symlink(out, d / "link_dir")
    os.symlink(d / "nothing.tif", d / "broken.tif")
    (d / "new\nline.tif").write_text("not a tiff")
    (d / "ünï✓code.edf").write_bytes(b"{\nnot really an edf\n")
    bad |= {"link_out.tif", "link_dir", "broken.tif", "new\\nline.tif", "ünï✓code.edf"}
    # manifests: broken lines and rows, escaping paths, a CSV without file_name
    (d / "metadata.jsonl").write_text(
        '{"file_name": "good1.tif", "text": "good one"}\n{broken\n{"text": "no name"}\n[1, 2]\n'
        '{"file_name": "../outside/elsewhere.tif"}\n'
    )
    (d / "sub").mkdir()
    (d / "sub" / "metadata.csv").write_text("name,text\nx.tif,hello\n")
    bad |= {"metadata.jsonl:2", "metadata.jsonl:3", "metadata.jsonl:4", "metadata.jsonl:5", "sub/metadata.csv:1"}
    return d, good, bad
