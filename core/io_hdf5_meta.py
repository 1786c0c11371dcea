"""What an HDF5/NeXus file says of the detector that took its frames: pixel mask, saturation level, beam centre.

NeXus NXmx keeps them in the NXdetector group (`pixel_mask`, extra `pixel_mask_N` to be combined with it, and
`saturation_value`); a DECTRIS Eiger master file in that group's `detectorSpecific` group (`pixel_mask`,
`countrate_correction_count_cutoff`). A pixel whose mask has a bit of the lower 16 set (gap, dead, under- or
over-responding, noisy, ...; NXmx keeps bits 16-31 for tags such as "virtual pixel", which do not reject it)
holds no measurement, also where the detector wrote a plausible count: an Eiger written with
`pixel_mask_applied` false keeps its hot pixels' counts, which a frame's own values cannot tell from a Bragg spot.
A value above the saturation level is invalid (NXmx: "invalid above this value"). `beam_center_x/y` say where
the beam hits the detector (`geometry.header`).

Only the frames' own detector is read: the group holding the frames, and the NXdetector of the frames' entry
(the one whose `data` is the frames when the entry has several; `<entry>/instrument/detector` when no group says
it is one). Another detector, a diode or a monitor elsewhere in the file says nothing of these frames. The lookup
walks those few groups, not the file, and its result is kept per file version, since a reader is opened for every
frame shown.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading

import numpy as np

from .io_safety import one_line

log = logging.getLogger(__name__)

MASK_NAME = re.compile(r"pixel_mask(_\d+)?")
SATURATION_NAMES = ("saturation_value", "countrate_correction_count_cutoff")
BEAM_NAMES = ("beam_center_x", "beam_center_y", "x_pixel_size", "y_pixel_size")
REJECT_BITS = 0xFFFF  # NXmx: bits 0-15 reject a pixel, 16-31 only tag it
MAX_MASKED = 0.5  # a pixel mask flagging more of the detector than this is not one (a flat field, an inverted mask)
_LOCAL = threading.local()  # per thread (an import, a page's view): masks left out that a warning named there


def _said() -> set:
    """This thread's masks left out that a warning named: (dataset, pixels flagged, CRC of the file's ends)."""
    if not hasattr(_LOCAL, "said"):
        _LOCAL.said = set()
    return _LOCAL.said


def forget_said() -> None:
    """A new import: its files' masks left out are said again (views of stored frames between imports are not)."""
    _said().clear()


def _nx_class(obj) -> str:
    value = obj.attrs.get("NX_class", b"")
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _members(group):
    """(name, object) of a group's members reached by hard or soft links: an external link is never opened here
    (a master's links to its data files, a detector's `data` in another file)."""
    import h5py

    for key in group:
        try:
            if isinstance(group.get(key, getlink=True), h5py.ExternalLink):
                continue
            obj = group.get(key)
        except (KeyError, OSError, RuntimeError):  # a dangling soft link, a soft-link loop
            continue
        if obj is not None:
            yield key, obj


def _groups(group, nx_class: str) -> list:
    import h5py

    return [g for _, g in _members(group) if isinstance(g, h5py.Group) and _nx_class(g) == nx_class]


def detector_groups(f, frames: str) -> list[str]:
    """Names of the groups of file `f` that describe the detector of dataset `frames` (see the module docstring),
    each with its `detectorSpecific` group; [] when the file does not say which detector took them."""
    import h5py

    parts = [p for p in frames.split("/") if p]
    if not parts:
        return []
    found: list[str] = []
    parent = f.get("/" + "/".join(parts[:-1])) if len(parts) > 1 else None
    if isinstance(parent, h5py.Group) and _nx_class(parent) == "NXdetector":
        found.append(parent.name)
    entry = f.get(parts[0]) if len(parts) > 1 else None
    if isinstance(entry, h5py.Group) and not found:
        dets = []  # NeXus: entry / NXinstrument / NXdetector, two levels, no walk of the file
        for inst in _groups(entry, "NXinstrument"):
            dets += _groups(inst, "NXdetector")
        if len(dets) > 1:  # several detectors: the one whose data are these frames
            mine = f.get(frames)
            dets = [g for g in dets if mine is not None and dict(_members(g)).get("data") == mine]
        found += [g.name for g in dets]
        if not dets and isinstance(entry.get("instrument/detector"), h5py.Group):
            found.append(entry["instrument/detector"].name)  # a master file whose groups carry no NX_class
    out = []
    for name in found:
        out.append(name)
        if isinstance(f[name].get("detectorSpecific"), h5py.Group):
            out.append(f[name]["detectorSpecific"].name)
    return out


