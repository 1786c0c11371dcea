"""Detector formats read through fabio (EDF, CBF, ADSC, MAR345, MarCCD, SPE, Bruker, ...), header first.

`fabio.open` decodes the first frame at once, sized by whatever the header claims (a 1 KB EDF claiming
100000x100000 is a MemoryError), and pads a short data block with zeros, saying so only in its log. So the
reader opens the header alone (`fabio.openheader`), checks the declared shape and data length, refuses
what fabio cannot read safely, and only then decodes, turning fabio's logged complaints into errors.
"""

from __future__ import annotations

import logging
import math
import mmap
import re
import struct
from pathlib import Path

import numpy as np

from .io_edf import check_edf, edf_reason
from .io_readers import header_dummy, header_overload, open_plain, suffix_plain
from .io_safety import ImageReadError, check_pixels, raise_on_fabio_complaint, reader_complaints

log = logging.getLogger(__name__)

CIRCULAR_CLASSES = {"Mar345Image", "MarccdImage"}  # round active areas, exactly zero outside
TIFF_BASED = {".mccd", ".marccd"}
CBF_BINARY_MARK = b"\x0c\x1a\x04\xd5"
CBF_BOUNDARY = b"--CIF-BINARY-FORMAT-SECTION--"
CBF_HEADER_MAX = 1 << 16  # bytes of MIME header searched for a section's size
PCK_KEYS = (b"CCP4 packed image V2, X: ", b"CCP4 packed image, X: ")
PCK_BITS = (0, 4, 5, 6, 7, 8, 16, 32)  # bits per value of a CCP4 pack block, by its 3-bit code
MAR345_HEADER = 4096  # binary and text header; the high-intensity records follow it
# Bytes a frame's pixel may take in any fabio format (MAR345: packed values up to 4, an overflow record 8), and
# what a header, CIF metadata or padding may add; a file far longer is refused before fabio reads it whole
BYTES_PER_PIXEL = 16
HEADER_ALLOWANCE = 1 << 20
SIZED_BY_FILE = {"EdfImage", "GeImage"}  # frames read one by one, counted by fabio from the file's length


def _fmt(path: Path) -> str:
    from .io import _fmt_name, suffix_of

    return _fmt_name(suffix_of(path)) if suffix_of(path) else "detector image"


def _refuse_zero_start(path: Path, fmt: str) -> None:
    """fabio takes any file that begins with ten zero bytes for a GE detector's raw stack (whose header may be
    blank), so a block of zeros named `.cbf` would import as a 2048 x 2048 frame: a file named as another format
    that fabio reads is refused instead."""
    from .io import FABIO_HINT, GE_SUFFIXES, suffix_of

    if suffix_of(path) not in FABIO_HINT - GE_SUFFIXES:
        return
    with open_plain(path) as fh:
        head = fh.read(10)
    if len(head) == 10 and not any(head):
        raise ImageReadError(f"no {fmt} header: the file begins with zero bytes")


