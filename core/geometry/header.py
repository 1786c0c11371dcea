"""The direct-beam position a detector file's own header states, in array pixels (pixel centres at integers).

Acquisition software writes where it was told the beam is:

* DECTRIS miniCBF and Pilatus TIFF: `# Beam_xy (x, y) pixels` (x along the fast axis, the columns);
* ADSC SMV (`.img`): `BEAM_CENTER_X`, `BEAM_CENTER_Y` in mm in Mosflm's frame, X along the slow axis (rows);
* MarCCD/Rayonix: `beam_x`, `beam_y` in thousandths of a pixel (x fast);
* ESRF EDF: `Center_1`, `Center_2` in pixels (dimension 1 fast), less `Offset_1/2` where the header sets them;
* NeXus NXdetector (Eiger master files and NXmx): `beam_center_x/y` in pixels or a length.

Each counts from the outer corner of the first pixel (pixel i spans [i, i + 1]), as dxtbx reads them and as
pyFAI's Fit2D interface and every calibration reader here do, so half a pixel is taken off. A header is only
as good as whoever set it, and many beamlines leave a default: `polar.analyse` uses a header's centre only where
the frame's rings do not fix one and do not contradict it, and says so where the rings fix one far from it.
"""

from __future__ import annotations

import logging
import math
import re
import struct
from pathlib import Path

log = logging.getLogger(__name__)

