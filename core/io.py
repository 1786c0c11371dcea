"""Detector-image reading, masks, normalisation and thumbnails.

Readers return the original values (lossless) plus a mask: detector gaps and dead pixels (negative values),
NaN and inf are masked, never treated as data. Display normalisation (log + percentile clip, for eyes) is kept
apart from model-input normalisation (for networks).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

PIL_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
TIFF_SUFFIXES = {".tif", ".tiff"}
HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".nexus", ".cxi"}
NUMPY_SUFFIXES = {".npy", ".npz"}
# Everything else goes to fabio, which knows EDF, CBF (.gz/.bz2 too), SPE, ADSC .img, MAR, Bruker, ...
FABIO_HINT = {".edf", ".cbf", ".spe", ".img", ".mar3450", ".mar2300", ".mccd", ".sfrm", ".gfrm", ".marccd"}
IMAGE_SUFFIXES = PIL_SUFFIXES | TIFF_SUFFIXES | HDF5_SUFFIXES | NUMPY_SUFFIXES | FABIO_HINT


class ImageReadError(ValueError):
    """A file (or one frame of it) that cannot be used; `str()` is the one-line reason."""


@dataclass
class Frame:
    """One 2-D frame: original values, the invalid-pixel mask, and where it came from."""

    data: np.ndarray
    mask: np.ndarray  # True where the pixel is not data (gap, dead pixel, NaN)
    index: int = 0
    dataset: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return content_hash(self.data)


def content_hash(data: np.ndarray) -> str:
    """Hash of the frame's values, shape and dtype: the same frame in two file formats is one image."""
    arr = np.ascontiguousarray(data)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def suffix_of(path: Path) -> str:
    """Lower-case suffix ignoring one compression suffix (`x.cbf.gz` -> `.cbf`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2"} and len(suffixes) > 1:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def is_image_file(path: Path) -> bool:
    return suffix_of(path) in IMAGE_SUFFIXES


def make_mask(data: np.ndarray) -> np.ndarray:
    """Gaps, dead pixels (negative values) and non-finite values are masked."""
    if np.issubdtype(data.dtype, np.floating):
        return ~np.isfinite(data) | (data < 0)
    if np.issubdtype(data.dtype, np.signedinteger):
        return data < 0
    return np.zeros(data.shape, dtype=bool)


# ------------------------------------------------------------------------------------------- readers
def _read_pil(path: Path) -> Iterator[tuple[np.ndarray, str | None]]:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode in {"RGB", "RGBA", "P", "LA", "CMYK", "YCbCr"}:
            im = im.convert("L")
        yield np.asarray(im), None


def _read_tiff(path: Path, max_pixels: int) -> Iterator[tuple[np.ndarray, str | None]]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape = series.shape
        if len(shape) >= 2 and int(np.prod(shape[-2:])) > max_pixels:
            raise ImageReadError(f"{shape[-2]}x{shape[-1]} frame exceeds the size limit of {max_pixels} pixels")
        arr = series.asarray()
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):  # RGB(A) TIFF
        arr = arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    yield from _stack(arr)


def _stack(arr: np.ndarray) -> Iterator[tuple[np.ndarray, str | None]]:
    arr = np.squeeze(arr) if arr.ndim > 2 and 1 in arr.shape[:-2] else arr
    if arr.ndim == 2:
        yield arr, None
    elif arr.ndim == 3:
        for i in range(arr.shape[0]):
            yield arr[i], None
    else:
        raise ImageReadError(f"expected a 2-D frame or a 3-D stack, got shape {arr.shape}")


def _read_numpy(path: Path, max_pixels: int) -> Iterator[tuple[np.ndarray, str | None]]:
    if suffix_of(path) == ".npy":
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        _check_pixels(arr.shape, max_pixels)
        for frame, ds in _stack(arr):
            yield np.array(frame), ds
        return
    with np.load(path, allow_pickle=False) as npz:
        if {"shape", "nframes"} <= set(npz.files) and "0_row" in npz.files:
            yield from _read_frame_cache(npz, max_pixels)
            return
        for key in npz.files:
            arr = npz[key]
            if arr.ndim >= 2:
                _check_pixels(arr.shape, max_pixels)
                for frame, _ in _stack(arr):
                    yield frame, key


def _read_frame_cache(npz, max_pixels: int) -> Iterator[tuple[np.ndarray, str | None]]:
    """HEXRD's sparse frame cache: per frame `{i}_row`, `{i}_col`, `{i}_data` into a dense `shape`."""
    shape = tuple(int(v) for v in np.asarray(npz["shape"]).ravel()[:2])
    _check_pixels(shape, max_pixels)
    dtype = np.uint16
    if "dtype" in npz.files:
        raw = np.asarray(npz["dtype"]).item()
        dtype = np.dtype(raw.decode() if isinstance(raw, bytes) else str(raw))
    for i in range(int(np.asarray(npz["nframes"]).item())):
        dense = np.zeros(shape, dtype=dtype)
        rows, cols, vals = npz[f"{i}_row"], npz[f"{i}_col"], npz[f"{i}_data"]
        dense[rows, cols] = vals
        yield dense, None


