"""Detector-image reading, masks, normalisation and thumbnails.

Readers return the original values (lossless) plus a mask: detector gaps and dead pixels (negative values),
NaN and inf are masked, never treated as data. Display normalisation (log + percentile clip, for eyes) is kept
apart from model-input normalisation (for networks).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .io_safety import ExternalDataError as ExternalDataError
from .io_safety import ImageReadError, check_pixels, not_a_file, one_line, translate
from .photons import as_counts, photon_scale

log = logging.getLogger(__name__)

PIL_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
TIFF_SUFFIXES = {".tif", ".tiff"}
HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".nexus", ".cxi"}
NUMPY_SUFFIXES = {".npy", ".npz"}
# Everything else goes to fabio, which knows EDF, CBF (.gz/.bz2 too), SPE, ADSC .img, MAR, Bruker, ...
# MAR345 plates are named by scan mode: .mar1200 ... .mar3450 (fabio's list); a folder walk must not skip them.
MAR345_SUFFIXES = {f".mar{n}" for n in (1200, 1600, 1800, 2000, 2300, 2400, 3000, 3450)}
# Other detector formats fabio names by extension (its format classes' DEFAULT_EXTENSIONS): Oxford Diffraction /
# Rigaku Esperanto, Nonius KappaCCD, multiwire MPA, portable anymaps, GE. Generic names it also claims (.bin, .xml,
# .map, .msk masks) are no frames and stay out of a folder walk; a file named directly is tried whatever its name.
GE_SUFFIXES = {".ge", *(f".ge{n}" for n in range(1, 6))}  # GE / APS 1-ID and HEXRD area detectors: raw stacks
FABIO_DETECTORS = {".esperanto", ".esper", ".kcd", ".kccd", ".mpa", ".pnm", ".pgm"} | GE_SUFFIXES
FABIO_HINT = {".edf", ".cbf", ".spe", ".img", ".mccd", ".sfrm", ".gfrm", ".marccd"} | MAR345_SUFFIXES | FABIO_DETECTORS
IMAGE_SUFFIXES = PIL_SUFFIXES | TIFF_SUFFIXES | HDF5_SUFFIXES | NUMPY_SUFFIXES | FABIO_HINT
# Read by libraries that take no compressed stream: a `.tif.gz` is refused by name, not as "not a TIFF file"
NOT_DECOMPRESSED = PIL_SUFFIXES | TIFF_SUFFIXES | HDF5_SUFFIXES | NUMPY_SUFFIXES
# Bruker frames of the older format are numbered by their suffix (`scan_01.001` ... `.999`); fabio reads them
# by their header
BRUKER_NUMBERED = re.compile(r"\.\d{3}")


@dataclass
class Frame:
    """One 2-D frame: original values, the invalid-pixel mask, and where it came from."""

    data: np.ndarray
    mask: np.ndarray  # True where the pixel is not data (gap, dead pixel, NaN)
    index: int = 0
    dataset: str | None = None
    meta: dict = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # hashes the same frame had before (a big-endian frame, hashed as read until 0.1)

    @property
    def sha256(self) -> str:
        return content_hash(self.data)


def content_hash(data: np.ndarray) -> str:
    """Hash of the frame's values, shape and dtype: the same frame in two file formats is one image."""
    arr = np.ascontiguousarray(data)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(memoryview(arr).cast("B"))  # the bytes `tobytes()` gives, without copying them
    return h.hexdigest()


