"""HDF5/NeXus frames read one at a time, and datasets whose values live elsewhere made self-contained.

A workspace must never depend on a file outside it. HDF5 can hide other files behind a dataset: external
links, virtual datasets (VDS) and raw external storage. Read naively, a missing VDS source reads back as
the fill value (zeros) with no error. The reader therefore refuses all three (`ExternalDataError`) and
`io_hdf5_copy.materialise` copies the values, frame by frame, into one file that the import stores as the original.
Link targets are resolved by us, relative to the linking file, never by HDF5's search path (which tries
the current directory first).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np

from .io_hdf5_meta import detector_meta
from .io_safety import ExternalDataError, ImageReadError, check_pixels, one_line

log = logging.getLogger(__name__)
MAX_LINK_DEPTH = 4
MAX_CHUNK_CACHE = 1 << 30  # the most a chunk cache may take to read a frame once (chunks holding many frames)
CHUNK_CACHE_SLOTS = 10007  # hash slots of that cache (a prime, as HDF5 advises)
LINK_LOOP = "{!r} is a loop of soft links (each names the next, none a dataset)"


# Where detector frames live by convention: NeXus NXdetector and NXdata, and an Eiger/Jungfrau master file's
# links to its data files (data_000001, data_000002, ...: `materialise` joins the whole series)
KNOWN_FRAME_PATHS = ("entry/data/data", "entry/instrument/detector/data", "entry/data/data_000001")
SERIES_PART = re.compile(r"data_(\d{6})")  # one data file of a DECTRIS/PSI master's series, numbered from 1
MIN_FRAME_SIDE = 8  # a smaller array (motor positions (N, 2), a 3x3 matrix) is metadata, never a frame
NO_FRAMES = f"no numeric image dataset (2-D or more, at least {MIN_FRAME_SIDE} pixels a side) in the file"
# what a detector group keeps beside its frames, often of the frames' size: never taken for them while any other
# dataset can be (NXdetector's pixel_mask, flatfield, dark current, gain and pedestal maps, ...); by the whole
# name: `flatfield_uncertainty` is such a map, `data_dark_corrected` or `flat_sample` are frames
AUXILIARY = re.compile(
    r"((pixel|bad_?pixel|detector|beam_?stop)_?)?"
    r"(mask|bad_?pixels?|flat_?field|flat|dark_?(field|current|frame|image|data)?|gain_?(map)?|pedestal|noise|"
    r"countrate_correction|calibration)s?"
    r"(_?(\d+|g\d+|uncertainty|uncertainties|errors?|sigma|std|rms|map|table|lookup_table|frames?|images?|data|"
    r"correction))*",
    re.IGNORECASE,
)


def first_image_dataset(f) -> str | None:
    """Where a file's frames are: the NeXus default plot's signal when it is an image (2-D or more), else a
    conventional frame path (`KNOWN_FRAME_PATHS`, also when it is a link to another file), else the largest
    numeric dataset of 2 or 3 dimensions with both frame sides of at least `MIN_FRAME_SIDE` (a stack beats a
    flat field or pixel mask beside it), else the largest deeper one (scan x frame x Y x X); a pixel mask, flat
    field or dark map (`AUXILIARY`: by name, or boolean) only when nothing else is. None if there is none (the
    caller then looks for external links)."""
    import h5py

    dangling = None
    try:
        entry = f[f.attrs["default"]] if "default" in f.attrs else None
        if entry is not None and "default" in entry.attrs:
            data = entry[entry.attrs["default"]]
            if isinstance(data, h5py.Dataset):  # `default` names the frames themselves, not an NXdata group
                if data.ndim >= 2:
                    return data.name
                raise KeyError("a 1-D default plot is not the frames")
            signal = data.attrs.get("signal")
            if isinstance(signal, np.ndarray) and signal.size == 1:  # written as a one-element array
                signal = signal.item()
            if isinstance(signal, bytes):
                signal = signal.decode()
            if isinstance(signal, str) and data.get(signal, getlink=True) is None:
                dangling = (data.name, signal)
            elif isinstance(signal, str):
                name = f"{data.name.rstrip('/')}/{signal}"
                try:
                    target = f.get(name)  # None for a link to another file: the reader follows it or says why
                except RuntimeError:  # soft links in a loop: the reader names them
                    return name
                if not isinstance(target, h5py.Dataset) or target.ndim >= 2:
                    return name  # a 1-D default plot (an integrated profile) is not the frames
    except (KeyError, TypeError, ValueError, OSError, RuntimeError, AttributeError):  # RuntimeError: a link loop
        pass
    if dangling is not None:  # whatever else the file holds (a flat field, a mask) is not what the file points to
        raise ImageReadError(
            f"NeXus plot {one_line(dangling[0])}: its signal {one_line(dangling[1])!r} names no dataset "
            "(pass --dataset to choose one)"
        )
    for name in KNOWN_FRAME_PATHS:
        try:
            link = f.get(name, getlink=True)
            target = f.get(name) if isinstance(link, h5py.SoftLink | h5py.HardLink) else None
        except (KeyError, TypeError, ValueError, OSError, RuntimeError):  # RuntimeError: a soft-link loop
            continue
        if isinstance(link, h5py.ExternalLink) or (isinstance(target, h5py.Dataset) and target.ndim >= 2):
            return "/" + name
    return _largest_image(f)


def register_filters() -> None:
    """Make the compression filters of `hdf5plugin` (Bitshuffle/LZ4 of Eiger files, Blosc, Zstd, ...) known to
    HDF5; without them such a dataset fails at the first read with a message about a plugin folder."""
    try:
        import hdf5plugin  # noqa: F401  (importing registers the filters)
    except ImportError:  # optional: the filters built into HDF5 (gzip, szip, lzf) still work
        log.debug("hdf5plugin not installed: only HDF5's built-in filters are available")


def missing_filters(ds) -> list[str]:
    """The compression filters of `ds` this HDF5 cannot decode, as `id (name)`. An optional filter may have been
    skipped when the chunks were written, so only a failed read tells; this names the likely reason."""
    import h5py

    dcpl = ds.id.get_create_plist()
    missing = []
    for k in range(dcpl.get_nfilters()):
        code, _, _, label = dcpl.get_filter(k)
        if not h5py.h5z.filter_avail(code):
            text = label.decode(errors="replace") if isinstance(label, bytes) else str(label or "")
            missing.append(f"{code} ({one_line(text) or 'unknown'})")
    return missing


def _external_link(f, name: str):
    """The first external link on the way to `name` as (link, path inside the target), else None."""
    import h5py

    parts = [p for p in name.split("/") if p]
    group = f["/"]
    for i, part in enumerate(parts):
        link = group.get(part, getlink=True)
        if link is None:
            raise ImageReadError(f"no dataset {one_line(name)!r} in the file")
        if isinstance(link, h5py.ExternalLink):
            rest = "/".join(parts[i + 1 :])
            return link, (link.path.rstrip("/") + "/" + rest) if rest else link.path
        if i < len(parts) - 1:
            try:
                group = group[part]
            except RuntimeError:  # HDF5's words: "Special link traversal failed (too many links)"
                raise ImageReadError(LINK_LOOP.format(one_line("/".join(parts[: i + 1])))) from None
    return None


def check_self_contained(f, name: str, ds) -> None:
    """Refuse a dataset whose values are in another file; the import may materialise it instead."""
    ext = _external_link(f, name)
    if ext is not None:
        raise ExternalDataError(f"HDF5 {one_line(name)}: external link to {one_line(ext[0].filename)}")
    if ds.is_virtual:
        raise ExternalDataError(f"HDF5 {one_line(name)}: virtual dataset (values in other files)")
    if ds.external:
        raise ExternalDataError(f"HDF5 {one_line(name)}: raw external storage in other files: not supported")


def check_written(ds, name: str) -> None:
    """Unwritten storage reads back as the fill value; a detector frame that was never written is missing."""
    if ds.size == 0:
        raise ImageReadError(f"HDF5 dataset {one_line(name)} is empty")
    if ds.chunks is None:
        if ds.id.get_storage_size() == 0:
            raise ImageReadError(f"HDF5 dataset {one_line(name)}: values never written (would read as fill value)")
        return
    expected = math.prod(math.ceil(s / c) for s, c in zip(ds.shape, ds.chunks, strict=True))
    written = ds.id.get_num_chunks()
    if written < expected:
        raise ImageReadError(
            f"HDF5 dataset {one_line(name)}: {expected - written} of {expected} chunks never written "
            "(they would read as fill value)"
        )


def chunk_cache(ds, name: str) -> int | None:
    """The chunk cache (bytes) that holds the chunks one frame touches, when a chunk holds several frames; None
    when the file's cache (HDF5's default, 1 or 8 MiB by version) does.

    Frames are read one at a time; the default cache keeps no larger chunk, so a chunk of 64 frames was
    decompressed whole again for each of them (64 frames of 1024x1024 in one gzip chunk: 20 s, and the cost grows
    with the square of the frames a chunk holds). The file is then opened again with this cache. A chunking whose
    cache would exceed `MAX_CHUNK_CACHE` is refused by name, with the command that rewrites it.
    """
    if ds.chunks is None or ds.ndim < 3 or math.prod(ds.chunks[:-2]) == 1:
        return None
    tiles = math.prod(math.ceil(s / c) for s, c in zip(ds.shape[-2:], ds.chunks[-2:], strict=True))
    need = math.prod(ds.chunks) * ds.dtype.itemsize * tiles
    if need <= ds.file.id.get_access_plist().get_cache()[2]:  # the cache the file was opened with holds them
        return None
    if need > MAX_CHUNK_CACHE:
        frame = "x".join(str(v) for v in ds.shape[-2:])
        raise ImageReadError(
            f"HDF5 dataset {one_line(name)}: chunks {ds.chunks} hold {math.prod(ds.chunks[:-2])} frames "
            f"({need >> 20} MiB), decompressed again for each frame; rewrite it in chunks of one frame "
            f"(h5repack -l {one_line(ds.name)}:CHUNK={'x'.join('1' * (ds.ndim - 2))}x{frame} IN OUT)"
        )
    return need + (1 << 20)


def open_cached(path: Path, cache: int):
    """The file opened again with a chunk cache of `cache` bytes (HDF5 fixes a dataset's cache when the file
    first opens it, so a cache set on the dataset alone is ignored)."""
    import h5py

    return h5py.File(path, "r", rdcc_nbytes=cache, rdcc_nslots=CHUNK_CACHE_SLOTS, rdcc_w0=1.0)


class Hdf5Reader:
    """Frames of one HDF5 dataset, or of every scan of a file holding several (`scan_datasets`); frame k is read
    directly (`ds[k]`), so a stack costs O(1) per frame."""

    fmt = "HDF5"

    def __init__(self, path: Path, dataset: str | None, max_pixels: int):
        import h5py

        register_filters()
        self._f = h5py.File(path, "r")
        try:
            scans = scan_datasets(self._f) if dataset is None else []
            names = scans or [dataset or first_image_dataset(self._f)]
            if names[0] is None and _first_link(self._f):
                raise ExternalDataError("HDF5: the image data is only behind an external link")
            if names[0] is None:
                raise ImageReadError(NO_FRAMES)
            if dataset is None and not scans and series(self._f, names[0]) != ([names[0]], None):
                raise ExternalDataError(f"HDF5 {one_line(names[0])}: the first of a series of data files")
            sets = [self._checked(name, max_pixels) for name in names]
            cache = max((c for ds, name in zip(sets, names, strict=True) if (c := chunk_cache(ds, name))), default=0)
            if cache:
                inner = [ds.name for ds in sets]
                self._f.close()
                self._f = open_cached(path, cache)
                sets = [self._f[name] for name in inner]
        except BaseException:
            self._f.close()
            raise
        # (dataset, its leading shape, frames) per part: one part, or one per scan
        self._parts = [(ds, ds.shape[:-2], math.prod(ds.shape[:-2])) for ds in sets]
        self._metas = [detector_meta(self._f, ds.name, ds.shape, str(path.name)) for ds in sets]  # mask, saturation
        self.dataset, self._ds, self._lead = sets[0].name, sets[0], self._parts[0][1]
        self.meta: dict = self._metas[0]
        self.nframes = sum(n for _, _, n in self._parts)

    def _checked(self, name: str, max_pixels: int):
        import h5py

        ext = _external_link(self._f, name)
        if ext is not None:
            raise ExternalDataError(f"HDF5 {one_line(name)}: external link to {one_line(ext[0].filename)}")
        try:
            ds = self._f[name]
        except KeyError:  # a mistyped --dataset, or a soft link (a NeXus signal) to nothing
            raise ImageReadError(f"no dataset {one_line(name)!r} in the file (or a link to nothing)") from None
        except RuntimeError:
            raise ImageReadError(LINK_LOOP.format(one_line(name))) from None
        if not isinstance(ds, h5py.Dataset):
            raise ImageReadError(f"{one_line(name)!r} is a group, not a dataset")
        check_self_contained(self._f, name, ds)
        if ds.ndim < 2:
            raise ImageReadError(f"dataset {one_line(name)!r} has shape {ds.shape}, not an image")
        if ds.dtype.kind not in "iufb":
            raise ImageReadError(f"dataset {one_line(name)!r}: non-numeric dtype {ds.dtype}")
        check_pixels(ds.shape, max_pixels)
        check_written(ds, name)
        return ds

    def _part(self, i: int) -> tuple[int, int]:
        """(part, frame within it) of frame i."""
        if not 0 <= i < self.nframes:
            raise ImageReadError(f"no frame {i} (the dataset holds {self.nframes})")
        part = 0
        while i >= self._parts[part][2]:
            i -= self._parts[part][2]
            part += 1
        return part, i

    def frame(self, i: int) -> np.ndarray:
        part, k = self._part(i)
        ds, lead, _ = self._parts[part]
        try:
            return ds[np.unravel_index(k, lead)] if lead else ds[()]
        except OSError as exc:  # HDF5 blames its plugin folder when a compression filter is not installed
            missing = missing_filters(ds)
            if missing:
                raise ImageReadError(f"compressed with HDF5 filter {', '.join(missing)}, not installed here") from exc
            raise

    def frame_dataset(self, i: int) -> str:
        return self._parts[self._part(i)[0]][0].name

    def frame_index(self, i: int) -> int:
        """Frame i's index in its own dataset (what `read_frame(path, index, dataset)` takes back)."""
        return self._part(i)[1]

    def frame_meta(self, i: int) -> dict:
        return self._metas[self._part(i)[0]]

    def close(self) -> None:
        self._f.close()