def _binary_sections(path: Path) -> tuple[int, int]:
    """How many binary sections a CBF holds, and where the first one's mark is (-1 if none).

    The walk skips each section's data by the `X-Binary-Size` of its MIME header: the 4-byte start mark also
    occurs inside compressed pixels (byte-offset differences of 12, 26, 4 and -43 in a row), and counting it there
    refused a single-panel Pilatus frame as multi-panel. A section header without a size is searched on byte by
    byte, and every opening MIME boundary counts as a section whatever the sizes claim.
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        first = pos = mm.find(CBF_BINARY_MARK)
        n = 0
        while pos >= 0:
            n += 1
            head = mm[max(mm.rfind(CBF_BOUNDARY, 0, pos), pos - CBF_HEADER_MAX, 0) : pos]
            size = re.search(rb"X-Binary-Size:[ \t]*(\d{1,18})\s", head, re.I)
            pos = mm.find(CBF_BINARY_MARK, pos + len(CBF_BINARY_MARK) + (int(size.group(1)) if size else 0))
        opened = len(re.findall(re.escape(CBF_BOUNDARY) + rb"\r?\n", mm))  # the closing one ends in '--'
    return max(n, opened), first


def _data_bytes(path: Path, limit: int) -> int:
    """The file's length, decompressed for `.gz`/`.bz2` (counted in chunks, never held), or `limit + 1` as soon as
    it is longer than `limit`. A compressed stream that ends early counts what it held (the reader names it)."""
    if suffix_plain(path):
        return path.stat().st_size
    total = 0
    try:
        with open_plain(path) as fh:
            while total <= limit and (chunk := fh.read(1 << 20)):
                total += len(chunk)
    except (OSError, EOFError, ValueError):  # a broken stream: fabio reads it and says what is wrong
        pass
    return min(total, limit + 1)


def _check_file_size(path: Path, shapes: list[tuple], max_pixels: int, fmt: str) -> None:
    """Refuse a file far longer than the frames its header declares, before fabio reads it.

    fabio reads most formats whole into memory (a compressed one decompressed whole, whatever its header says),
    so 3 MB of gzip holding 3 GB after a 48x48 header took 9 GB. No detector format needs more than
    `BYTES_PER_PIXEL` a pixel (packed data, overflow tables) besides its header; a file whose header gives no
    frame size may hold `max_pixels` bytes, as before.
    """
    limit = sum(math.prod(s) for s in shapes) * BYTES_PER_PIXEL + HEADER_ALLOWANCE if shapes else max_pixels
    if _data_bytes(path, limit) > limit:
        what = "decompressed " if not suffix_plain(path) else ""
        if not shapes:
            raise ImageReadError(f"{fmt} header gives no frame size and the {what}file is larger than the limit")
        frames = f"{len(shapes)} frames" if len(shapes) > 1 else "x".join(str(v) for v in shapes[0]) + " frame"
        raise ImageReadError(
            f"{fmt}: the {what}file is larger than {limit} bytes, far more than the {frames} its header declares"
        )


def _check_cbf(path: Path, header: dict) -> None:
    """Multi-panel imgCIF needs a full CIF reader; a short binary section is truncation, not data; dimensions
    that do not multiply to the element count describe another image (fabio decodes every element, then keeps
    as many as the dimensions hold: 48x48 values under a 24x48 header imported as their first half)."""
    dims = [header.get(f"X-Binary-Size-{axis}-Dimension") for axis in ("Fastest", "Second")]
    elements = header.get("X-Binary-Number-of-Elements")
    if elements is not None and None not in dims:
        try:
            fast, slow, count = int(dims[0]), int(dims[1]), int(elements)
        except ValueError as exc:
            raise ImageReadError("corrupt CBF: a binary size or element count is not a number") from exc
        if fast * slow != count:
            raise ImageReadError(f"corrupt CBF: its {slow}x{fast} dimensions do not hold its {count} elements")
    if path.suffix.lower() != ".cbf":
        return  # compressed (.cbf.gz): fabio's own checks and the checksum have to do
    sections, first = _binary_sections(path)
    if sections > 1:
        raise ImageReadError("multi-panel imgCIF (needs pycbf/dxtbx): not supported")
    try:
        need = int(header.get("X-Binary-Size", "0"))
    except ValueError as exc:
        raise ImageReadError("corrupt CBF: X-Binary-Size is not a number") from exc
    if first >= 0 and need:
        have = path.stat().st_size - first - len(CBF_BINARY_MARK)
        if have < need:
            raise ImageReadError(f"truncated CBF: {max(have, 0)} of {need} compressed data bytes")


def mar345_reason(path: Path) -> str | None:
    """Why fabio could not parse a MAR345 plate, read from its binary header (fabio's own words are a
    `ZeroDivisionError` for a size of 0, a bare `KeyError` when the byte-order mark is wrong); None when the
    header looks sound, or the file is not named as a MAR345 plate."""
    from .io import MAR345_SUFFIXES, suffix_of

    if suffix_of(path) not in MAR345_SUFFIXES:
        return None
    try:
        with open_plain(path) as fh:
            head = fh.read(24)
    except (OSError, EOFError):
        return None
    if len(head) < 24:
        return "MAR345 header is cut short"
    order = next((o for o in "<>" if struct.unpack(o + "i", head[:4])[0] == 1234), None)
    if order is None:
        return "MAR345 header: no byte-order mark 1234 in its first 4 bytes (not a MAR345 plate)"
    size, _, _, mode, pixels = struct.unpack(order + "5i", head[4:24])
    if size <= 0 or pixels <= 0 or pixels % size:
        return f"MAR345 header: a {size}-pixel side and {pixels} pixels are not a frame"
    if mode not in (0, 1):
        return f"MAR345 header: collection mode {mode} is neither dose (0) nor time (1)"
    return None


def _check_mar345(path: Path, shape: tuple) -> None:
    """Walk the CCP4 pack block headers of a MAR345 image before fabio decodes it.

    fabio's decoder checks nothing: a short stream leaves the rest of the frame as whatever its last block read
    past the end (a truncated plate imports as a wrong image), and blocks that claim more pixels than the frame
    holds are written past its buffer (heap corruption, a crash). The walk costs one pass over the headers.
    """
    with open_plain(path) as fh:
        raw = fh.read()
    key = next((k for k in PCK_KEYS if k in raw), None)
    if key is None:
        raise ImageReadError("corrupt MAR345: no CCP4 packed image section")
    start = raw.index(key) + len(key)
    try:
        width, height = int(raw[start : start + 4]), int(raw[start + 9 : start + 13])
    except ValueError as exc:
        raise ImageReadError("corrupt MAR345: packed image size is not a number") from exc
    if (height, width) != tuple(shape):
        raise ImageReadError(f"corrupt MAR345: header says {shape[0]}x{shape[1]}, packed image {height}x{width}")
    _check_mar345_overflow(raw, raw.index(key), width * height)
    stream = raw[start + 13 :].lstrip()  # the bytes fabio decodes, exactly as it takes them
    need, have, bit, nbits = width * height, 0, 0, len(stream) * 8
    while have < need and bit + 6 <= nbits:
        byte, off = bit >> 3, bit & 7
        head = (int.from_bytes(stream[byte : byte + 2], "little") >> off) & 63
        count = 1 << (head & 7)
        end = bit + 6 + count * PCK_BITS[head >> 3]
        if end > nbits:  # the block runs past the end of the file
            break
        bit, have = end, have + count
    if have > need:
        raise ImageReadError(f"corrupt MAR345: packed blocks describe {have} pixels, the frame has {need}")
    if have < need:
        raise ImageReadError(f"truncated or corrupt MAR345: packed data ends after {have} of {need} pixels")


def _check_mar345_overflow(raw: bytes, packed_at: int, pixels: int) -> None:
    """Check the high-intensity records (pixel number from 1, value) that follow the 4096-byte header.

    fabio takes their count from the header and reads that many pairs whatever lies there (the packed image itself,
    when the count lies), then drops a record whose pixel number is outside the frame: that pixel keeps its
    16-bit remainder (100000 counts read as 34464). Either way a wrong image was imported without a word.
    """
    order = "<" if raw[:4] == struct.pack("<i", 1234) else ">"
    (high,) = struct.unpack(order + "i", raw[8:12])
    room = max(packed_at - MAR345_HEADER, 0) // 8
    if not 0 <= high <= room:
        raise ImageReadError(
            f"corrupt MAR345: header counts {high} high-intensity pixels, the file has room for {room}"
        )
    where = np.frombuffer(raw, order + "i4", count=2 * high, offset=MAR345_HEADER)[::2]
    if high and (where.min() < 1 or where.max() > pixels):
        raise ImageReadError(
            f"corrupt MAR345: a high-intensity pixel record names a pixel outside the {pixels} pixels"
        )


def _lower_compression_name(path: Path):
    """(name for fabio, temporary folder or None). fabio decompresses only by a lower-case `.gz` / `.bz2`
    suffix, so `X.CBF.GZ` is read through a link named `X.CBF.gz` in a temporary folder."""
    import os
    import tempfile

    last = path.suffix
    if last.lower() not in {".gz", ".bz2"} or last == last.lower():
        return str(path), None
    alias = tempfile.TemporaryDirectory(prefix="scatterloop-fabio-")
    link = Path(alias.name) / (path.stem + last.lower())
    os.symlink(path.resolve(), link)
    return str(link), alias


def lenient_pilatus_header() -> None:
    """Let a CBF whose PILATUS_1.2 miniheader holds a value fabio cannot parse be read all the same.

    fabio parses that miniheader strictly when it reads a CBF, and one unreadable value (`# Exposure_time n/a s`,
    `# Beam_xy ? ?`) fails the whole file, though the pixels are fine and fabio uses the parsed miniheader only
    when it writes one. Its parser is replaced, once, by one that keeps fabio's result where fabio can parse the
    text and an empty miniheader where it cannot; the raw text stays in `_array_data.header_contents`, where
    `geometry.header` reads the beam centre."""
    from collections import OrderedDict

    import fabio.cbfimage as cbf

    strict = cbf.PilatusHeader
    if getattr(strict, "lenient", False):
        return

    class LenientPilatusHeader(strict):
        lenient = True

        def _parse(self, content):
            try:
                return super()._parse(content)
            except (ValueError, IndexError, TypeError, KeyError) as exc:
                log.debug("CBF miniheader not parsed by fabio (%s): read without it", exc)
                return OrderedDict()

    cbf.PilatusHeader = LenientPilatusHeader


class FabioReader:
    """A fabio image opened from its header; frames decoded on demand (`getframe(k)`, no earlier frames)."""

    def __init__(self, path: Path, max_pixels: int):
        import fabio

        lenient_pilatus_header()
        self._path, self.fmt = path, _fmt(path)
        self.dataset, self._img = None, None
        self._name, self._alias = _lower_compression_name(path)
        with reader_complaints() as complaints:
            if path.suffix.lower() == ".spe":  # SPE has no magic number; fabio's guess by content can pick GE
                from fabio.speimage import SpeImage

                hdr = SpeImage()
                hdr.readheader(self._name)
            else:
                _refuse_zero_start(path, self.fmt)
                try:
                    hdr = fabio.openheader(self._name)
                except Exception as exc:  # an EDF or MAR345 header fabio trips over: name the field instead
                    if (reason := edf_reason(path) or mar345_reason(path)) is not None:
                        raise ImageReadError(reason) from exc
                    raise
        raise_on_fabio_complaint(complaints, self.fmt)
        name = type(hdr).__name__
        if name == "Mar345Image" and (reason := mar345_reason(path)) is not None:  # fabio parsed it anyway
            raise ImageReadError(reason)
        self._spe = path.suffix.lower() == ".spe"
        if name == "EdfImage":
            shapes = check_edf(path, hdr, max_pixels)
        elif getattr(hdr, "_shape", None) is not None:
            shapes = [tuple(hdr._shape)]
        elif path.suffix.lower() in TIFF_BASED:
            shapes = [_tiff_shape(path)]
        else:
            shapes = []
        for shape in shapes:
            check_pixels(shape, max_pixels)
        self.nframes = max(1, int(getattr(hdr, "nframes", 1) or 1))
        if name not in SIZED_BY_FILE and not self._spe:
            _check_file_size(path, shapes * self.nframes if len(shapes) == 1 else shapes, max_pixels, self.fmt)
        if name == "CbfImage":
            _check_cbf(path, hdr.header)
        if name == "Mar345Image" and shapes:
            _check_mar345(path, shapes[0])
        if self._spe:  # fabio counts one frame; the header says how many follow it
            self.nframes = _spe_frames(path, hdr.header)
        elif name == "GeImage":  # the header does not count frames; fabio does so on opening, from the file size
            with reader_complaints() as complaints:
                self._img = fabio.open(self._name)
            raise_on_fabio_complaint(complaints, self.fmt)
            self.nframes = max(1, int(self._img.nframes))
        # an EDF data block may hold a stack (`Dim_3`): fabio gives it as one (n, y, x) array; each plane is a frame
        self._planes = [math.prod(s[:-2]) for s in shapes] if name == "EdfImage" else []
        if any(len(s) > 2 for s in shapes) and len(self._planes) == self.nframes:
            self.nframes = sum(self._planes)
        else:
            self._planes = []
        self._max_pixels, self._class = max_pixels, name
        frame_shapes = {tuple(s[-2:]) for s in shapes}
        self._one_shape = frame_shapes.pop() if len(frame_shapes) == 1 else None  # else only MAX_PX applies
        self.meta = self._header_meta(hdr.header)
        self._block_meta: dict[int, dict] = {}  # a multi-frame file's later headers (an EDF block's own Dummy, centre)

    def _header_meta(self, header: dict) -> dict:
        from .geometry.header import from_fabio

        name = self._class
        meta = {"overload": header_overload(header), "circular": True if name in CIRCULAR_CLASSES else None}
        if name == "EdfImage":
            meta["dummy"] = header_dummy(header)
        if (beam := from_fabio(name, header, self._one_shape)) is not None:
            meta["header_centre"] = beam  # where the header says the beam is (`geometry.header`)
        return meta

    def _block(self, i: int) -> tuple[int, int | None]:
        """Frame i's data block and, in a stacked EDF block (`Dim_3`), its plane."""
        if not self._planes:
            return i, None
        block = 0
        while i >= self._planes[block]:
            i -= self._planes[block]
            block += 1
        return block, i

    def frame_meta(self, i: int) -> dict:
        """What frame i's own header says (read with its data): each block of a multi-frame EDF has its own."""
        return self._block_meta.get(self._block(i)[0], self.meta)

    def frame(self, i: int) -> np.ndarray:
        import fabio

        if not 0 <= i < self.nframes:
            raise ImageReadError(f"no frame {i} (the file holds {self.nframes})")
        i, plane = self._block(i)  # frame i may be a plane of a stacked EDF block
        complaints: list[str] = []
        try:
            with reader_complaints() as complaints:
                if self._spe:  # frame i straight from its offset
                    from fabio.speimage import SpeImage

                    data = SpeImage().read(self._name, frame=i).data
                else:
                    if self._img is None:
                        self._img = fabio.open(self._name)
                    frame = self._img if i == 0 else self._img.getframe(i)
                    data = frame.data
                    if i > 0 and isinstance(getattr(frame, "header", None), dict) and frame.header:
                        self._block_meta[i] = self._header_meta(frame.header)
        except Exception:  # what fabio logged first says why (a checksum), its exception often not (AssertionError)
            raise_on_fabio_complaint(complaints, self.fmt)
            raise
        raise_on_fabio_complaint(complaints, self.fmt)
        if data is None:
            raise ImageReadError(f"frame {i} holds no data")
        if plane is not None:
            data = np.reshape(data, (-1, *np.shape(data)[-2:]))[plane]
        check_pixels(data.shape, self._max_pixels)
        return np.array(data)

    def close(self) -> None:
        if self._img is not None:
            self._img.close()
        if self._alias is not None:
            self._alias.cleanup()


def _spe_frames(path: Path, header: dict) -> int:
    """Frames of a Princeton SPE file: its header's count, which the data after the 4100-byte header must hold
    (a version 3 file keeps an XML footer after them)."""
    from fabio.speimage import SpeImage

    dtype = SpeImage.DATA_TYPES.get(header.get("data_type"))
    if dtype is None:
        raise ImageReadError(f"SPE: unsupported data type {header.get('data_type')!r}")
    frame_bytes = int(header["x_dim"]) * int(header["y_dim"]) * np.dtype(dtype).itemsize
    if frame_bytes <= 0:
        raise ImageReadError(f"SPE: frame size {header['x_dim']}x{header['y_dim']}")
    declared, held = int(header.get("num_frames") or 1), (path.stat().st_size - 4100) // frame_bytes
    if held < 1:
        raise ImageReadError(f"truncated SPE: the data hold no complete {header['y_dim']}x{header['x_dim']} frame")
    if declared > held:
        raise ImageReadError(f"truncated SPE: the header declares {declared} frames, the data hold {held}")
    return max(1, declared)


def _tiff_shape(path: Path) -> tuple:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return tuple(tif.pages[0].shape)