def _read_hdf5(path: Path, dataset: str | None, max_pixels: int) -> Iterator[tuple[np.ndarray, str | None]]:
    import h5py

    with h5py.File(path, "r") as f:
        name = dataset or _first_image_dataset(f)
        if name is None:
            raise ImageReadError("no 2-D or 3-D numeric dataset in the file")
        if name not in f:
            raise ImageReadError(f"no dataset {name!r} in the file")
        ds = f[name]
        if ds.ndim < 2:
            raise ImageReadError(f"dataset {name!r} has shape {ds.shape}, not an image")
        _check_pixels(ds.shape, max_pixels)
        if ds.ndim == 2:
            yield ds[()], name
        else:
            flat = ds.shape[:-2]
            for idx in np.ndindex(*flat):
                yield ds[idx], name


def _first_image_dataset(f) -> str | None:
    """NeXus default plot signal when declared, else the first numeric dataset with 2 or 3 dimensions."""
    import h5py

    try:
        entry = f[f.attrs["default"]] if "default" in f.attrs else None
        if entry is not None and "default" in entry.attrs:
            data = entry[entry.attrs["default"]]
            signal = data.attrs.get("signal")
            if signal is not None and signal in data:
                return data[signal].name
    except (KeyError, TypeError):
        pass
    found: list[str] = []

    def visit(name, obj):
        if not found and isinstance(obj, h5py.Dataset) and obj.ndim in (2, 3) and obj.dtype.kind in "iuf":
            if min(obj.shape[-2:]) > 1:
                found.append(name)

    f.visititems(visit)
    return "/" + found[0] if found else None


def _read_fabio(path: Path, max_pixels: int) -> Iterator[tuple[np.ndarray, str | None]]:
    import fabio

    try:
        if suffix_of(path) == ".spe":  # SPE has no magic number; fabio's guess by content can pick GE
            from fabio.speimage import SpeImage

            img = SpeImage().read(str(path))
        else:
            img = fabio.open(str(path))
    except Exception as exc:  # fabio raises many types for unknown/corrupt files
        raise ImageReadError(f"not a readable detector image ({type(exc).__name__}: {exc})") from exc
    with img:
        n = getattr(img, "nframes", 1) or 1
        for i in range(n):
            frame = img if i == 0 else img.getframe(i)
            data = frame.data
            if data is None:
                raise ImageReadError(f"frame {i} holds no data")
            _check_pixels(data.shape, max_pixels)
            yield np.array(data), None


def _check_pixels(shape, max_pixels: int) -> None:
    if len(shape) >= 2 and int(shape[-1]) * int(shape[-2]) > max_pixels:
        raise ImageReadError(f"{shape[-2]}x{shape[-1]} frame exceeds the size limit of {max_pixels} pixels")