def detector_datasets(f, frames: str, frame_shape: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """(pixel masks, saturation levels) of the frames' detector (`detector_groups`): integer or boolean masks of
    the frames' shape (leading axes of length 1 allowed) and numeric scalars, by name."""
    import h5py

    shape = tuple(int(n) for n in frame_shape[-2:])
    masks: list[str] = []
    levels: list[str] = []
    for group in detector_groups(f, frames):
        for key, obj in _members(f[group]):
            if not isinstance(obj, h5py.Dataset):
                continue
            if MASK_NAME.fullmatch(key) and obj.dtype.kind in "iub" and obj.ndim >= 2:
                if tuple(obj.shape[-2:]) == shape and int(np.prod(obj.shape[:-2])) == 1:
                    masks.append(obj.name)
                elif (said := (obj.name, obj.shape, shape, _ends_crc(f.filename))) not in _said():  # said once
                    _said().add(said)
                    log.warning(
                        "%s: %s of shape %s is not one mask of its %s frames: not taken for a pixel mask",
                        one_line(f.filename),
                        one_line(obj.name),
                        "x".join(map(str, obj.shape)),
                        "x".join(map(str, shape)),
                    )
            elif key in SATURATION_NAMES and obj.dtype.kind in "iuf" and obj.size == 1:
                levels.append(obj.name)
    return masks, levels


def detector_meta(f, frames: str, frame_shape: tuple[int, ...], where: str = "") -> dict:
    """`{"pixel_mask": bool array or None, "saturation": float or None, "header_centre": dict or None}` of the
    frames' detector: the union of its pixel masks' rejecting bits (one flagging more than `MAX_MASKED` of the
    pixels is left out, with a warning), its smallest positive saturation level and its beam centre. A dataset
    that cannot be read is left out (debug log); the frames read all the same. Kept per file version
    (`_read_file`; the arrays are shared: callers do not modify them)."""
    shape = tuple(int(n) for n in frame_shape[-2:])
    try:
        st = os.stat(f.filename)
    except (OSError, TypeError, ValueError):
        return _read(f, frames, shape, where)
    return _read_file(os.path.realpath(f.filename), st.st_mtime_ns, st.st_size, frames, shape, where)


@functools.lru_cache(maxsize=4)
def _read_file(path: str, mtime_ns: int, size: int, frames: str, shape: tuple[int, int], where: str) -> dict:
    """`_read` of the file at `path` as it was at (`mtime_ns`, `size`)."""
    import h5py

    with h5py.File(path, "r") as f:
        return _read(f, frames, shape, where)


def _read(f, frames: str, frame_shape: tuple[int, ...], where: str) -> dict:
    out: dict = {"pixel_mask": None, "saturation": None}
    try:
        masks, levels = detector_datasets(f, frames, frame_shape)
    except Exception:
        log.debug("%s: detector metadata not found", one_line(where), exc_info=True)
        return out
    for name in masks:
        try:
            flagged = _flagged(f, name, frame_shape)
        except Exception:
            log.debug("%s: %s not read", one_line(where), one_line(name), exc_info=True)
            continue
        if flagged.mean() > MAX_MASKED:
            said = (name, int(flagged.sum()), _ends_crc(f.filename))  # the same file's stored copy: the same key
            if said not in _said():  # the stored original of a file just imported is the same file: said once
                _said().add(said)
                log.warning(
                    "%s: %s flags %.0f %% of the pixels: not taken for a pixel mask",
                    one_line(where),
                    one_line(name),
                    100 * flagged.mean(),
                )
            continue
        out["pixel_mask"] = flagged if out["pixel_mask"] is None else out["pixel_mask"] | flagged
    values = []
    for name in levels:
        try:
            values.append(float(np.asarray(f[name][()]).reshape(-1)[0]))
        except Exception:
            log.debug("%s: %s not read", one_line(where), one_line(name), exc_info=True)
    values = [v for v in values if np.isfinite(v) and v > 0]
    out["saturation"] = min(values) if values else None
    out["header_centre"] = _beam_centre(f, frames, frame_shape, where)
    return out


def _beam_centre(f, frames: str, frame_shape: tuple[int, ...], where: str) -> dict | None:
    """The first `beam_center_x/y` of the frames' detector groups (`geometry.header.from_nexus`), or None."""
    from .geometry.header import from_nexus

    try:
        for group in detector_groups(f, frames):
            if (beam := from_nexus(f[group], frame_shape)) is not None:
                return beam
    except Exception:
        log.debug("%s: beam centre not read", one_line(where), exc_info=True)
    return None


def _ends_crc(path) -> int | None:
    """CRC of a file's first and last 64 KiB: the same for a file and its byte-for-byte stored copy, not for
    another scan (its frames differ, and an HDF5 file ends in data)."""
    import zlib

    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - (1 << 16)))
            return zlib.crc32(fh.read(1 << 16), zlib.crc32(head))
    except (OSError, TypeError, ValueError):
        return None