REACH = 3.0  # a centre more than this many frame sides outside the frame is no beam position for it
MAX_PX = 1e6  # where the frame's shape is not known: a centre further than this is no beam position
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])"
# a miniheader line of its own: `# Beam_xy (x, y) pixels` (DECTRIS), also written without the parentheses
_BEAM_XY = re.compile(
    rf"^[ \t]*#?[ \t]*Beam_xy[ \t]*(\(?)[ \t]*({_NUMBER})[ \t]*(?:,[ \t]*|[ \t]+)({_NUMBER})[ \t]*(\)?)"
    r"[ \t]*(?:pixels?)?[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)


def in_reach(beam: dict, shape: tuple[int, int]) -> bool:
    """Whether a header's centre lies within `REACH` frame sides of a frame of this shape."""
    h, w = (int(n) for n in shape[-2:])
    x, y = float(beam["x"]), float(beam["y"])
    return -REACH * w <= x <= (1 + REACH) * w and -REACH * h <= y <= (1 + REACH) * h


def centre(x: float, y: float, key: str, shape: tuple[int, int] | None) -> dict | None:
    """`{"x", "y", "key"}` in array pixels from a corner-origin position, or None where it is no usable beam
    position: not finite, exactly (0, 0) (an unset header), or more than `REACH` frame sides off the frame
    (`MAX_PX` pixels where the frame's shape is not known)."""
    if not (math.isfinite(x) and math.isfinite(y)) or (x == 0 and y == 0):
        return None
    beam = {"x": x - 0.5, "y": y - 0.5, "key": key}
    if shape is None:
        return beam if abs(beam["x"]) <= MAX_PX and abs(beam["y"]) <= MAX_PX else None
    if not in_reach(beam, shape):
        log.debug("header %s puts the beam at (%.1f, %.1f), far off a %s frame: not used", key, x, y, shape)
        return None
    return beam


def _float(header: dict, key: str) -> float | None:
    """The number a header field holds (its first word, written as a number: `3_2` or `0x10` are not), else None."""
    words = str(header.get(key, "")).split()
    if not words or not re.fullmatch(_NUMBER, words[0]):
        return None
    value = float(words[0])
    return value if math.isfinite(value) else None


def beam_xy(text: str, shape: tuple[int, int] | None) -> dict | None:
    """A DECTRIS miniheader's `# Beam_xy (x, y) pixels` line (in a CBF's header contents or a TIFF's
    ImageDescription); a line with other units, or `Beam_xy` in the middle of a line, is not one."""
    for m in _BEAM_XY.finditer(text or ""):
        if bool(m.group(1)) == bool(m.group(4)):  # "(x, y" or "x, y)" is not the form it is written in
            return centre(float(m.group(2)), float(m.group(3)), "Beam_xy", shape)
    return None


def from_fabio(name: str, header: dict, shape: tuple[int, int] | None) -> dict | None:
    """The centre a header read by fabio states (`name` is fabio's class name), or None."""
    if shape is None and "SIZE1" in header and "SIZE2" in header:  # SMV: SIZE1 along the fast axis
        size1, size2 = _float(header, "SIZE1"), _float(header, "SIZE2")
        shape = (int(size2), int(size1)) if size1 and size2 and size1 >= 1 and size2 >= 1 else None
    if name == "CbfImage":
        return beam_xy(str(header.get("_array_data.header_contents", "")), shape)
    if name in ("AdscImage", "DtrekImage") and "BEAM_CENTER_X" in header and "BEAM_CENTER_Y" in header:
        x_mm, y_mm, pixel = (_float(header, k) for k in ("BEAM_CENTER_X", "BEAM_CENTER_Y", "PIXEL_SIZE"))
        if x_mm is None or y_mm is None or not pixel or pixel <= 0:
            return None
        # Mosflm's frame: X along the slow axis (rows), Y along the fast axis (columns)
        return centre(y_mm / pixel, x_mm / pixel, "BEAM_CENTER_X/Y", shape)
    if name == "MarccdImage" and "beam_x" in header and "beam_y" in header:
        layout = [header.get(k, 0) for k in ("origin", "orientation", "view_direction")]
        if any(v not in (0, None) for v in layout):  # another corner or axis order: the centre would be mirrored
            return None
        return marccd(header.get("beam_x"), header.get("beam_y"), shape)
    if name == "EdfImage" and "Center_1" in header and "Center_2" in header:
        c1, c2 = _float(header, "Center_1"), _float(header, "Center_2")
        if c1 is None or c2 is None:
            return None
        offsets = [_float(header, k) if k in header else 0.0 for k in ("Offset_1", "Offset_2")]
        if None in offsets:  # an offset that is not a number: where the centre is cannot be said
            return None
        return centre(c1 - offsets[0], c2 - offsets[1], "Center_1/2", shape)
    return None


def marccd(beam_x, beam_y, shape: tuple[int, int]) -> dict | None:
    """MarCCD's `beam_x`, `beam_y` (thousandths of a pixel)."""
    try:
        x, y = float(beam_x) / 1000.0, float(beam_y) / 1000.0
    except (TypeError, ValueError):
        return None
    return centre(x, y, "beam_x/y", shape)


def marccd_tiff(path: Path, shape: tuple[int, int]) -> dict | None:
    """The centre in a MarCCD header of a file named like any TIFF: the 3072-byte block after the first KiB,
    taken for one only where its own width and height repeat the frame's and its origin, orientation and view are
    the default (as dxtbx tells MarCCD files apart)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if len(head) < 4096 or head[:2] not in (b"II", b"MM"):
        return None
    end = "<" if head[:2] == b"II" else ">"
    width, height = struct.unpack(end + "II", head[1024 + 80 : 1024 + 88])
    origin, orientation, view = struct.unpack(end + "III", head[1024 + 116 : 1024 + 128])
    if (height, width) != tuple(shape[-2:]) or (origin, orientation, view) != (0, 0, 0):
        return None  # not a MarCCD header, or one whose pixels start at another corner (dxtbx reads neither)
    beam_x, beam_y = struct.unpack(end + "ii", head[1668:1676])
    return marccd(beam_x, beam_y, shape)


def from_nexus(group, shape: tuple[int, int]) -> dict | None:
    """An NXdetector group's `beam_center_x/y`: pixels, or a length converted with `x/y_pixel_size`."""
    import h5py
    import numpy as np

    from .readers import LENGTH_M

    def value(key: str, default_unit: str) -> tuple[float, str] | None:
        """One real number (a dataset of one value, in this file: an external link is not followed) and its unit."""
        try:
            if key not in group or isinstance(group.get(key, getlink=True), h5py.ExternalLink):
                return None
            ds = group[key]
            if not isinstance(ds, h5py.Dataset) or ds.size != 1 or ds.dtype.kind not in "iuf":
                return None
            v = float(np.ravel(ds[()])[0])
            unit = ds.attrs.get("units", default_unit)
        except (TypeError, ValueError, IndexError, KeyError, OSError, RuntimeError, AttributeError):
            return None  # a dangling or looping link, a dataset that cannot be read
        unit = np.ravel(unit)[0] if isinstance(unit, np.ndarray) and unit.size == 1 else unit
        unit = unit.decode(errors="replace") if isinstance(unit, bytes) else str(unit)
        return (v, unit.strip().lower()) if math.isfinite(v) else None

    out = []
    for key, size in (("beam_center_x", "x_pixel_size"), ("beam_center_y", "y_pixel_size")):
        got = value(key, "pixel")
        if got is None:
            return None
        v, unit = got
        if unit in ("pixel", "pixels", "px", ""):
            out.append(v)
            continue
        pitch = value(size, "m")
        if unit not in LENGTH_M or pitch is None or pitch[1] not in LENGTH_M or pitch[0] <= 0:
            return None
        out.append(v * LENGTH_M[unit] / (pitch[0] * LENGTH_M[pitch[1]]))
    return centre(out[0], out[1], "beam_center_x/y", shape)
