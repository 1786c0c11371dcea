"""Calibration files as beamlines write them, read into one `Geometry`.

pyFAI `.poni` (every version, read by pyFAI itself so that detector orientation is honoured), GSAS-II
`.imctrl`, Fit2D parameter text, HEXRD instruments (YAML, or the HDF5 `.hexrd` with the same tree) and
NeXus NXdetector `beam_center_x/y`. Every reader ends in the direct-beam position in array pixels (pixel
centres at integers, the array as the image reader returns it) plus what is known of distance, pixel size,
tilt and wavelength, so I(q) and cakes can be made with pyFAI. Dioptas flips images up-down on load and
writes its `.poni` for the flipped image: `flip_ud=True` undoes that, and `check_flip` warns when the
rings fit the flipped centre better. Pickled files are refused by name and by content: unpickling runs
arbitrary code.
"""

from __future__ import annotations

import copy
import logging
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .plausible import check_poni_text

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = {".pkl", ".pickle", ".pck", ".p", ".joblib", ".dill"}
FORMATS = ("poni", "imctrl", "fit2d", "hexrd", "nexus")


@dataclass
class Geometry:
    """Direct-beam centre in array pixels plus the rest of the geometry where the file gives it (SI units)."""

    centre_x: float
    centre_y: float
    source: str  # the file format
    path: str = ""
    distance_m: float | None = None  # sample to detector along the beam (Fit2D's directDist)
    pixel_m: tuple[float, float] | None = None  # (rows, columns)
    tilt_deg: float = 0.0  # Fit2D convention
    tilt_plane_deg: float = 0.0
    wavelength_m: float | None = None
    flipped_ud: bool = False
    notes: list[str] = field(default_factory=list)
    shape: tuple[int, int] | None = None  # (rows, columns) of the detector where the file names it
    panel: str | None = None  # the panel of a many-panel instrument (HEXRD) the geometry is that of
    # a .poni's own pyFAI geometry (PoniFile.as_dict()): its integrator keeps what Fit2D's parameters cannot
    # hold, rot3 (the origin of chi) and the detector's orientation, spline and sensor
    pyfai: dict | None = field(default=None, repr=False)

    def flip_ud(self, height: int) -> Geometry:
        """The same geometry for the image flipped up-down (as Dioptas shows it): row y becomes height-1-y."""
        pyfai = None
        if self.pyfai is not None and self.shape is not None and self.shape[0] == height:
            # reversing the rows is pyFAI's orientation 3 <-> 2, 1 <-> 4 (a named detector's config may hold no
            # shape, its detector has one: `shape`, as binned)
            pyfai = copy.deepcopy(self.pyfai)
            config = pyfai["detector_config"] = dict(pyfai.get("detector_config") or {})
            config["orientation"] = {1: 4, 2: 3, 3: 2, 4: 1}[int(config.get("orientation") or 3)]
            pyfai["poni_version"] = max(float(pyfai.get("poni_version", 2.1)), 2.1)
        return replace(
            self,
            centre_y=height - 1 - self.centre_y,
            tilt_plane_deg=-self.tilt_plane_deg,
            flipped_ud=not self.flipped_ud,
            notes=[*self.notes, f"flipped up-down for a {height}-row image"],
            pyfai=pyfai,
        )

    def plane(self) -> tuple[float, float, float] | None:
        """(distance in pixels, tilt, tilt axis in radians) for `tilt.tilted_radius` about (centre_x, centre_y):
        Fit2D's tilt-plane rotation turned to that axis (270 degrees less it; distance x tan 2theta of every
        pixel agrees with pyFAI's to 1e-5 px). None without a tilt, a distance or square pixels, where circles
        about the centre serve."""
        if not self.tilt_deg or self.distance_m is None or self.pixel_m is None:
            return None
        rows, cols = self.pixel_m
        if not (rows > 0 and abs(rows - cols) <= 1e-3 * rows):
            return None
        return self.distance_m / rows, math.radians(self.tilt_deg), math.radians(270.0 - self.tilt_plane_deg)

    def integrator(self):
        """A pyFAI AzimuthalIntegrator for this geometry (needs distance, pixel size and wavelength for q)."""
        from pyFAI.integrator.azimuthal import AzimuthalIntegrator

        if self.distance_m is None or self.pixel_m is None:
            raise ValueError(f"{self.source} calibration {self.path}: no distance or pixel size, so no q scale")
        if self.pyfai is not None:
            from pyFAI.io.ponifile import PoniFile

            poni = PoniFile(copy.deepcopy(self.pyfai))
            return AzimuthalIntegrator(
                dist=poni.dist,
                poni1=poni.poni1,
                poni2=poni.poni2,
                rot1=poni.rot1,
                rot2=poni.rot2,
                rot3=poni.rot3,
                detector=poni.detector,
                wavelength=self.wavelength_m,
            )
        ai = AzimuthalIntegrator()
        ai.setFit2D(
            self.distance_m * 1e3,
            self.centre_x + 0.5,
            self.centre_y + 0.5,
            tilt=self.tilt_deg,
            tiltPlanRotation=self.tilt_plane_deg,
            pixelX=self.pixel_m[1] * 1e6,
            pixelY=self.pixel_m[0] * 1e6,
        )
        if self.wavelength_m:
            ai.wavelength = self.wavelength_m
        return ai