def suffix_of(path: Path) -> str:
    """Lower-case suffix ignoring one compression suffix (`x.cbf.gz` -> `.cbf`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2"} and len(suffixes) > 1:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def is_image_file(path: Path) -> bool:
    """Whether a folder walk takes the file as a frame: by its suffix (the readers check the header)."""
    suffix = suffix_of(path)
    return suffix in IMAGE_SUFFIXES or BRUKER_NUMBERED.fullmatch(suffix) is not None


def make_mask(data: np.ndarray) -> np.ndarray:
    """Gaps, dead pixels (negative values) and non-finite values are masked."""
    if np.issubdtype(data.dtype, np.floating):
        return ~np.isfinite(data) | (data < 0)
    if np.issubdtype(data.dtype, np.signedinteger):
        return data < 0
    return np.zeros(data.shape, dtype=bool)


def detector_mask(data: np.ndarray, overload: float | None = None, circular: bool | None = None) -> np.ndarray:
    """`make_mask` plus what only the detector knows: saturated or dead values and a round active area.

    Unsigned detectors cannot flag a dead pixel as negative: gaps and overflows are written as the dtype's
    maximum (a uint32 -1) or at and above the overload the header states. A circular detector (MarCCD,
    MAR345) writes exactly zero outside its round active area; those pixels are no measurement either.
    `circular=True`: the format says so; `None`: the data decide (`zero_outside_round_area`), since a round frame is
    often converted to TIFF, EDF or HDF5 on its way here; `False`: never.
    """
    mask = make_mask(data)
    if data.dtype.kind in "iu":
        if overload is not None and overload <= np.iinfo(data.dtype).max:
            mask |= data >= overload
        if data.dtype.kind == "u":
            mask |= data == np.iinfo(data.dtype).max
    if circular is not False:
        outside = zero_outside_round_area(data, declared=bool(circular))
        if outside is not None:
            mask |= outside
    return mask


def zero_outside_round_area(data: np.ndarray, declared: bool = False) -> np.ndarray | None:
    """The pixels outside a round active area (True there), or None when the frame does not show one.

    A round detector reads exactly zero outside the disc inscribed in its square frame. When the format does not
    say so (`declared`), the data must: a near-square frame at least 64 pixels across, every pixel outside the
    disc exactly zero, and counts just inside its edge all the way round (in 30 of its 36 sectors) and enough of
    them that, falling off smoothly as scattering does (ten times less in the corners), they would have put counts
    in hundreds of corner pixels. So a frame of a few counts whose corners are zero by chance, or a zero-suppressed
    spot frame whose spots miss the corners, is not taken for one. (The centre search's
    `geometry.active.round_active_area` fits any circle to the non-zero support of a frame; this is the strict
    test for the stored mask: the inscribed disc, exact zeros, any count level.)
    """
    h, w = data.shape
    if not declared:
        if min(h, w) < 64 or abs(h - w) > 0.02 * max(h, w):
            return None
        if data[0, 0] or data[0, -1] or data[-1, 0] or data[-1, -1]:  # the usual answer, without a full pass
            return None
    # (x/a)^2 + (y/b)^2 compared row by row, so no float array the frame's size is made (a 10k frame: 800 MB)
    dy2 = (((np.arange(h) - (h - 1) / 2) / (h / 2)) ** 2)[:, None]
    dx2 = (((np.arange(w) - (w - 1) / 2) / (w / 2)) ** 2)[None, :]
    outside = dx2 > 1.0 - dy2
    if not outside.any() or np.any(data, where=outside) or not data.any():  # no copies of a large frame
        return None
    if not declared:
        band = (dx2 > 0.85 - dy2) & (dx2 <= 0.97 - dy2)
        lit = band & (data != 0)
        if np.count_nonzero(lit) / np.count_nonzero(band) * np.count_nonzero(outside) < 200:
            return None
        ys, xs = np.nonzero(lit)
        sectors = np.floor((np.arctan2(ys - (h - 1) / 2, xs - (w - 1) / 2) + np.pi) / (2 * np.pi) * 36).astype(int)
        if np.unique(np.clip(sectors, 0, 35)).size < 30:
            return None
    return outside


# ------------------------------------------------------------------------------------------- readers
def _fmt_name(suffix: str) -> str:
    """The format as errors name it: the suffix, except a Bruker frame's number (`scan_01.003`)."""
    if BRUKER_NUMBERED.fullmatch(suffix):
        return "Bruker"
    return (suffix[1:] or "image").upper()


