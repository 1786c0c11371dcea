"""HDF5 datasets whose values live in other files made self-contained at import (`materialise`).

A workspace must never depend on a file outside it: external links, virtual datasets and a DECTRIS/PSI master's
series of data files are followed (relative to the linking file, never by HDF5's search path, and only inside
the folder the import allows), and their values copied frame by frame into one file that the import stores as
the original. Reading frames, and refusing such datasets when read directly, is `io_hdf5`'s.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .io_hdf5 import (
    LINK_LOOP,
    MAX_LINK_DEPTH,
    NO_FRAMES,
    _external_link,
    _first_link,
    check_written,
    chunk_cache,
    first_image_dataset,
    open_cached,
    register_filters,
    series,
)
from .io_hdf5_meta import copy_detector_meta
from .io_safety import ImageReadError, check_pixels, not_a_file, one_line, os_reason

log = logging.getLogger(__name__)


class MissingLinkTarget(ImageReadError):
    """A file another file links to is not there."""


def _inside(path: Path, allowed: Path | None, what: str) -> Path:
    real = path.resolve()
    if not real.exists():
        raise MissingLinkTarget(f"{what} {one_line(path)} not found")
    if (why := not_a_file(real)) is not None:  # a named pipe is never opened (it would block)
        raise ImageReadError(f"{what} {one_line(path)}: {why}")
    if allowed is not None and not real.is_relative_to(allowed):
        raise ImageReadError(f"{what} {one_line(path)} is outside the folder being imported: refused")
    return real


def _open_target(src: Path, name: str, allowed: Path | None, files: list):
    """Follow external links ourselves (relative to the linking file) to the dataset they name."""
    import h5py

    path = src
    for _ in range(MAX_LINK_DEPTH):
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            if path == src:
                raise
            raise ImageReadError(f"external link target {one_line(path.name)}: {one_line(os_reason(exc))}") from exc
        files.append(f)
        try:
            ext = _external_link(f, name)
        except ImageReadError as exc:
            if path == src:
                raise
            raise ImageReadError(f"external link target {one_line(path.name)}: {exc}") from None
        if ext is None:
            return f, path, name
        link, name = ext
        target = Path(link.filename)
        path = _inside(target if target.is_absolute() else path.parent / target, allowed, "external link target")
    raise ImageReadError(f"HDF5 {one_line(name)}: more than {MAX_LINK_DEPTH} chained external links")


def materialise(
    src: Path, dest: Path, dataset: str | None, allowed: Path | None, max_pixels: int, upto: int | None = None
) -> str:
    """Write `dataset` of `src` (external link, VDS) as an ordinary dataset of the same name into `dest`.

    Found by itself (no `dataset` given), the first data file of a detector master's series (`series`) brings
    the others with it: their frames, in order, are one dataset `<group>/data` (the name the data files give it).
    A data file of the series that is not there (a transfer not finished), or a number missing from the series,
    ends the series there with a warning naming it; the frames before it are kept. Each data file is copied
    and closed before the next is opened: a series of thousands of files stays within the open-file limit.

    Args:
        allowed: the folder the import may read from (None: anywhere, the user's explicit choice).
        upto: copy only the first this many frames (in the order they are read, as one axis of frames): enough
            for one frame of a long series (`scatterloop polar`); None copies them all (an import).

    Returns:
        the dataset's name in `dest`.

    Raises:
        ImageReadError: a source file missing or outside `allowed`, raw external storage, a bad shape, or a
            data file of the series that is unreadable or whose frames differ in shape or type (named).
    """
    out_name = _materialise(src, dest, dataset, allowed, max_pixels, upto)
    _keep_detector_meta(src, dest, out_name)
    return out_name


def _keep_detector_meta(src: Path, dest: Path, name: str) -> None:
    """The linking file's pixel mask and saturation level (`io_hdf5_meta`), copied beside the frames: a master
    file keeps them, its data files do not."""
    import h5py

    try:
        with h5py.File(src, "r") as f, h5py.File(dest, "a") as out:
            copy_detector_meta(f, out, name, out[name].shape)
    except Exception:  # the frames are copied; metadata never fails the import
        log.warning("%s: its pixel mask or saturation level could not be kept", one_line(src.name), exc_info=True)


def _materialise(
    src: Path, dest: Path, dataset: str | None, allowed: Path | None, max_pixels: int, upto: int | None
) -> str:
    import h5py

    register_filters()
    with h5py.File(src, "r") as f:
        name = dataset or first_image_dataset(f) or _first_link(f)
        parts, gap = series(f, name) if name is not None and dataset is None else ([name], None)
    if name is None:
        raise ImageReadError(NO_FRAMES)
    if gap is not None:
        log.warning(
            "%s: %s is missing from the series; it is read up to %s", src.name, gap, parts[-1].rpartition("/")[2]
        )
    if len(parts) == 1:
        files: list = []
        try:
            _copy_frames(dest, name, _source_dataset(src, name, allowed, max_pixels, files), upto)
        finally:
            for f in files:
                f.close()
        return name
    out_name = f"{parts[0].rpartition('/')[0]}/data"
    with h5py.File(dest, "w") as out:
        target = None
        for k, part in enumerate(parts):
            leaf = part.rpartition("/")[2]
            files = []
            try:
                ds = _source_dataset(src, part, allowed, max_pixels, files)
                frame = ds.shape[-2:]
                if target is None:
                    target = out.create_dataset(
                        out_name, shape=(0, *frame), maxshape=(None, *frame), dtype=ds.dtype, chunks=(1, *frame)
                    )
                elif frame != target.shape[1:] or ds.dtype.str[1:] != target.dtype.str[1:]:  # byte order aside
                    raise ImageReadError(
                        f"frames {ds.shape} {ds.dtype} do not match {parts[0].rpartition('/')[2]}'s "
                        f"{target.shape[1:]} {target.dtype}"
                    )
                for idx in np.ndindex(*ds.shape[:-2]):
                    if upto is not None and target.shape[0] >= upto:
                        return out_name
                    target.resize(target.shape[0] + 1, axis=0)
                    target[-1] = ds[idx]
            except MissingLinkTarget as exc:
                if k == 0:
                    raise
                log.warning("%s: %s; the series is read up to %s", src.name, exc, parts[k - 1].rpartition("/")[2])
                return out_name
            except ImageReadError as exc:
                raise type(exc)(f"HDF5 series part {leaf}: {exc}") from exc
            finally:
                for f in files:
                    f.close()
    return out_name


def _copy_frames(dest: Path, name: str, ds, upto: int | None = None) -> None:
    """Write dataset `ds` as `name` in `dest`, one frame at a time (memory stays one frame); with `upto`, only
    its first `upto` frames, on one axis."""
    import h5py

    lead = ds.shape[:-2]
    if upto is not None and lead:
        n = min(int(upto), int(np.prod(lead)))
        with h5py.File(dest, "w") as out:
            target = out.create_dataset(name, shape=(n, *ds.shape[-2:]), dtype=ds.dtype, chunks=(1, *ds.shape[-2:]))
            for k, idx in zip(range(n), np.ndindex(*lead), strict=False):
                target[k] = ds[idx]
        return
    chunks = (*(1,) * len(lead), *ds.shape[-2:]) if lead else None
    with h5py.File(dest, "w") as out:
        target = out.create_dataset(name, shape=ds.shape, dtype=ds.dtype, chunks=chunks)
        for idx in np.ndindex(*lead):
            target[idx] = ds[idx]


def check_vds_frames(ds, name: str) -> None:
    """A virtual dataset's frames that no source maps read back as its fill value: declared, never measured (8 KB
    of VDS can declare 3000 frames of which one is mapped). Refused, as unwritten chunks are; pixels left out
    within mapped frames (module gaps of an assembled detector) read as the fill value, which is masked where it
    is negative or NaN, and gaps written as zeros are found as such. A frame counts as mapped when a source's
    hyperslab (start, stride, count, block) reaches it; a selection this cannot read (an unlimited mapping that
    grows with its source, a point list) is given the benefit of its bounds, or of the doubt."""
    lead = ds.shape[:-2]
    if not lead:
        return
    touched = np.zeros(lead, dtype=bool)
    try:
        for vs in ds.virtual_sources():
            touched[_frames_reached(vs.vspace, len(lead))] = True
    except Exception:  # HDF5 cannot describe the selection (an unlimited one): nothing to say against it
        log.debug("%s: virtual mapping not read", one_line(name), exc_info=True)
        return
    if touched.all():
        return
    missing = int(touched.size - touched.sum())
    raise ImageReadError(
        f"HDF5 virtual dataset {one_line(name)}: {missing} of {touched.size} frames map to no source "
        "(they would read as fill value)"
    )


def _frames_reached(space, n_lead: int) -> tuple:
    """An index into the frame axes (the leading `n_lead`) of the frames a virtual source's selection reaches."""
    import h5py

    if space.get_select_type() == h5py.h5s.SEL_HYPERSLABS and space.is_regular_hyperslab():
        start, stride, count, block = space.get_regular_hyperslab()
        axes = []
        for d in range(n_lead):
            steps = start[d] + stride[d] * np.arange(count[d])[:, None] + np.arange(block[d])[None, :]
            axes.append(np.unique(steps.ravel()))
        return np.ix_(*axes)
    low, high = space.get_select_bounds()  # a union of slabs or points: its bounding box, the generous reading
    return tuple(slice(a, b + 1) for a, b in zip(low[:n_lead], high[:n_lead], strict=True))