def _refuse_pickle(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ValueError(f"{path}: refusing to unpickle a calibration file (pickles run code); export it as .poni")
    with path.open("rb") as fh:
        head = fh.read(2)
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise ValueError(f"{path}: this is a Python pickle; refusing to unpickle it (pickles run code)")


PONI_FIELDS = (("Distance", "dist"), ("Poni1", "poni1"), ("Poni2", "poni2"), ("Rot1", "rot1"), ("Rot2", "rot2"),
               ("Rot3", "rot3"))  # fmt: skip


def beam_pixel_of_modules(poni, start: tuple[float, float]) -> tuple[float, float, bool, bool] | None:
    """Where the direct beam meets a detector whose pixels are not a uniform grid (JUNGFRAU and imXPAD modules have
    wider pixels between chips, so a length divided by the pixel size is several pixels off): (x, y) array pixels
    and whether pyFAI's orientation reverses the rows and the columns. Solved on pyFAI's own pixel positions
    (`calc_pos_zyx`: the pixel on the beam axis), in its array order; beyond the frame, continued at the nominal
    pitch from the edge pyFAI places. `start`: the uniform reading. None for a uniform grid (the PONI divided by
    the pixel size is then exact) or a detector without a shape."""
    import numpy as np
    from pyFAI.geometry import Geometry as PyFAIGeometry

    det = poni.detector
    if det.shape is None:
        return None
    h, w = (int(v) for v in det.shape)
    try:
        _, cols, _ = det.calc_cartesian_positions(d1=np.zeros(w), d2=np.arange(w, dtype=float))
        rows, _, _ = det.calc_cartesian_positions(d1=np.arange(h, dtype=float), d2=np.zeros(h))
    except Exception:  # noqa: BLE001 - a detector pyFAI cannot place pixel by pixel keeps the uniform reading
        return None
    steps = ((np.diff(cols), det.pixel2), (np.diff(rows), det.pixel1))  # either way round (pyFAI's orientation)
    if all(d.size == 0 or np.abs(np.abs(d) - p).max() < 0.01 * p for d, p in steps):
        return None
    geo = PyFAIGeometry(dist=poni.dist, poni1=poni.poni1, poni2=poni.poni2, rot1=poni.rot1, rot2=poni.rot2,
                        rot3=poni.rot3, detector=det)  # fmt: skip

    def off_axis(d1: float, d2: float) -> np.ndarray:
        """(y, x) of pixel (d1, d2) in the laboratory frame: both zero on the beam axis."""
        d1c, d2c = min(max(d1, 0.0), h - 1.0), min(max(d2, 0.0), w - 1.0)  # pyFAI's positions hold inside
        _, y, x = geo.calc_pos_zyx(d1=np.array([d1c]), d2=np.array([d2c]))
        return np.array([float(y[0]) + (d1 - d1c) * det.pixel1, float(x[0]) + (d2 - d2c) * det.pixel2])

    from scipy.optimize import least_squares

    # from the uniform reading (`start`, array pixels as if the pixels were uniform): a few module gaps away
    fit = least_squares(lambda v: off_axis(v[0], v[1]) / det.pixel1, x0=[start[1], start[0]], method="lm")
    if not fit.success or np.abs(fit.fun).max() > 1e-3:
        return None
    return float(fit.x[1]), float(fit.x[0]), bool(rows[-1] < rows[0]), bool(cols[-1] < cols[0])


def _pyfai_json(path: Path) -> dict | None:
    """The geometry of pyFAI's integration settings saved as JSON (`pyFAI-integrate`'s and its worker's config:
    nested under `poni` from version 4, at the top before), as pyFAI's `PoniFile` takes it; None for a `.poni` text.

    Raises:
        ValueError: JSON that holds no geometry, named by file.
    """
    import json

    text = path.read_text()
    if not text.lstrip().startswith("{"):
        return None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: pyFAI settings that are not JSON ({exc})") from None
    data = config.get("poni") if isinstance(config, dict) and isinstance(config.get("poni"), dict) else config
    if not isinstance(data, dict) or "poni1" not in {str(k).lower() for k in data}:
        raise ValueError(f"{path}: JSON without a pyFAI geometry (no 'poni' object with dist, poni1, poni2, rot1-3)")
    return data


def read_poni_geometry(path: Path) -> Geometry:
    """Any pyFAI `.poni` version (1, 2, 2.1 with orientation, 3), or pyFAI's integration settings as JSON, through
    pyFAI's own reader."""
    from pyFAI.geometry.fit2d import convert_to_Fit2d
    from pyFAI.io.ponifile import PoniFile

    source = _pyfai_json(path)  # pyFAI's integration settings (pyFAI-integrate, its worker): the geometry inside
    if source is None:
        check_poni_text(path)
    try:
        poni = PoniFile(str(path) if source is None else source)
    except Exception as exc:  # pyFAI raises many kinds on a malformed file; its unknown-detector one lists them all
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if " is unknown" in text:
            text = (
                f"Detector: {text.split(' is unknown')[0].removeprefix('Detector ')!r} is not a detector pyFAI knows"
            )
        raise ValueError(f"{path}: not a readable pyFAI .poni file ({text})") from None
    missing = [key for key, attr in PONI_FIELDS if getattr(poni, attr, None) is None]
    if missing:
        raise ValueError(f"{path}: no {', '.join(missing)} in this .poni")
    doubts = []
    for key, attr in PONI_FIELDS[3:]:
        value = getattr(poni, attr)
        if not (math.isfinite(value) and abs(value) <= 2 * math.pi):
            raise ValueError(f"{path}: {key} {value:g} is not an angle in radians (pyFAI's unit; degrees?)")
        # a quarter turn or more about Rot1/Rot2 alone faces the detector away: `Rot1: 6` is 6 degrees written as
        # radians more likely than -0.28 rad, but a refinement may land on an equivalent set (Rot1 -3.13, Rot2
        # 3.12, Rot3 pi is Rot1 0.01, Rot2 0.02): said, not refused
        if key != "Rot3" and abs(value) >= math.pi / 2:
            doubts.append(f"{key} {value:g}")
    det = poni.detector
    if not det.pixel1 or not det.pixel2:
        raise ValueError(f"{path}: no pixel size (Detector_config, PixelSize1/2 or a known detector name)")
    f2d = convert_to_Fit2d(poni)
    cx, cy = f2d.centerX - 0.5, f2d.centerY - 0.5
    tpr = float(f2d.tiltPlanRotation)
    notes = [f"check: {', '.join(doubts)} rad turn the detector a quarter turn or more; degrees written as radians?"]
    notes = notes if doubts else []
    orientation = int(getattr(det, "orientation", 3) or 3)
    beam = beam_pixel_of_modules(poni, (cx, cy))
    if beam is not None:  # wider pixels between chips: pyFAI's own pixel positions place the beam
        cx, cy, rows_reversed, cols_reversed = beam
        tpr = -tpr if rows_reversed else tpr  # as below: a mirrored axis mirrors the tilt plane
        tpr = (180.0 - tpr + 180.0) % 360.0 - 180.0 if cols_reversed else tpr
        notes.append("pixels not on a uniform grid: beam centre placed by pyFAI's pixel positions")
    elif orientation != 3 and det.shape is not None:  # pyFAI counts from another corner: map to array indices
        # as pyFAI's Detector._reorder_indexes_from_orientation: 1 and 2 reverse the rows, 1 and 4 the columns;
        # a mirrored axis mirrors the tilt plane too (Fit2D's rotation: -rot for rows, 180 - rot for columns)
        h, w = det.shape
        if orientation in (1, 2):
            cy, tpr = h - 1 - cy, -tpr
        if orientation in (1, 4):
            cx, tpr = w - 1 - cx, 180.0 - tpr
        tpr = (tpr + 180.0) % 360.0 - 180.0
        notes.append(f"detector orientation {orientation}")
    elif orientation != 3:
        notes.append(f"detector orientation {orientation} not applied: the file gives no detector shape to count from")
    return Geometry(
        centre_x=float(cx),
        centre_y=float(cy),
        source="poni",
        path=str(path),
        distance_m=f2d.directDist * 1e-3,
        pixel_m=(float(det.pixel1), float(det.pixel2)),
        tilt_deg=float(f2d.tilt),
        tilt_plane_deg=tpr,
        wavelength_m=poni.wavelength or None,
        notes=notes,
        shape=tuple(int(v) for v in det.shape) if det.shape is not None else None,  # binned, as the frames are
        pyfai=poni.as_dict(),
    )


def _numbers(text: str) -> list[float]:
    """The numbers in a value such as `[ 20.0  30.1]`; nan and inf count, so that a check can refuse them by name."""
    text = re.sub(r"\b(?:np|numpy)\.[A-Za-z_]\w*\(", "(", text)  # GSAS-II under numpy 2: np.float64(20.0)
    pattern = r"(?<![\w.])[-+]?(?:nan|inf(?:inity)?|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])"
    return [float(v) for v in re.findall(pattern, text, re.I)]


def _imctrl_field(path: Path, values: dict, key: str, n: int = 1, default: str | None = None) -> list[float] | None:
    """The first `n` numbers of GSAS-II field `key` (None when absent and no default), else a one-line error
    (that `read_calibration` prefixes with the file: not a readable imctrl calibration)."""
    raw = values.get(key, default)
    if raw is None:
        return None
    nums = _numbers(raw)
    if len(nums) < n:
        what = "a number" if n == 1 else f"{n} numbers"
        raise ValueError(f"GSAS-II '{key}' needs {what}, got {raw[:40]!r}")
    return nums[:n]


def read_imctrl(path: Path) -> Geometry:
    """GSAS-II image controls: `center` in mm from the image origin (pixel centres at (i + 0.5) * pixelSize),
    `pixelSize` in microns (x, y), `distance` in mm, `tilt`/`rotation` in degrees, `wavelength` in Angstrom.

    GSAS-II places the beam at `distance / cos(tilt)` along the beam (GSASIIimage.GetTthAzmG): its `distance`
    is the sample's distance to the detector plane, so Fit2D's beam-path distance divides by cos(tilt). Its
    `rotation` turns the tilt axis from the x axis; Fit2D's tilt-plane rotation is that plus 90 degrees. A
    detector 2theta arm (`det2theta`) moves the detector off the beam: `center` is then not the direct beam."""
    # [ \t], not \s: a key left empty (`calibrant:` with no calibrant chosen) holds nothing, not the next line
    values = dict(re.findall(r"^[ \t]*([A-Za-z_0-9]+)[ \t]*:[ \t]*(.*?)[ \t]*$", path.read_text(), re.M))
    if "center" not in values:
        raise ValueError(f"{path}: GSAS-II image controls without a 'center' entry")
    if "pixelSize" not in values:
        raise ValueError(  # GSAS-II's WriteControls leaves it out: it comes with the image, not the controls
            f"{path}: GSAS-II image controls without 'pixelSize', so 'center' (mm) cannot be placed in pixels: add "
            "a line pixelSize:[x, y] in microns"
        )
    cx_mm, cy_mm = _imctrl_field(path, values, "center", 2)
    px, py = _imctrl_field(path, values, "pixelSize", 2)
    for name, v in (("pixelSize", px), ("pixelSize", py)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{path}: GSAS-II '{name}' {v:g} um is not a pixel size")
    (det2theta,) = _imctrl_field(path, values, "det2theta", default="0")
    if det2theta:
        raise ValueError(
            f"{path}: det2theta {det2theta:g} deg: the detector arm is off the beam, so 'center' is not the direct "
            "beam (only det2theta 0 is supported)"
        )
    wl = _imctrl_field(path, values, "wavelength")
    wl = wl[0] * 1e-10 if wl else None
    (tilt,) = _imctrl_field(path, values, "tilt", default="0")
    (rotation,) = _imctrl_field(path, values, "rotation", default="0")
    distance = _imctrl_field(path, values, "distance")
    distance = distance[0] if distance else None
    return Geometry(
        centre_x=cx_mm * 1e3 / px - 0.5,
        centre_y=cy_mm * 1e3 / py - 0.5,
        source="imctrl",
        path=str(path),
        distance_m=distance * 1e-3 / math.cos(math.radians(tilt)) if distance is not None else None,
        pixel_m=(py * 1e-6, px * 1e-6),
        tilt_deg=tilt,
        tilt_plane_deg=(rotation + 90.0 + 180.0) % 360.0 - 180.0,
        wavelength_m=wl,
    )


FIT2D_KEYS = {
    "centerX": ("X-BEAM CENTRE", "X BEAM CENTRE", "BEAM CENTRE X", "CENTERX", "X-BEAM CENTER"),
    "centerY": ("Y-BEAM CENTRE", "Y BEAM CENTRE", "BEAM CENTRE Y", "CENTERY", "Y-BEAM CENTER"),
    "directDist": ("SAMPLE TO DETECTOR", "DISTANCE", "DIRECTDIST"),
    "pixelX": ("X-PIXEL SIZE", "X PIXEL SIZE", "PIXELX"),
    "pixelY": ("Y-PIXEL SIZE", "Y PIXEL SIZE", "PIXELY"),
    "tilt": ("ANGLE OF TILT", "ANGLE OF DETECTOR TILT", "DETECTOR TILT ANGLE", "TILT ANGLE", "TILT"),
    "tiltPlanRotation": (
        "TILT ROTATION",
        "TILT PLANE ROTATION",
        "TILTPLANROTATION",
        "ROTATION ANGLE OF TILTING PLANE",
        "ROTATION ANGLE OF TILT PLANE",
        "ROT. ANGLE OF TILT PLANE",
    ),  # fmt: skip
    "wavelength": ("WAVELENGTH",),
}


def _fit2d_lines(text: str):
    """(name, value text) of every `KEY = value` or `KEY: value` line, and of a name alone on its line followed by
    a line holding only a number (the form a Fit2D macro writes)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s*([^=:]+?)\s*[=:]\s*(\S+)", line)
        if m:
            yield m.group(1), m.group(2)
        elif i + 1 < len(lines) and re.search(r"[A-Za-z]", line):
            value = re.fullmatch(r"\s*([-+]?[\d.,]+(?:[eE][-+]?\d+)?)\s*", lines[i + 1])
            if value:
                yield line.strip(), value.group(1)


def _fit2d_number(path: Path, key: str, text: str) -> float | None:
    """The number a value starts with (`200.0mm`, `200.0,` and `200.0;note` are 200); a decimal comma (`1024,5`)
    is a decimal point; a word (pyFAI's `wavelength: None`) is no value; a number that goes on in digits past its
    end (`1,024.5`, a thousands separator) is refused by name, not read as 1."""
    m = re.match(r"([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)(.*)", text)
    if m is None:
        try:
            return float(text)  # nan, inf: refused later by field as not physical
        except ValueError:
            if re.search(r"\d", text) or re.fullmatch(r"[-+.,]+", text):
                raise ValueError(f"{path}: {key} {text!r} is not a number") from None
            return None
    if re.match(r"[.,]?\d", m.group(2)) or m.group(1).count(",") + m.group(1).count(".") > 1:
        raise ValueError(f"{path}: {key} {text!r} is not a number")
    return float(m.group(1).replace(",", "."))


def read_fit2d(path: Path) -> Geometry:
    """Fit2D parameters as `KEY = value` or `KEY: value` lines, or a name's line followed by its value's (Fit2D's
    names, e.g. `X-BEAM CENTRE (PIXELS)`, or pyFAI's getFit2D names); centres count from the pixel edge as
    pyFAI's setFit2D takes them."""
    found: dict[str, float] = {}
    for raw_key, raw_value in _fit2d_lines(path.read_text()):
        key = raw_key.upper().replace("_", " ")
        # a name, or a name and its unit ("X-BEAM CENTRE (PIXELS)"), never a longer name ("TILTPLANROTATION");
        # the longest name wins, so "TILT ROTATION" is the tilt plane's rotation and not a "TILT"
        matches = [
            (len(a), name)
            for name, aliases in FIT2D_KEYS.items()
            for a in aliases
            if key.startswith(a) and not key[len(a) : len(a) + 1].isalpha()
        ]
        name = max(matches)[1] if matches else None
        if name is not None and name not in found and (value := _fit2d_number(path, raw_key, raw_value)) is not None:
            found[name] = value
    if "centerX" not in found or "centerY" not in found:
        raise ValueError(f"{path}: no X-/Y-BEAM CENTRE in these Fit2D parameters")
    pix = (found.get("pixelY", found.get("pixelX")), found.get("pixelX", found.get("pixelY")))
    return Geometry(
        centre_x=found["centerX"] - 0.5,
        centre_y=found["centerY"] - 0.5,
        source="fit2d",
        path=str(path),
        distance_m=found["directDist"] * 1e-3 if "directDist" in found else None,
        pixel_m=(pix[0] * 1e-6, pix[1] * 1e-6) if pix[0] is not None else None,  # a 0 is refused, not dropped
        tilt_deg=found.get("tilt", 0.0),
        tilt_plane_deg=found.get("tiltPlanRotation", 0.0),
        wavelength_m=found["wavelength"] * 1e-10 if "wavelength" in found else None,
    )