@contextmanager
def open_reader(path: Path, dataset: str | None = None, max_pixels: int = 100_000_000):
    """The reader for a file, opened from its header with the size checked; closed on exit.

    Raises:
        ImageReadError: a one-line reason (every library error is translated; none escapes raw).
    """
    from .io_fabio import FabioReader
    from .io_hdf5 import Hdf5Reader
    from .io_readers import NpyReader, PilReader, TiffReader, open_npz

    suffix = suffix_of(path)
    if path.suffix.lower() in {".gz", ".bz2"} and suffix in NOT_DECOMPRESSED:  # `x.tif.gz`: the reader sees gzip
        raise ImageReadError(
            f"{_fmt_name(suffix)} file compressed as {path.suffix}: only detector formats read through fabio (EDF, "
            "CBF, ...) are read compressed; decompress it first"
        )
    try:
        if suffix in PIL_SUFFIXES:
            reader = PilReader(path, max_pixels)
        elif suffix in TIFF_SUFFIXES:
            reader = TiffReader(path, max_pixels)
        elif suffix == ".npy":
            reader = NpyReader(path, max_pixels)
        elif suffix == ".npz":
            reader = open_npz(path, max_pixels)
        elif suffix in HDF5_SUFFIXES:
            reader = Hdf5Reader(path, dataset, max_pixels)
        else:
            reader = FabioReader(path, max_pixels)
    except Exception as exc:  # every library has its own corrupt-file exception; name it in one line
        raise translate(exc, _fmt_name(suffix)) from exc
    if reader.nframes < 1:  # an NPY of shape (0, h, w), an NPZ of 1-D arrays: nothing to import is a failure
        reader.close()
        raise ImageReadError(f"no frame in this {_fmt_name(suffix)} file (no 2-D array, or a stack of 0 frames)")
    try:
        yield reader
    finally:
        try:
            reader.close()
        except Exception:  # closing a half-read file must not hide the reason it failed
            log.debug("closing %s failed", one_line(path), exc_info=True)


def _frame(reader, i: int, fmt: str, max_pixels: int, min_side: int) -> Frame:
    try:
        data = reader.frame(i)
    except Exception as exc:
        err = translate(exc, fmt)
        raise (err if reader.nframes == 1 else ImageReadError(f"frame {i}: {err}")) from exc
    dataset = reader.frame_dataset(i) if hasattr(reader, "frame_dataset") else reader.dataset
    index = reader.frame_index(i) if hasattr(reader, "frame_index") else i  # in its own dataset (HDF5 scans)
    meta = reader.frame_meta(i) if hasattr(reader, "frame_meta") else reader.meta
    return _checked(data, index, dataset, max_pixels, min_side, meta)


def _open_checked(path: Path) -> None:
    if (why := not_a_file(path)) is not None:
        raise ImageReadError(why)
    if path.stat().st_size == 0:
        raise ImageReadError("empty file")


def read_frames(
    path: str | Path, dataset: str | None = None, max_pixels: int = 100_000_000, min_side: int = 8
) -> Iterator[Frame]:
    """Yield every frame of a file, checked and masked, each read directly (linear in the stack length).

    Args:
        path: the file; its suffix picks the reader (anything unknown is tried with fabio).
        dataset: an HDF5 dataset path; by default the NeXus signal or the first image dataset.
        max_pixels: a frame larger than this is refused from its header, before any pixel is read.
        min_side: a frame with a shorter side is refused.

    Raises:
        ImageReadError: with a one-line reason, for the whole file or for the frame that failed;
            `ExternalDataError` for an HDF5 dataset whose values live in other files.
    """
    path = Path(path)
    _open_checked(path)
    with open_reader(path, dataset, max_pixels) as reader:
        for i in range(reader.nframes):
            yield _frame(reader, i, _fmt_name(suffix_of(path)), max_pixels, min_side)


