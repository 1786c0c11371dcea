"""Is a calibration's geometry physical? One check for every reader, so a hostile or mistyped file is refused on
one line naming the file and its own field (in its own unit) instead of giving a NaN, infinite or mirrored beam
centre or a q scale off by a unit factor.

The bounds are wide enough for any real set-up and narrow enough to catch the usual unit slips: a distance of
5 mm to 50 m (the longest SAXS lines are about 30 m; a `.poni` Distance written in mm, 80 or 300, reads 80 or
300 m; a GSAS-II distance written in metres, 0.3 or 1.5, reads 0.3 or 1.5 mm),
pixels of 0.2 um to 10 mm (100 in a `.poni` is 100 m; 0.172 in an `.imctrl` is 0.172 um), wavelengths of
0.01 Angstrom to 1 um (hard gamma rays to soft X-rays at M edges, EUV at 13.5 nm and visible-light speckle; 0.7 in a
`.poni`, Angstrom or nm taken as metres, is 0.7 m), a tilt below 90 degrees (at 90 the beam runs along the detector)
and a beam centre within a million pixels of the frame (off the detector is allowed: grazing incidence and offset
wide-angle panels put it there).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # calibration imports this module
    from .calibration import Geometry

# per format: the file's own name for each quantity, its unit, and the factor from SI to that unit
FIELDS: dict[str, dict[str, tuple[str, str, float]]] = {
    "poni": {
        "centre": ("Poni1/Poni2", "m", 1.0),
        "distance": ("Distance", "m", 1.0),
        "pixel": ("pixel size (Detector_config pixel1/pixel2, PixelSize1/2)", "m", 1.0),
        "wavelength": ("Wavelength", "m", 1.0),
        "tilt": ("Rot1/Rot2 tilt", "deg", 1.0),
        "tilt_plane": ("Rot1/Rot2 tilt-plane rotation", "deg", 1.0),
        "shape": ("Detector_config max_shape", "px", 1.0),
    },
    "imctrl": {
        "centre": ("center", "mm", 1.0),
        "distance": ("distance", "mm", 1e3),
        "pixel": ("pixelSize", "um", 1e6),
        "wavelength": ("wavelength", "Angstrom", 1e10),
        "tilt": ("tilt", "deg", 1.0),
        "tilt_plane": ("rotation", "deg", 1.0),
    },
    "fit2d": {
        "centre": ("X-/Y-BEAM CENTRE", "px", 1.0),
        "distance": ("SAMPLE TO DETECTOR DISTANCE", "mm", 1e3),
        "pixel": ("X-/Y-PIXEL SIZE", "um", 1e6),
        "wavelength": ("WAVELENGTH", "Angstrom", 1e10),
        "tilt": ("ANGLE OF TILT", "deg", 1.0),
        "tilt_plane": ("ROTATION ANGLE OF TILTING PLANE", "deg", 1.0),
    },
    "hexrd": {
        "centre": ("translation (beam centre)", "px", 1.0),
        "distance": ("translation (distance)", "mm", 1e3),
        "pixel": ("pixels size", "mm", 1e3),
        "wavelength": ("beam energy (as wavelength)", "Angstrom", 1e10),
        "tilt": ("transform tilt", "deg", 1.0),
        "shape": ("pixels rows/columns", "px", 1.0),
    },
    "nexus": {
        "centre": ("beam_center_x/y", "px", 1.0),
        "distance": ("distance", "m", 1.0),
        "pixel": ("x/y_pixel_size", "m", 1.0),
        "wavelength": ("wavelength", "m", 1.0),
        "tilt": ("tilt", "deg", 1.0),
    },
}
LIMITS = {"distance": (5e-3, 50.0), "pixel": (2e-7, 1e-2), "wavelength": (1e-12, 1e-6)}
MAX_CENTRE_PX = 1e6
CENTRE_SCALE = {"m": 1.0, "mm": 1e3}  # a centre given as a length, from metres
MAX_TILT_DEG = 90.0
MAX_SIDE_PX = 1_000_000


def _in(value: float, lo: float, hi: float) -> bool:
    return math.isfinite(value) and lo <= value <= hi


def check_geometry(geo: Geometry) -> Geometry:
    """The geometry unchanged when every quantity it gives is physical.

    Raises:
        ValueError: `<file>: <field> <value> <unit> ...`, one line, for the first quantity that is not (the tilt,
            then distance, wavelength and pixel size, then the centre, which the others place).
    """
    names = FIELDS.get(geo.source, FIELDS["nexus"])

    def refuse(key: str, value: float, why: str) -> None:
        field, unit, scale = names[key]
        raise ValueError(f"{geo.path}: {field} {value * scale:.6g} {unit} {why}")

    if not (math.isfinite(geo.tilt_deg) and abs(geo.tilt_deg) < MAX_TILT_DEG):
        refuse("tilt", geo.tilt_deg, f"tilts the detector {MAX_TILT_DEG:g} degrees or more: the beam never meets it")
    if not math.isfinite(geo.tilt_plane_deg):
        refuse("tilt_plane" if "tilt_plane" in names else "tilt", geo.tilt_plane_deg, "is not a number")
    # the distance as the file gives it: a .poni's Distance is to the point of normal incidence, not to the beam
    # point (`distance_m`, longer by 1 / cos(tilt)), so its own number is named
    given = (geo.pyfai or {}).get("dist") if geo.source == "poni" else None
    if geo.source == "imctrl" and geo.distance_m is not None:  # GSAS-II's, to the detector plane likewise
        given = geo.distance_m * math.cos(math.radians(geo.tilt_deg))
    quantities = [("distance", geo.distance_m if given is None else float(given)), ("wavelength", geo.wavelength_m)]
    quantities += [("pixel", v) for v in geo.pixel_m or ()]
    for key, value in quantities:
        if value is None:
            continue
        lo, hi = LIMITS[key]
        if not _in(float(value), lo, hi):
            _, unit, scale = names[key]
            refuse(key, float(value), f"is not a physical {key} (expected {lo * scale:g} to {hi * scale:g} {unit})")
    for value in geo.shape or ():
        if not 1 <= value <= MAX_SIDE_PX:
            refuse("shape", value, f"is not a detector side (1 to {MAX_SIDE_PX} px)")
    pixels = geo.pixel_m[::-1] if geo.pixel_m else (None, None)  # (columns, rows), as the centre is (x, y)
    for value, pixel in zip((geo.centre_x, geo.centre_y), pixels, strict=True):
        if not math.isfinite(value):
            raise ValueError(f"{geo.path}: {names['centre'][0]}: the beam centre is not a number ({value})")
        if abs(value) > MAX_CENTRE_PX:
            field, unit, _ = names["centre"]
            where = f"{value:.6g} px"
            if unit != "px" and pixel is not None:  # the file's own unit: a length from the detector's corner
                # how far, not which way: pyFAI's orientation may count from another corner
                where = f"{abs(value + 0.5) * pixel * CENTRE_SCALE[unit]:.6g} {unit} from the detector's corner"
            raise ValueError(
                f"{geo.path}: {field}: the beam centre {where} is nowhere near the detector (beyond "
                f"{MAX_CENTRE_PX:g} px)"
            )
    return geo


PONI_NUMBERS = ("Distance", "Poni1", "Poni2", "Rot1", "Rot2", "Rot3", "Wavelength", "PixelSize1", "PixelSize2")


def _check_detector_config(path: Path, value: str) -> None:
    try:
        config = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"{path}: Detector_config is not JSON ({exc})") from None
    if config is None:  # pyFAI's own reader fails on it with an AttributeError
        raise ValueError(f"{path}: Detector_config is null, not a JSON object ({{}} for a detector that needs none)")
    if not isinstance(config, dict):
        raise ValueError(f"{path}: Detector_config is not a JSON object ({type(config).__name__})")
    for key in ("pixel1", "pixel2"):
        v = config.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"{path}: Detector_config {key} {str(v)[:40]!r} is not a number")
    shape = config.get("max_shape")
    if shape is not None and not (
        isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) and 0 < v <= MAX_SIDE_PX for v in shape)
    ):
        raise ValueError(f"{path}: Detector_config max_shape {str(shape)[:40]} is not [rows, columns] in pixels")
    name = config.get("filename") or config.get("splinefile")
    if isinstance(name, str) and name and not Path(name).is_file():  # pyFAI would open it; name it first
        raise ValueError(f"{path}: Detector_config names the file {name[:200]!r}, which does not exist")


def check_poni_text(path: Path) -> None:
    """Name the field pyFAI's reader fails on without naming it: a number that is not one, a Detector_config that
    is not a JSON object of numbers and a shape, or that names a file that is not there."""
    for line in path.read_text().splitlines():
        if ":" not in line or line.lstrip().startswith("#"):
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        name = next((n for n in PONI_NUMBERS if n.lower() == key.lower()), None)
        if name is not None and value.lower() != "none":
            try:
                float(value)
            except ValueError:
                raise ValueError(f"{path}: {name} {value[:40]!r} is not a number") from None
        elif key.lower() == "detector_config":
            _check_detector_config(path, value)