def scan_datasets(f) -> list[str]:
    """The frames of every scan when a file holds several: top-level NXentry groups (a Bliss or SPEC-style file's
    `1.1`, `2.1`, ...) that each hold their own frames (their largest image dataset that is no mask, flat field or
    dark map), all of one frame shape (one detector) and each self-contained. A scan with no frame, or aborted
    (chunks never written: they would read as the fill value), is left out with a warning naming it; the other
    scans import (before, such a file brought its largest dataset alone). [] for a file with fewer than two
    scans, one whose entries hold frames of different shapes (a reduced map beside the frames is not a scan), one
    that names its default plot (it says which frames it means), or one whose scans' frames live in other files
    (the import then materialises the first, as for any file)."""
    import h5py

    if "default" in f.attrs:
        return []
    found: list[str] = []
    for key in f:
        try:
            group = f.get(key)
            nx = group.attrs.get("NX_class", b"") if isinstance(group, h5py.Group) else b""
        except (KeyError, TypeError, ValueError, OSError, RuntimeError):
            continue
        if (nx.decode(errors="replace") if isinstance(nx, bytes) else str(nx)) != "NXentry":
            continue
        name = _largest_image(group, frames_only=True)
        if name is not None:
            found.append(name)
    if len(found) < 2 or len({tuple(f[name].shape[-2:]) for name in found}) > 1:  # scans of one detector only
        return []
    for name in found:
        ds = f[name]
        if _external_link(f, name) is not None or ds.is_virtual or ds.external:
            return []
    complete = []
    for name in found:
        try:
            check_written(f[name], name)
            complete.append(name)
        except ImageReadError as exc:
            log.warning("%s: scan %s left out: %s", one_line(f.filename), one_line(name), exc)
    return complete