def check_header(path: str | Path, dataset: str | None = None, max_pixels: int = 100_000_000) -> None:
    """Open the file's header only, as `read_frames` would, and close it: a file that is not a frame of a known
    format, or whose frames are larger than `max_pixels`, is refused before anything reads (or copies) its
    pixels. An HDF5 dataset stored in other files passes (the import materialises or refuses it by name).

    Raises:
        ImageReadError: the one-line reason `read_frames` would give.
    """
    path = Path(path)
    _open_checked(path)
    try:
        with open_reader(path, dataset, max_pixels):
            pass
    except ExternalDataError:
        pass


def read_frame(path: str | Path, index: int = 0, dataset: str | None = None, max_pixels: int = 10**9) -> Frame:
    """One frame of a file by index, read directly without decoding the frames before it (stored originals
    are read back through this, frame by frame, by thumbnails, the map and exports)."""
    path = Path(path)
    if index < 0:
        raise ImageReadError(f"{one_line(path)}: no frame {index} (frames are numbered from 0)")
    _open_checked(path)
    with open_reader(path, dataset, max_pixels) as reader:
        if not 0 <= index < reader.nframes:
            n = reader.nframes
            raise ImageReadError(f"{one_line(path)}: no frame {index} (it holds {n}, numbered 0 to {n - 1})")
        return _frame(reader, index, _fmt_name(suffix_of(path)), max_pixels, 1)


def _checked(
    data: np.ndarray, index: int, dataset: str | None, max_pixels: int, min_side: int, meta: dict | None = None
) -> Frame:
    if data.ndim != 2:
        raise ImageReadError(f"frame {index}: expected 2-D, got shape {data.shape}")
    if data.dtype.kind not in "iufb":
        raise ImageReadError(f"frame {index}: non-numeric dtype {data.dtype}")
    h, w = data.shape
    if min(h, w) < min_side:
        hint = " (a stack's frames lie along its first axis: an H x W x 3 array reads as H frames of W x 3)"
        raise ImageReadError(
            f"frame {index}: {h}x{w} is smaller than the minimum side of {min_side} pixels{hint if w <= 4 < h else ''}"
        )
    check_pixels(data.shape, max_pixels)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    aliases: tuple[str, ...] = ()
    if not data.dtype.isnative:  # a big-endian HDF5 frame: stored, hashed and shown as the same frame read natively
        aliases = (content_hash(data),)  # its hash as it was read before: a workspace may hold it under that one
        data = data.astype(data.dtype.newbyteorder("="))
    meta = meta or {}
    if data.dtype.kind == "f" and data.dtype.itemsize > 4:  # beyond float32's range is no measurement, and no
        top = np.finfo(np.float32).max  # thumbnail or model input (float32) could hold it: NaN, so masked
        beyond = (data > top) | (data < -top)
        if beyond.any():
            data = data.copy()
            data[beyond] = np.nan
    if meta.get("display_image"):  # 8-bit PNG/JPEG: 255 is white, not an overflow
        mask = make_mask(data)
    else:
        mask = detector_mask(data, meta.get("overload"), meta.get("circular"))
        flagged = meta.get("pixel_mask")  # what the file says of its pixels and counts (HDF5/NeXus)
        if flagged is not None and flagged.shape == mask.shape:
            mask |= flagged
        if meta.get("saturation") is not None:  # invalid above it, whatever the type (NaN compares False)
            mask |= data > meta["saturation"]
        if meta.get("dummy") is not None:  # an EDF's value for "no measurement" (pyFAI's dummy, delta_dummy)
            value, tolerance = meta["dummy"]
            mask |= (data >= value - tolerance) & (data <= value + tolerance)
    if mask.all():
        raise ImageReadError(f"frame {index}: no valid pixel (all NaN, negative, saturated or masked)")
    kept = {k: meta[k] for k in ("header_centre", "display_image") if meta.get(k)}  # what readers of it need
    return Frame(data=data, mask=mask, index=index, dataset=dataset, meta=kept, aliases=aliases)