def _source_dataset(src: Path, name: str, allowed: Path | None, max_pixels: int, files: list):
    """The readable dataset `name` of `src`, external links and virtual sources followed and checked (files
    opened are appended to `files`, for the caller to close)."""
    import h5py

    f, path, inner = _open_target(src, name, allowed, files)
    try:
        ds = f[inner]
    except KeyError:  # a link (soft or external) to nothing inside the file that holds it
        raise ImageReadError(
            f"no dataset {one_line(inner)!r} in {one_line(path.name)} (or a link to nothing)"
        ) from None
    except RuntimeError:
        raise ImageReadError(f"{LINK_LOOP.format(one_line(inner))} in {one_line(path.name)}") from None
    if not isinstance(ds, h5py.Dataset):
        raise ImageReadError(f"{one_line(name)!r} is a group, not a dataset")
    if ds.external:
        raise ImageReadError(f"HDF5 {one_line(name)}: raw external storage in other files: not supported")
    if ds.is_virtual:
        for vs in ds.virtual_sources():
            source = path if vs.file_name == "." else Path(vs.file_name)
            if not source.is_absolute():
                source = path.parent / source
            source = _inside(source, allowed, "virtual dataset source")
            with h5py.File(source, "r") as sf:
                if vs.dset_name not in sf:
                    raise ImageReadError(f"virtual dataset source {one_line(vs.dset_name)} missing in {source.name}")
        check_vds_frames(ds, name)
        dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
        dapl.set_virtual_prefix(os.fsencode(str(path.parent.resolve())) + b"/")
        ds = h5py.Dataset(h5py.h5d.open(f.id, inner.encode(), dapl))
    else:
        check_written(ds, name)
        if (cache := chunk_cache(ds, name)) is not None:  # the file open without it is closed first (HDF5
            files.remove(f)  # would share that one's cache)
            f.close()
            files.append(open_cached(path, cache))
            ds = files[-1][inner]
    if ds.ndim < 2 or ds.dtype.kind not in "iufb":
        raise ImageReadError(f"dataset {one_line(name)!r}: shape {ds.shape}, dtype {ds.dtype} is not an image")
    check_pixels(ds.shape, max_pixels)
    return ds


def read_one_frame(path: Path, index: int = 0, dataset: str | None = None, max_pixels: int | None = None):
    """`io.read_frame`, also for a frame kept in other HDF5 files (a master's data files, external links, virtual
    datasets): the links the file makes are followed into a temporary copy, up to the frame asked for only."""
    import tempfile

    from .io import read_frame
    from .io_safety import ExternalDataError, ImageReadError, one_line

    try:
        return read_frame(path, index=index, dataset=dataset, max_pixels=max_pixels)  # a negative index: refused
    except ExternalDataError:
        with tempfile.TemporaryDirectory(prefix="scatterloop-polar-") as folder:
            copy = Path(folder) / "frames.h5"
            name = materialise(path, copy, dataset, None, max_pixels, upto=max(index + 1, 1))
            try:
                return read_frame(copy, index=index, dataset=name, max_pixels=max_pixels)
            except ImageReadError as exc:  # named as the person gave it, never the temporary copy
                raise ImageReadError(str(exc).replace(one_line(copy), one_line(path))) from exc