def _flagged(f, name: str, frame_shape: tuple[int, ...]) -> np.ndarray:
    """The pixels mask `name` rejects (bool, or a bit of its lower 16 set)."""
    flags = np.asarray(f[name][()]).reshape(tuple(frame_shape[-2:]))
    return (flags.astype(np.int64) & REJECT_BITS) != 0 if flags.dtype != bool else flags


def _taken(f, name: str, frame_shape: tuple[int, ...]) -> bool:
    """Whether `_read` takes mask `name` (readable, flagging at most `MAX_MASKED` of the pixels)."""
    try:
        return bool(_flagged(f, name, frame_shape).mean() <= MAX_MASKED)
    except Exception:
        return False


def _beam_datasets(f, frames: str) -> list[str]:
    """The frames' detector's one-value `BEAM_NAMES` datasets in this file (the beam centre and the pixel pitch
    that converts it to pixels); none where the groups cannot be read."""
    import h5py

    try:
        return [
            f"{group}/{key}"
            for group in detector_groups(f, frames)
            for key, obj in _members(f[group])
            if key in BEAM_NAMES and isinstance(obj, h5py.Dataset) and obj.size == 1 and obj.dtype.kind in "iuf"
        ]
    except Exception:
        log.debug("%s: beam centre datasets not listed", one_line(str(f.filename)), exc_info=True)
        return []


def copy_detector_meta(src_file, out_file, frames: str, frame_shape: tuple[int, ...]) -> None:
    """Copy the pixel masks and saturation levels of `frames`' detector in `src_file` (`detector_datasets`) into
    `out_file` under the same names, with the NX_class of the groups on their way, so a materialised copy of the
    frames keeps them (and the beam centre with its units)."""
    masks, levels = detector_datasets(src_file, frames, frame_shape)
    masks = [m for m in masks if _taken(src_file, m, frame_shape)]  # one left out was said so once, of the file
    for name in masks + levels:
        _copy_one(src_file, out_file, name)
    for name in _beam_datasets(src_file, frames):  # never at the cost of the mask and levels copied above
        try:
            _copy_one(src_file, out_file, name)
            if "units" in src_file[name].attrs:
                out_file[name].attrs["units"] = src_file[name].attrs["units"]
        except Exception:
            log.debug("%s not copied", one_line(name), exc_info=True)


def _copy_one(src_file, out_file, name: str) -> None:
    """Dataset `name` of `src_file` into `out_file` under the same name, with the NX_class of its groups."""
    if name in out_file:
        return
    path = ""
    for part in [p for p in name.split("/") if p][:-1]:
        path += "/" + part
        group = out_file.require_group(path)
        nx = src_file[path].attrs.get("NX_class")
        if nx is not None and "NX_class" not in group.attrs:
            group.attrs["NX_class"] = nx
    out_file.create_dataset(name, data=src_file[name][()])