# ------------------------------------------------------------------------------------- normalisation
def display_normalise(
    data: np.ndarray, mask: np.ndarray | None = None, low: float = 1.0, high: float = 99.8, log: bool = True
) -> np.ndarray:
    """For eyes: log scale, clip to percentiles of the valid pixels, scale to [0, 1]; masked pixels are 0."""
    x = np.asarray(data, dtype=np.float32)
    mask = make_mask(x) if mask is None else mask
    valid = ~mask
    x = np.where(valid, x, 0.0)
    if log:
        x = as_counts(x, mask)  # a processed frame's units, read as effective photon counts
        x = np.log1p(np.clip(x - (x[valid].min() if valid.any() and x[valid].min() < 0 else 0), 0, None))
    if not valid.any():
        return np.zeros_like(x)
    lo, hi = np.percentile(x[valid], [low, high])
    if hi <= lo:
        hi = lo + 1e-6
    out = np.clip((x - lo) / (hi - lo), 0, 1)
    out[mask] = 0
    return out.astype(np.float32)


def model_normalise(
    data: np.ndarray, mask: np.ndarray | None = None, mode: Literal["log", "standardise"] = "log"
) -> np.ndarray:
    """For networks: `log` maps log1p counts of valid pixels to [-1, 1] by their max (keeps relative
    intensities between frames of one geometry); `standardise` gives zero mean, unit variance over valid
    pixels (the speckle task). Masked pixels become 0 in both."""
    x = np.asarray(data, dtype=np.float32)
    mask = make_mask(x) if mask is None else mask
    valid = ~mask
    out = np.zeros_like(x)
    if not valid.any():
        return out
    if mode == "log":
        v = np.log1p(np.clip(as_counts(x, mask)[valid], 0, None))
        top = float(v.max()) or 1.0
        out[valid] = v / top * 2.0 - 1.0
    elif mode == "standardise":
        v = x[valid]
        out[valid] = (v - v.mean()) / (v.std() + 1e-8)
    else:
        raise ValueError(f"mode: expected 'log' or 'standardise', got {mode!r}")
    return out


def resize(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize (scikit-image) to `size` (square) or (height, width)."""
    from skimage.transform import resize as sk_resize

    shape = (size, size) if isinstance(size, int) else size
    return sk_resize(img, shape, anti_aliasing=True, preserve_range=True).astype(np.float32)


def downsample(img: np.ndarray, max_side: int) -> np.ndarray:
    """Box-filter downsample (PIL, float32) so the longest side is at most `max_side`."""
    from PIL import Image

    h, w = img.shape
    scale = max_side / max(h, w)
    if scale >= 1:
        return img.astype(np.float32)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(np.asarray(img, dtype=np.float32), mode="F").resize(size, Image.Resampling.BOX))


def thumbnail_png(data: np.ndarray, mask: np.ndarray | None = None, max_side: int = 256, log: bool = True) -> bytes:
    """A PNG thumbnail (log-scaled, longest side `max_side`) for the browser; `log=False` for a picture already
    made for eyes (an 8-bit PNG or JPEG render: its grey levels are no counts, and their log washes it out).

    The log is taken at full resolution and the result box-reduced before the percentile clip, so a
    2-megapixel frame takes milliseconds.
    """
    from PIL import Image

    logx = np.array(data, dtype=np.float32)  # the one full-size copy: a 100-megapixel frame fits
    mask = make_mask(logx) if mask is None else mask
    g = photon_scale(logx, mask) if log else 1.0  # as `as_counts`, but in place on that copy
    logx[mask] = 0.0
    if g != 1.0:
        logx /= np.float32(g)
    if log:
        np.log1p(np.clip(logx, 0, None, out=logx), out=logx)
    small = downsample(logx, max_side)
    valid = downsample((~mask).astype(np.float32), max_side) > 0.5
    disp = display_normalise(small, ~valid, log=False)
    buf = io.BytesIO()
    Image.fromarray((disp * 255).astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()
