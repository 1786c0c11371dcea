"""HEXRD and NeXus geometry, the format dispatcher, and the Dioptas up-down check.

HEXRD places each detector by a translation (mm) and an exponential-map tilt in the lab frame, with the beam
along a vector given by azimuth and polar angle; the direct beam is where that line through the sample meets
the detector plane. NeXus NXdetector gives `beam_center_x/y` directly, in pixels or in a length unit.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np

from ..io_safety import not_a_file, one_line
from .calibration import FORMATS, Geometry, _refuse_pickle, read_fit2d, read_imctrl, read_poni_geometry
from .plausible import check_geometry

log = logging.getLogger(__name__)

Format = Literal["auto", "poni", "imctrl", "fit2d", "hexrd", "nexus"]
MAX_TEXT_BYTES = 16 * 2**20  # a .poni is a few hundred bytes, a many-panel HEXRD YAML some hundred kB
LENGTH_M = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "micron": 1e-6, "microns": 1e-6, "nm": 1e-9}
LENGTH_M |= {"\u00b5m": 1e-6, "\u03bcm": 1e-6, "meter": 1.0, "metre": 1.0, "millimeter": 1e-3, "micrometer": 1e-6}
LENGTH_M |= {  # UDUNITS spells them out in either spelling, singular or plural
    f"{prefix}{word}{plural}": factor
    for prefix, factor in (("", 1.0), ("centi", 1e-2), ("milli", 1e-3), ("micro", 1e-6), ("nano", 1e-9))
    for word in ("meter", "metre")
    for plural in ("", "s")
}


def _length_m(path: Path, key: str, value: float, unit: str) -> float:
    """A NeXus length in metres; an unknown unit is refused by name rather than taken as metres."""
    if unit not in LENGTH_M:
        raise ValueError(f"{path}: {key} has unknown units {unit!r} (expected one of {', '.join(LENGTH_M)})")
    return value * LENGTH_M[unit]


def _hexrd_tree(path: Path) -> dict:
    if path.suffix.lower() in (".yml", ".yaml"):
        import yaml

        return yaml.safe_load(path.read_text())
    import h5py

    def walk(group) -> dict:
        return {k: walk(v) if isinstance(v, h5py.Group) else np.asarray(v[()]).tolist() for k, v in group.items()}

    with h5py.File(path, "r") as f:
        return walk(f["instrument"]) if "instrument" in f else walk(f)


def _first(v):
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def _panel_shape(panel: object) -> tuple[int, int] | None:
    try:
        return int(_first(panel["pixels"]["rows"])), int(_first(panel["pixels"]["columns"]))
    except (TypeError, KeyError, IndexError, ValueError):
        return None


NAME_PANEL = "name the frame's panel (polar --panel, or a 'panel' column in the import's manifest)"


def _named_in(name: str, text: str) -> list[tuple[int, int]]:
    """Where panel `name` stands in `text` as a whole token (no letter or digit on either side: `p1` is not in
    `scan_p10`), as (start, end) spans."""
    import re

    pattern = r"(?<![A-Za-z0-9])" + re.escape(name.lower()) + r"(?![A-Za-z0-9])"
    return [m.span() for m in re.finditer(pattern, text.lower())]


def pick_panel(path: Path, dets: dict, panel: str | None, frame_shape: tuple | None, frame_name: str | None) -> str:
    """The panel of a HEXRD instrument a frame was taken on (its name as text): the one named (`panel`); else the
    only panel of the frame's shape; else, among several of that shape (a Pilatus 2M's 24 modules), the one whose
    name the frame's file name holds as a whole token (HEXRD names a panel's frames after it:
    `..._Pilatus2M_3_1.hdf5`). Never a guess: the first panel of 24 put the beam 500 px off with confidence 1.0,
    so a file name that names none or two is refused, naming the panels."""
    names = [str(n) for n in dets]
    if panel is not None:
        if str(panel) not in names:
            raise ValueError(f"{path}: no panel {panel!r}; it has {', '.join(sorted(names))}")
        return str(panel)
    if len(names) == 1:
        return names[0]
    shape = tuple(int(n) for n in frame_shape[-2:]) if frame_shape is not None else None
    fits = [str(n) for n, d in dets.items() if shape is None or _panel_shape(d) == shape]
    if len(fits) == 1:
        return fits[0]
    spans = {n: _named_in(n, frame_name or "") for n in fits}
    named = [n for n in fits if spans[n]]
    # a panel whose every mention lies within another's ("3_1" inside "Pilatus2M_3_1") is not named on its own
    alone = [
        n for n in named
        if not all(any(o != n and s[0] <= a and b <= s[1] for o in named for s in spans[o]) for a, b in spans[n])
    ]  # fmt: skip
    if len(alone) == 1:
        return alone[0]
    which = alone if len(alone) > 1 else (fits or sorted(names))
    shown = ", ".join(which[:6]) + (f", … ({len(which)} in all)" if len(which) > 6 else "")
    if len(alone) > 1:
        raise ValueError(f"{path}: the frame's file name names {len(alone)} panels ({shown}): {NAME_PANEL}")
    of = f" of this frame's {shape[0]}x{shape[1]} pixels" if fits and shape else ""
    raise ValueError(f"{path}: {len(which)} HEXRD panels{of} ({shown}): {NAME_PANEL}")


def read_hexrd(
    path: Path, detector: str | None = None, frame_shape: tuple | None = None, frame_name: str | None = None
) -> Geometry:
    """A HEXRD instrument (YAML or HDF5 `.hexrd`); the panel is `detector`, or the one the frame's shape or file
    name picks (`pick_panel`)."""
    from scipy.spatial.transform import Rotation

    tree = _hexrd_tree(path)
    dets = tree.get("detectors") or {}
    if not dets:
        raise ValueError(f"{path}: HEXRD instrument without 'detectors'")
    if not isinstance(dets, dict):
        raise ValueError(f"{path}: HEXRD 'detectors' must map detector names to panels, not {type(dets).__name__}")
    name = pick_panel(path, dets, detector, frame_shape, frame_name)
    d = next(v for k, v in dets.items() if str(k) == name)  # YAML reads a panel named 2 as the integer 2
    try:
        rows, cols = int(_first(d["pixels"]["rows"])), int(_first(d["pixels"]["columns"]))
        prow, pcol = (float(v) for v in d["pixels"]["size"])
        t = np.asarray(d["transform"]["translation"], dtype=float)
        rot = Rotation.from_rotvec(np.asarray(d["transform"].get("tilt", [0, 0, 0]), dtype=float)).as_matrix()
    except (TypeError, AttributeError, IndexError, ValueError) as exc:  # a number where a list belongs, a short list
        raise ValueError(
            f"{path}: HEXRD detector {name!r} needs pixels (rows, columns, size [row, column]) and transform "
            f"(translation [x, y, z], tilt [3 numbers]) ({one_line(exc)})"
        ) from exc
    beam = tree.get("beam", {}).get("vector", {})
    azim, pola = (
        np.radians(float(_first(beam.get("azimuth", 90.0)))),
        np.radians(float(_first(beam.get("polar_angle", 90.0)))),
    )
    b = -np.array([np.sin(pola) * np.cos(azim), np.cos(pola), np.sin(pola) * np.sin(azim)])
    # s * b = t + R @ (x, y, 0): three equations for the beam length s and the in-plane point (x, y)
    a = np.column_stack([b, -rot[:, 0], -rot[:, 1]])
    s, x, y = np.linalg.solve(a, t)
    if s <= 0:
        raise ValueError(f"{path}: the beam does not reach detector {name!r}")
    energy = tree.get("beam", {}).get("energy")
    wl = 12.398419843320026 / float(_first(energy)) * 1e-10 if energy else None
    cx = (x + cols * pcol / 2) / pcol - 0.5
    cy = (rows * prow / 2 - y) / prow - 0.5
    tilt = float(np.degrees(np.arccos(np.clip(abs(rot[:, 2] @ b), -1, 1))))  # detector normal against the beam
    # Fit2D's tilt plane points from the PONI (the plane's point nearest the sample) to the beam centre, in array
    # pixels (rows down): pyFAI's convert_to_Fit2d puts the centre at PONI + dist tan(tilt) (cos, sin)(rotation)
    px, py = -rot[:, 0] @ t, -rot[:, 1] @ t
    tilt_plane = float(np.degrees(np.arctan2((py - y), (x - px)))) if tilt > 1e-9 else 0.0
    return Geometry(
        centre_x=float(cx),
        centre_y=float(cy),
        source="hexrd",
        path=str(path),
        distance_m=float(s) * 1e-3,
        pixel_m=(prow * 1e-3, pcol * 1e-3),
        tilt_deg=tilt,
        tilt_plane_deg=tilt_plane,
        wavelength_m=wl,
        notes=[f"detector {name}"],
        shape=(rows, cols),
        panel=str(name) if len(dets) > 1 else None,
    )


def read_nexus(path: Path) -> Geometry:
    """The first NXdetector with `beam_center_x/y` (pixels, or a length converted with x/y_pixel_size)."""
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and "beam_center_x" in obj and "beam_center_y" in obj:
            nx = obj.attrs.get("NX_class", b"")
            nx = nx.decode() if isinstance(nx, bytes) else str(nx)
            found.append((nx != "NXdetector", name))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        if not found:
            raise ValueError(f"{path}: no NXdetector with beam_center_x and beam_center_y")
        grp = f[sorted(found)[0][1]]

        def value(key: str, default_unit: str = "pixel") -> tuple[float, str] | None:
            if key not in grp:
                return None
            unit = grp[key].attrs.get("units", default_unit)
            unit = unit.decode() if isinstance(unit, bytes) else str(unit)
            return float(np.ravel(grp[key][()])[0]), unit.strip().lower()

        names = ("y_pixel_size", "x_pixel_size")
        pix = [value(k, "m") for k in names]
        pixel_m = tuple(_length_m(path, k, v, u) for k, (v, u) in zip(names, pix, strict=True)) if all(pix) else None
        centre = []
        for key, axis in (("beam_center_x", 1), ("beam_center_y", 0)):
            v, unit = value(key)
            if unit in ("pixel", "pixels", "px", ""):
                centre.append(v)
            elif unit in LENGTH_M:
                if pixel_m is None:
                    raise ValueError(f"{path}: {key} in {unit} but no x/y_pixel_size to convert it to pixels")
                centre.append(v * LENGTH_M[unit] / pixel_m[axis])
            else:
                raise ValueError(f"{path}: {key} has unknown units {unit!r}")
        dist = value("distance", "m")
    return Geometry(  # counted from the first pixel's outer corner, as dxtbx reads it (`geometry.header`)
        centre_x=centre[0] - 0.5,
        centre_y=centre[1] - 0.5,
        source="nexus",
        path=str(path),
        distance_m=_length_m(path, "distance", *dist) if dist else None,
        pixel_m=pixel_m,
        notes=["NeXus beam_center counted from the first pixel's outer corner"],
    )


def sniff_format(path: Path) -> str:
    """The calibration format from the suffix, else from the first bytes."""
    suffix = path.suffix.lower()
    by_suffix = {".poni": "poni", ".imctrl": "imctrl", ".yml": "hexrd", ".yaml": "hexrd", ".hexrd": "hexrd"}
    by_suffix |= {".nxs": "nexus", ".nx5": "nexus", ".h5": "nexus", ".hdf5": "nexus", ".f2d": "fit2d"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    with path.open("rb") as fh:  # the head only: an unnamed file may be a detector's whole HDF5 scan
        head = fh.read(4096)
    if head.startswith(b"\x89HDF"):
        return "nexus"
    text = head.decode("latin-1").upper()
    if "PONI1" in text:
        return "poni"
    if "CENTER:" in text and "PIXELSIZE" in text:
        return "imctrl"
    if "BEAM CENTRE" in text or "BEAM CENTER" in text or "CENTERX" in text:
        return "fit2d"
    if "DETECTORS:" in text:
        return "hexrd"
    raise ValueError(f"{path}: unknown calibration format; expected one of {FORMATS}")


def read_calibration(
    path: str | Path,
    fmt: Format = "auto",
    flip_ud: bool = False,
    height: int | None = None,
    *,
    frame_shape: tuple | None = None,
    frame_name: str | None = None,
    panel: str | None = None,
    panel_only_for_hexrd: bool = True,
) -> Geometry:
    """Any supported calibration file as a `Geometry`; `flip_ud` (needs `height`) undoes Dioptas' flip. For an
    instrument of several panels (HEXRD), `panel`, or the frame's shape and file name, say which (`pick_panel`);
    a panel given for another format is refused (`panel_only_for_hexrd`), or passed over (an image's manifest
    `panel` beside a workspace's .poni).

    Raises:
        ValueError: a pickle, an unknown format, a file without a centre, or flip_ud without height.
    """
    path = Path(path)
    if (why := not_a_file(path)) is not None:  # a folder, a link loop, a pipe: said as what it is
        raise ValueError(f"{path}: " + ("no such calibration file" if why == "no such file" else why))
    _refuse_pickle(path)
    fmt = sniff_format(path) if fmt == "auto" else fmt
    if fmt == "nexus" and path.suffix.lower() == ".hexrd":
        fmt = "hexrd"
    readers = {"poni": read_poni_geometry, "imctrl": read_imctrl, "fit2d": read_fit2d}
    readers |= {"hexrd": read_hexrd, "nexus": read_nexus}
    if fmt not in readers:
        raise ValueError(f"calibration format: expected one of {FORMATS}, got {fmt!r}")
    text_file = fmt in ("poni", "imctrl", "fit2d") or path.suffix.lower() in (".yml", ".yaml")
    if text_file and path.stat().st_size > MAX_TEXT_BYTES:  # read whole, so a hostile one could fill the memory
        raise ValueError(
            f"{path}: {path.stat().st_size:,} bytes is too large for a {fmt} calibration file "
            f"(at most {MAX_TEXT_BYTES:,})"
        )
    if panel is not None and fmt != "hexrd" and panel_only_for_hexrd:  # it would be silently ignored
        raise ValueError(f"--panel: picks a panel of a HEXRD instrument; {path.name} is a {fmt} calibration")
    try:
        geo = read_hexrd(path, panel, frame_shape, frame_name) if fmt == "hexrd" else readers[fmt](path)
    except Exception as exc:  # YAML, HDF5, a missing key, a short list: one line naming the file
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, UnicodeDecodeError):
            text = f"not a text file: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8"
        elif isinstance(exc, ValueError) and text.startswith(str(path)):
            raise
        if isinstance(exc, KeyError):
            text = f"missing {text}"
        raise ValueError(f"{path}: not a readable {fmt} calibration ({one_line(text)})") from exc
    check_geometry(geo)  # NaN, infinite, negative or unit-slipped values: refused by field, never used
    if flip_ud:
        if height is None:
            raise ValueError("flip_ud needs the image height")
        geo = geo.flip_ud(height)
    return geo


def read_poni(path: str | Path) -> tuple[float, float]:
    """Direct-beam centre (x, y) in pixels from a pyFAI `.poni` file (pyFAI's getFit2D centre minus 0.5)."""
    geo = read_calibration(path, "poni")
    return geo.centre_x, geo.centre_y


def check_flip(data: np.ndarray, geo: Geometry, mask: np.ndarray | None = None) -> str | None:
    """A warning when the frame's rings fit the up-down flipped centre clearly better than the calibrated one
    (a `.poni` written by Dioptas for its flipped view), else None."""
    from .active import active_area
    from .pyramid import RadialScore, highpass, log_image, pyramid

    h = data.shape[0]
    area = active_area(data, mask)
    levels = pyramid(log_image(data, area.mask), 256)
    f, level = next(iter(levels.items()))
    for g, lv in levels.items():  # the coarsest level with at least 256 px on its long side
        if max(lv.shape) >= 256:
            f, level = g, lv
            break
    hp, ok = highpass(level, 4.0)
    score = RadialScore(hp, ok)
    here = score((geo.centre_x + 0.5) / f - 0.5, (geo.centre_y + 0.5) / f - 0.5)
    flipped = score((geo.centre_x + 0.5) / f - 0.5, (h - 1 - geo.centre_y + 0.5) / f - 0.5)
    if flipped > 1.5 * here and flipped - here > 0.05:
        return (
            f"calibrated centre ({geo.centre_x:.1f}, {geo.centre_y:.1f}) does not fit this frame's rings "
            f"(explained {here:.2f}) but its up-down flip y={h - 1 - geo.centre_y:.1f} does ({flipped:.2f}): "
            "a .poni written by Dioptas? use --flip-ud"
        )
    return None