def _largest_image(group, frames_only: bool = False) -> str | None:
    """The largest numeric dataset under `group` of 2 or 3 dimensions with both frame sides of at least
    `MIN_FRAME_SIDE`, else the largest deeper one; a pixel mask, flat field or dark map (`AUXILIARY`: by name, or
    boolean) only when nothing else is. Absolute name, or None."""
    import h5py

    best: dict[tuple[bool, bool], tuple[int, str]] = {}  # (auxiliary?, deeper than 3-D?) -> (size, name)

    def visit(name, obj):  # H5Ovisit does not enter external files
        if isinstance(obj, h5py.Dataset) and obj.ndim >= 2 and obj.dtype.kind in "iufb":
            if min(obj.shape[-2:]) >= MIN_FRAME_SIDE:
                aux = obj.dtype.kind == "b" or AUXILIARY.fullmatch(name.rsplit("/", 1)[-1]) is not None
                key, size = (aux, obj.ndim > 3), math.prod(obj.shape)
                if key not in best or size > best[key][0]:
                    best[key] = (size, obj.name)

    group.visititems(visit)
    for key in (
        ((False, False), (False, True))
        if frames_only
        else ((False, False), (False, True), (True, False), (True, True))
    ):
        if key in best:
            return best[key][1]
    return None


