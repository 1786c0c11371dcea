"""One reader per format family, each opened from the header alone and reading frame k directly.

Every reader checks the frame size its header declares before a pixel is allocated, and compares the data
length the header promises with what the file holds (a short file is an error, never zero-fill). Readers
expose `nframes`, `dataset`, `meta` (`overload`, `circular`, `pixel_mask`, `dummy` where the format says so) and
`frame(i)`, so a stack of n frames costs n frame reads, not n²/2.
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from .io_safety import (
    ImageReadError,
    check_pixels,
    one_line,
    reader_complaints,
)

FRAME_CACHE_KEYS = {"shape", "nframes"}
MAX_DECODED_MEMBER = 1 << 30  # a compressed NPZ member is decoded whole; bound what that may cost
ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}  # PIL formats whose frames are a stack (animated GIF, APNG, WebP)


def _lead_count(shape: tuple, what: str) -> tuple[tuple, int]:
    if len(shape) < 2:
        raise ImageReadError(f"{what} has shape {tuple(shape)}, not an image")
    lead = tuple(int(v) for v in shape[:-2])
    return lead, math.prod(lead)


def _in_range(i: int, n: int) -> None:
    if not 0 <= i < n:
        raise ImageReadError(f"no frame {i} (the file holds {n})")


class PilReader:
    """PNG, JPEG, BMP, GIF, WebP: PIL opens lazily, so the declared size is checked before decoding. An animated
    GIF, PNG or WebP is a stack: every frame is one image (PIL seeks to frame k)."""

    fmt = "image"

    def __init__(self, path: Path, max_pixels: int):
        from PIL import Image

        try:
            self._im = Image.open(path)
        except Image.DecompressionBombError as exc:
            raise ImageReadError(f"declared size exceeds the size limit ({one_line(exc)})") from exc
        self.fmt = self._im.format or "image"
        w, h = self._im.size
        check_pixels((h, w), max_pixels)
        # animations are stacks; other multi-frame files (a camera JPEG's MPO preview) keep their first frame
        animated = self.fmt in ANIMATED_FORMATS and getattr(self._im, "is_animated", False)
        self.nframes = int(self._im.n_frames) if animated else 1
        self._max_pixels, self.dataset, self.meta = max_pixels, None, {"display_image": True}

    def frame(self, i: int) -> np.ndarray:
        _in_range(i, self.nframes)
        im = self._im
        if self.nframes > 1:
            im.seek(i)
            check_pixels(im.size[::-1], self._max_pixels)
        im.load()
        if im.mode in {"RGB", "RGBA", "P", "LA", "CMYK", "YCbCr"}:
            im = im.convert("L")
        return np.asarray(im)

    def close(self) -> None:
        self._im.close()


class TiffReader:
    """TIFF series: page shapes come from the IFDs; strip/tile extents are checked against the file size.

    Every series is read (a file written frame by frame with `append=True` holds one series per frame);
    reduced-resolution pages (thumbnails, pyramid levels) are not. RGB(A) samples, contiguous (`YXS`) or
    planar (`SYX`), become one luminance frame, except 16- or 32-bit planes (`SYX`), which are frames; so are
    the samples of a grey image whose extra samples are data, not alpha (a (Y, X, 2) array as numpy users write it).
    """

    fmt = "TIFF"

    def __init__(self, path: Path, max_pixels: int):
        import tifffile

        with reader_complaints("tifffile") as complaints:
            self._tif = tifffile.TiffFile(path)
        try:
            # (series, frames, where the samples are: None, their axis in a page (mixed into one frame), or
            # ("frames", their axis in a page): each sample is a frame)
            self._parts: list[tuple] = []
            with reader_complaints("tifffile") as more:
                series_list = self._tif.series
            # only the chain of pages ("invalid page offset", "invalid offset to first page"), not a page's own tags
            broken = [m for m in complaints + more if re.search(r"invalid (page )?offset|offset to first page", m)]
            if broken:  # the chain of pages ends early (a copy of a stack still being written): frames are missing
                said = re.sub(r"^<[^>]*>\s*", "", one_line(broken[0]))
                raise ImageReadError(f"truncated TIFF: its chain of pages breaks off (tifffile: {said})")
            for series in series_list:
                key = series.keyframe
                if key.is_reduced:
                    continue
                shape, axes = tuple(series.shape), series.axes
                samples = "S" in axes and key.samplesperpixel > 1 and len(axes) == len(shape) and "S" in key.axes
                frame_shape = tuple(v for v, a in zip(shape, axes, strict=True) if a != "S") if samples else shape
                check_pixels(frame_shape, max_pixels)
                _, n = _lead_count(frame_shape, "TIFF series")
                if samples and _samples_are_frames(key, axes):
                    self._parts.append((series, n * key.samplesperpixel, ("frames", key.axes.index("S"))))
                else:
                    self._parts.append((series, n, key.axes.index("S") if samples else None))
            if not self._parts:
                raise ImageReadError("no full-resolution image in the TIFF")
            self.nframes = sum(n for _, n, _ in self._parts)
            self._size = path.stat().st_size
        except BaseException:
            self._tif.close()
            raise
        from .geometry.header import beam_xy, marccd_tiff

        self.dataset, self.meta = None, {}
        key = self._parts[0][0].keyframe  # a Pilatus TIFF's miniheader, or a MarCCD header, says where the beam is
        shape = (int(key.imagelength), int(key.imagewidth))
        description = str(getattr(key, "description", "") or "")
        beam = beam_xy(description, shape) or marccd_tiff(path, shape)
        if beam is not None:
            self.meta["header_centre"] = beam
        if (overload := header_overload({"description": description})) is not None:  # Pilatus: `Count_cutoff`
            self.meta["overload"] = overload

    def frame(self, i: int) -> np.ndarray:
        _in_range(i, self.nframes)
        part, k = 0, i
        while k >= self._parts[part][1]:
            k -= self._parts[part][1]
            part += 1
        series, n, sample_axis = self._parts[part]
        pages = series.pages
        planes = series.keyframe.samplesperpixel if isinstance(sample_axis, tuple) else 1
        page = pages[k // planes] if len(pages) * planes == n else None  # a page holds `planes` frames
        if page is not None and getattr(page, "dataoffsets", None):
            ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False)]
            if max(ends) > self._size:
                raise ImageReadError(f"truncated TIFF: frame {i} needs {max(ends)} bytes, the file has {self._size}")
            empty = sum(1 for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if not o or not c)
            if empty:  # tifffile fills a strip or tile that was never written with zeros
                what = "tiles" if page.is_tiled else "strips"
                raise ImageReadError(
                    f"TIFF frame {i}: {empty} of {len(ends)} {what} hold no data (they would read as zeros)"
                )
        if isinstance(sample_axis, tuple):
            if page is not None:
                return np.take(page.asarray(), k % planes, axis=sample_axis[1])
            arr = np.moveaxis(series.asarray(), series.axes.index("S"), -3)
            return arr.reshape(-1, *arr.shape[-2:])[k]
        arr = series.asarray(key=k) if n > 1 else series.asarray()
        if sample_axis is None:
            return np.squeeze(arr) if arr.ndim > 2 else arr
        arr = np.moveaxis(arr.reshape(series.keyframe.shape), sample_axis, -1)
        if arr.shape[-1] > 4:
            raise ImageReadError(f"frame {i}: {arr.shape[-1]} samples per pixel (only grey, RGB or RGBA is read)")
        if arr.shape[-1] < 3:  # grey + alpha
            return arr[..., 0]
        return arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)

    def close(self) -> None:
        self._tif.close()


def _samples_are_frames(key, axes: str) -> bool:
    """Whether each sample of a TIFF page is a frame of its own, not a colour channel.

    16- or 32-bit "RGB" in separate planes is what tifffile writes for a (3 or 4, Y, X) array, or (N, 3 or 4,
    Y, X) (it will write such arrays as frames in future): detector frames, not photographs. A grey image whose
    extra samples are not alpha holds data in each (tifffile writes a (Y, X, 2) array so); mixing or dropping
    them would store a wrong image.
    """
    if axes.endswith("SYX") and key.planarconfig == 2 and key.bitspersample > 8:
        return True
    alpha = (1, 2)  # associated, unassociated alpha
    extra = tuple(int(v) for v in (key.extrasamples or ()))
    return key.photometric in (0, 1) and not (len(extra) == 1 and extra[0] in alpha)  # min-is-white/black


def _npy_header(fh, what: str) -> tuple[tuple, np.dtype, bool, int]:
    """Shape, dtype, Fortran order and header length of an NPY stream, refusing pickled (object) arrays."""
    fmt = np.lib.format
    start = fh.tell()
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise ImageReadError(f"{what}: NPY format version {version} is not supported")
    if dtype.hasobject:
        raise ImageReadError(f"{what}: pickled object array refused (only numeric arrays are read)")
    return shape, dtype, fortran, fh.tell() - start


class NpyReader:
    """NPY: the header gives shape and dtype; the data is memory-mapped after its length is checked."""

    fmt = "NPY"

    def __init__(self, path: Path, max_pixels: int, offset: int = 0, what: str = "NPY"):
        with open(path, "rb") as fh:
            fh.seek(offset)
            shape, dtype, fortran, header = _npy_header(fh, what)
        check_pixels(shape, max_pixels)
        self._lead, self.nframes = _lead_count(shape, what)
        need = math.prod(shape) * dtype.itemsize
        have = path.stat().st_size - offset - header
        if have < need:
            raise ImageReadError(f"truncated {what}: {max(have, 0)} of {need} data bytes")
        order = "F" if fortran else "C"
        self._arr = np.memmap(path, dtype=dtype, mode="r", offset=offset + header, shape=shape, order=order)
        self.dataset, self.meta = None, {}

    def frame(self, i: int) -> np.ndarray:
        _in_range(i, self.nframes)
        return np.array(self._arr[np.unravel_index(i, self._lead)] if self._lead else self._arr)

    def close(self) -> None:
        del self._arr


class NpzReader:
    """NPZ: every member's NPY header is checked first; stored (uncompressed) members are memory-mapped in
    place, compressed ones are decoded once per member and kept while the reader is open."""

    fmt = "NPZ"

    def __init__(self, path: Path, max_pixels: int):
        self._path, self._zip = path, zipfile.ZipFile(path)
        self._members: list[tuple[str, int]] = []  # (key, frames)
        self._loaded: dict[str, np.ndarray] = {}
        for info in self._zip.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with self._zip.open(info) as fh:
                shape, _, _, _ = _npy_header(fh, f"NPZ member {one_line(key)!r}")
            if len(shape) >= 2:
                check_pixels(shape, max_pixels)
                self._members.append((key, _lead_count(shape, key)[1]))
        self.nframes = sum(n for _, n in self._members)
        self.dataset, self.meta = None, {}

    def _member(self, key: str) -> np.ndarray:
        if key not in self._loaded:
            info = self._zip.getinfo(key + ".npy")
            if info.compress_type == zipfile.ZIP_STORED:
                with open(self._path, "rb") as fh:
                    fh.seek(info.header_offset)
                    local = fh.read(30)
                    n, extra = struct.unpack("<HH", local[26:30])
                start = info.header_offset + 30 + n + extra
                self._loaded[key] = NpyReader(self._path, 10**18, start, f"NPZ member {key!r}")._arr
            else:
                if info.file_size > MAX_DECODED_MEMBER:
                    raise ImageReadError(f"compressed NPZ member {one_line(key)!r} is too large to decode in memory")
                with self._zip.open(info) as fh:
                    self._loaded = {key: np.lib.format.read_array(fh, allow_pickle=False)}  # one at a time
        return self._loaded[key]

    def frame(self, i: int) -> np.ndarray:
        _in_range(i, self.nframes)
        for key, n in self._members:
            if i < n:
                arr = self._member(key)
                return np.array(arr[np.unravel_index(i, arr.shape[:-2])] if arr.ndim > 2 else arr)
            i -= n
        raise AssertionError("unreachable")

    def frame_dataset(self, i: int) -> str:
        for key, n in self._members:
            if i < n:
                return key
            i -= n
        return ""

    def close(self) -> None:
        self._loaded.clear()
        self._zip.close()


class FrameCacheReader:
    """HEXRD's sparse frame cache: per frame `{i}_row`, `{i}_col`, `{i}_data` into a dense `shape`; frame k
    reads only its own three members."""

    fmt = "frame cache"

    def __init__(self, npz, max_pixels: int):
        self._npz = npz
        self.shape = tuple(int(v) for v in np.asarray(self._small("shape", 4)).ravel()[:2])
        check_pixels(self.shape, max_pixels)
        self.dtype = np.dtype(np.uint16)
        if "dtype" in npz.files:
            raw = np.asarray(self._small("dtype", 1)).item()
            self.dtype = np.dtype(raw.decode() if isinstance(raw, bytes) else str(raw))
            if self.dtype.kind not in "iuf":
                raise ImageReadError(f"frame cache: dtype {self.dtype} is not numeric")
        self.nframes = int(np.asarray(self._small("nframes", 1)).item())
        held = sum(k.endswith("_data") for k in npz.files)
        if not 0 <= self.nframes <= held:
            raise ImageReadError(f"frame cache claims {self.nframes} frames but holds {held}")
        self.dataset, self.meta = None, {}

    def _small(self, key: str, limit: int):
        shape, _, _, _ = _npy_header(self._npz.zip.open(key + ".npy"), f"frame cache {key!r}")
        if math.prod(shape) > limit:
            raise ImageReadError(f"frame cache: {key!r} has shape {shape}")
        return self._npz[key]

    def frame(self, i: int) -> np.ndarray:
        _in_range(i, self.nframes)
        parts = []
        for part in ("row", "col", "data"):
            name = f"{i}_{part}"
            if name not in self._npz.files:
                raise ImageReadError(f"frame cache frame {i}: member {name!r} missing")
            parts.append(self._small(name, self.shape[0] * self.shape[1]))
        rows, cols, vals = parts
        if not rows.shape == cols.shape == vals.shape or rows.ndim != 1:
            raise ImageReadError(f"frame cache frame {i}: rows, columns and values differ in length")
        h, w = self.shape
        if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() >= h or cols.max() >= w):
            raise ImageReadError(f"frame cache frame {i}: a pixel index lies outside the {h}x{w} frame")
        dense = np.zeros(self.shape, dtype=self.dtype)
        dense[rows, cols] = vals
        return dense

    def close(self) -> None:
        self._npz.close()


def open_npz(path: Path, max_pixels: int):
    if not zipfile.is_zipfile(path):  # np.load would take it for a pickle and say so
        raise ImageReadError("not an NPZ file (no zip archive)")
    npz = np.load(path, allow_pickle=False)
    if FRAME_CACHE_KEYS <= set(npz.files) and "0_row" in npz.files:
        try:
            return FrameCacheReader(npz, max_pixels)
        except BaseException:
            npz.close()
            raise
    npz.close()
    return NpzReader(path, max_pixels)


_OVERLOAD_KEYS = {"overload", "dynamic", "dynamic_range", "count_cutoff", "saturated_value", "saturation_level"}


def header_overload(header: dict) -> float | None:
    """The value from which a pixel is saturated or invalid, as the header states it (EDF, CBF, MarCCD)."""
    for key, value in header.items():
        name = str(key).lower().rsplit(".", 1)[-1]
        text = str(value)
        if name in _OVERLOAD_KEYS:
            match = re.match(r"\s*([0-9.eE+]+)", text)
        else:
            match = re.search(r"Count_cutoff\s+([0-9]+)", text) if "Count_cutoff" in text else None
        if match:
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if value > 0:
                return value
    return None


def header_dummy(header: dict) -> tuple[float, float] | None:
    """(value, tolerance) that marks a pixel as no measurement in an ESRF EDF header (`Dummy`, `DDummy`), the
    convention of the ESRF SAXS programs and pyFAI: a pixel within the tolerance of the value is invalid, and a
    Dummy of 0 (or none) means that no pixel is. None when the header sets none or its numbers are not numbers."""
    keys = {str(k).strip().lower(): str(v) for k, v in header.items()}
    try:
        value = float(keys.get("dummy", "0"))
        tolerance = abs(float(keys.get("ddummy", "0")))
    except ValueError:
        return None
    if value == 0 or not math.isfinite(value) or not math.isfinite(tolerance):
        return None
    return value, tolerance


def open_plain(path: Path):
    import bz2
    import gzip

    return {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)(path, "rb")


def suffix_plain(path: Path) -> bool:
    return path.suffix.lower() not in {".gz", ".bz2"}
