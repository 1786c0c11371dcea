"""EDF checks made on the header before fabio decodes a frame: a malformed header named by its field, data
blocks that do not match their frame, truncation counted in rows, and frames compressed inside the file inflated
in steps, never past what the frame holds."""

from __future__ import annotations

import math
from pathlib import Path

from .io_readers import open_plain, suffix_plain
from .io_safety import ImageReadError, check_pixels, one_line

EDF_BLOCK = 512  # EDF writers pad a data block to a multiple of this; more left over is data the header leaves out


def check_edf(path: Path, hdr, max_pixels: int) -> list[tuple]:
    """Shapes of every EDF frame; a data block shorter than its header promises is named in rows."""
    shapes = []
    size = path.stat().st_size
    for i, frame in enumerate(hdr._frames):
        if getattr(frame, "bfname", None):
            raise ImageReadError("EDF with its data in a separate binary file: not supported")
        shape = tuple(frame.shape)
        check_pixels(shape, max_pixels)
        shapes.append(shape)
        need, block = frame.size, frame.blobsize
        if getattr(frame, "_data_compression", None) is not None:
            _check_edf_inflated(path, frame, i)
        elif need and block and block - need >= EDF_BLOCK:
            # fabio reads the frame from the block's start and drops the rest: the wrong rows, sheared, without a word
            dims = "x".join(str(v) for v in shape)
            raise ImageReadError(
                f"corrupt EDF: frame {i} is {dims} ({need} bytes) but its Size is {block} bytes: "
                "the dimensions do not describe the data"
            )
        if frame.incomplete_data or (suffix_plain(path) and frame.start + frame.blobsize > size):
            if suffix_plain(path) and len(shape) == 2 and frame.blobsize and shape[0]:
                row = frame.blobsize / shape[0]
                have_rows = max(0, int((size - frame.start) // row))
                missing = shape[0] - have_rows
                raise ImageReadError(f"truncated EDF: {missing} of {shape[0]} rows missing (frame {i})")
            raise ImageReadError(f"truncated EDF: frame {i} data ends early")
    if getattr(hdr, "incomplete_file", False) and not shapes:
        raise ImageReadError("truncated EDF: no complete frame")
    return shapes


def _check_edf_inflated(path: Path, frame, i: int) -> None:
    """A frame compressed inside the EDF (`Compression = gzip | zlib | bz2`) is inflated by fabio whole before it
    keeps the bytes its shape needs: 1.5 MB of gzip under a 64x64 header took 3 GB. Inflate it here in steps,
    never past a little more than the frame holds, and refuse a stream that goes on."""
    import bz2
    import zlib

    kind = str(frame._data_compression).upper()
    if "OFFSET" in kind or kind == "NONE":
        return
    dtype = getattr(frame, "_dtype", None)  # from the header; `frame.bpp` would make fabio decode the frame
    need = math.prod(frame.shape) * (dtype.itemsize if dtype is not None else 8)
    limit = need + max(need // 8, EDF_BLOCK)  # writers may pad the inflated block a little
    if "GZIP" in kind:
        new = lambda: zlib.decompressobj(zlib.MAX_WBITS | 32)  # noqa: E731  gzip or zlib header, whichever is there
    elif "BZ" in kind:
        new = bz2.BZ2Decompressor
    elif "Z" in kind:
        new = zlib.decompressobj
    else:
        return  # fabio logs an unknown scheme, which the reader turns into an error
    inflate = new()
    got, left = 0, frame.blobsize
    try:
        with open_plain(path) as fh:
            fh.seek(frame.start)

            def more() -> bytes:
                nonlocal left
                chunk = fh.read(min(left, 1 << 20)) if left > 0 else b""
                left -= len(chunk)
                return chunk

            while got <= limit:  # never more than the room left is inflated at once
                if inflate.eof:  # a stream of several members (gzip -c a b) inflates them all: so count them all
                    rest = inflate.unused_data
                    if not rest and left <= 0:
                        break
                    inflate = new()
                    if rest:
                        got += len(inflate.decompress(rest, limit + 1 - got))
                        continue
                if isinstance(inflate, bz2.BZ2Decompressor):
                    data = more() if inflate.needs_input else b""
                    if inflate.needs_input and not data:
                        break
                else:
                    data = inflate.unconsumed_tail or more()
                    if not data:
                        break
                got += len(inflate.decompress(data, limit + 1 - got))
    except (OSError, EOFError, ValueError, zlib.error):
        return  # a broken stream: fabio reads it and says what is wrong
    if got > limit:
        dims = "x".join(str(v) for v in frame.shape)
        raise ImageReadError(
            f"corrupt EDF: frame {i}'s {kind.lower()} data inflate to more than the {need} bytes of its {dims} frame"
        )


def edf_reason(path: Path) -> str | None:
    """Why fabio could not parse an EDF file, read from its first header: a missing or malformed key named
    (fabio's own words are an `UnboundLocalError` or a bare `KeyError: 'Complex'`); None when the first header
    looks sound, or the file is not EDF."""
    from fabio.edfimage import DATA_TYPES

    try:
        with open_plain(path) as fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError):
        return None
    if not head.lstrip().startswith(b"{"):
        return None
    end = head.find(b"}")
    if end < 0:
        return "EDF header is not closed (no '}' in its first 64 KiB)"
    keys = {}
    for item in head[head.index(b"{") + 1 : end].decode("latin-1").split(";"):
        key, eq, value = item.partition("=")
        if eq:
            keys[key.strip().lower()] = value.strip()
    if "dim_1" not in keys:
        return "EDF header has no Dim_1 (the frame's size)"
    for dim in ("dim_1", "dim_2"):  # without Dim_2 the data are 1-D (refused later, as not a frame)
        if dim in keys and (not keys[dim].isdigit() or int(keys[dim]) == 0):
            return f"EDF header: {dim.capitalize()} = {one_line(keys[dim])[:40]!r} is not a positive whole number"
    kind = keys.get("datatype")
    if kind is not None and kind not in DATA_TYPES:
        return f"EDF header: DataType {one_line(kind)[:40]!r} is not an EDF data type"
    if "byteorder" not in keys:
        return "EDF header has no ByteOrder"
    if not head[end + 1 :].strip(b"\n\r") and len(head) < (1 << 16):
        return "EDF file ends after its header: no data"
    return None