def series(f, name: str) -> tuple[list[str], str | None]:
    """The data files of a detector master's series that `name` (`.../data_000001`) begins: its sibling
    `data_000001`, `data_000002`, ... in number order, up to the first number missing; and the first number
    missing when a later one is there (a series with a gap), else None. `[name]` for any other name."""
    group, _, leaf = name.rpartition("/")
    part = SERIES_PART.fullmatch(leaf)
    if part is None or int(part.group(1)) != 1:
        return [name], None
    try:
        members = {m for m in f[group or "/"].keys() if SERIES_PART.fullmatch(m)}
    except (KeyError, TypeError, ValueError, OSError, RuntimeError):  # RuntimeError: a soft-link loop
        return [name], None
    out = []
    while f"data_{len(out) + 1:06d}" in members:
        out.append(f"{group}/data_{len(out) + 1:06d}")
    gap = f"data_{len(out) + 1:06d}" if len(out) < len(members) else None
    return out or [name], gap


def _first_link(f) -> str | None:
    """The first external link at any depth (`visititems` does not enter them), for files holding only links."""
    import h5py

    found: list[str] = []

    def visit(name, link):
        if not found and isinstance(link, h5py.ExternalLink):
            found.append("/" + name)

    f.visititems_links(visit)
    return found[0] if found else None