def read_frames(
    path: str | Path, dataset: str | None = None, max_pixels: int = 100_000_000, min_side: int = 8
) -> Iterator[Frame]:
    """Yield every frame of a file, checked and masked.

    Args:
        path: the file; its suffix picks the reader (anything unknown is tried with fabio).
        dataset: an HDF5 dataset path; by default the NeXus signal or the first image dataset.
        max_pixels: a frame larger than this is refused before it is read, where the format allows.
        min_side: a frame with a shorter side is refused.

    Raises:
        ImageReadError: with a one-line reason, for the whole file or for the frame that failed.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError("no such file")
    if path.stat().st_size == 0:
        raise ImageReadError("empty file")
    suffix = suffix_of(path)
    try:
        if suffix in PIL_SUFFIXES:
            raw = _read_pil(path)
        elif suffix in TIFF_SUFFIXES:
            raw = _read_tiff(path, max_pixels)
        elif suffix in NUMPY_SUFFIXES:
            raw = _read_numpy(path, max_pixels)
        elif suffix in HDF5_SUFFIXES:
            raw = _read_hdf5(path, dataset, max_pixels)
        else:
            raw = _read_fabio(path, max_pixels)
        for i, (data, ds) in enumerate(raw):
            yield _checked(data, i, ds, max_pixels, min_side)
    except ImageReadError:
        raise
    except Exception as exc:  # every library has its own corrupt-file exception; name it in one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageReadError(f"cannot read as {suffix or 'image'} ({type(exc).__name__}: {reason})") from exc


def _checked(data: np.ndarray, index: int, dataset: str | None, max_pixels: int, min_side: int) -> Frame:
    if data.ndim != 2:
        raise ImageReadError(f"frame {index}: expected 2-D, got shape {data.shape}")
    if data.dtype.kind not in "iufb":
        raise ImageReadError(f"frame {index}: non-numeric dtype {data.dtype}")
    h, w = data.shape
    if min(h, w) < min_side:
        raise ImageReadError(f"frame {index}: {h}x{w} is smaller than the minimum side of {min_side} pixels")
    if h * w > max_pixels:
        raise ImageReadError(f"frame {index}: {h}x{w} exceeds the size limit of {max_pixels} pixels")
    if data.dtype == bool:
        data = data.astype(np.uint8)
    mask = make_mask(data)
    if mask.all():
        raise ImageReadError(f"frame {index}: no valid pixel (all NaN, negative or masked)")
    return Frame(data=data, mask=mask, index=index, dataset=dataset)


def read_frame(path: str | Path, index: int = 0, dataset: str | None = None, max_pixels: int = 10**9) -> Frame:
    """One frame of a file by index (stored originals are read back through this)."""
    for frame in read_frames(path, dataset=dataset, max_pixels=max_pixels, min_side=1):
        if frame.index == index:
            return frame
    raise ImageReadError(f"{path}: no frame {index}")


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
        v = np.log1p(np.clip(x[valid], 0, None))
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
    return np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def thumbnail_png(data: np.ndarray, mask: np.ndarray | None = None, max_side: int = 256) -> bytes:
    """A PNG thumbnail (log-scaled, longest side `max_side`) for the browser.

    The log is taken at full resolution and the result box-reduced before the percentile clip, so a
    2-megapixel frame takes milliseconds.
    """
    from PIL import Image

    x = np.asarray(data, dtype=np.float32)
    mask = make_mask(x) if mask is None else mask
    logx = np.log1p(np.clip(np.where(mask, 0.0, x), 0, None))
    small = downsample(logx, max_side)
    valid = downsample((~mask).astype(np.float32), max_side) > 0.5
    disp = display_normalise(small, ~valid, log=False)
    buf = io.BytesIO()
    Image.fromarray((disp * 255).astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()
