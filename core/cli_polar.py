"""`scatterloop polar IMAGE`: beam centre (or an honest "no centre"), calibration and symmetry of one frame."""

from __future__ import annotations

import logging

from .cli_common import positive_int


def cmd_polar(args) -> int:
    import tempfile
    import time
    from pathlib import Path

    from .cli_common import settings_from
    from .io_hdf5_copy import read_one_frame
    from .io_safety import ImageReadError, file_warnings, one_line
    from .polar import analyse

    if args.flip_ud and not args.calibration:  # it flips a calibration; alone it would be silently ignored
        raise ValueError("--flip-ud: flips the --calibration file's geometry; give --calibration too")
    max_pixels = settings_from(args).max_pixels  # the import's size limit: 3 MB of TIFF can hold a 3 GB frame
    t0 = time.perf_counter()
    # what the readers warn of (a series read up to a missing part, a mask left out) goes into the JSON too
    read_warnings: list[str] = []
    try:
        copies = Path(tempfile.gettempdir()) / "scatterloop-polar-"  # `read_one_frame`'s temporary folders
        with file_warnings(str(args.image), Path(args.image), copies) as said:
            read_warnings = said
            frame = read_one_frame(Path(args.image), args.frame, args.dataset, max_pixels)
    except ImageReadError as exc:  # name the file, as import does; and why it holds fewer frames, where a reader said
        shown, text = one_line(Path(args.image)), str(exc)
        text = text if text.startswith(shown) else f"{shown}: {text}"
        why = "; ".join(w.removeprefix(f"{args.image}: ") for w in read_warnings if "read up to" in w)  # a series
        raise ImageReadError(f"{text} ({why})" if why else text) from exc
    if args.dataset and frame.dataset is None:  # a TIFF's frame: the option would be silently ignored
        raise ValueError(f"--dataset: names an HDF5 dataset, and {one_line(Path(args.image))} holds none")
    t1 = time.perf_counter()
    header = None if args.no_header else frame.meta.get("header_centre")
    if args.panel and not args.calibration:  # it picks a panel of a calibration file; alone it would be ignored
        raise ValueError("--panel: picks a panel of the --calibration file; give --calibration too")
    res = analyse(
        frame.data,
        frame.mask,
        calibration=args.calibration,
        flip_ud=args.flip_ud,
        header=header,
        frame_name=Path(args.image).name,
        panel=args.panel,
    )
    found = res.status == "found"
    given = res.source.startswith("header")  # the file's header gave the centre: nothing measured how sure
    scored = found and res.score > -1  # -1: no score (no rings, or no centre)
    payload = {
        "command": "polar",
        "image": str(args.image),
        "frame": args.frame,
        "status": res.status,
        "reason": res.reason,
        "centre_x": round(res.centre_x, 3) if found else None,
        "centre_y": round(res.centre_y, 3) if found else None,
        "confidence": None if given else res.confidence,
        "tilt_deg": res.tilt_deg,  # the detector tilt the rings fixed (then the centre is the beam point)
        "tilt_axis_deg": res.tilt_axis_deg,
        "distance_px": res.distance_px,
        "rings_centre": [round(v, 3) for v in res.rings_centre] if res.rings_centre else None,
        "header_centre": [round(header["x"], 3), round(header["y"], 3), header["key"]] if header else None,
        "score": round(res.score, 4) if scored else None,
        "source": res.source,
        "warnings": read_warnings + res.warnings,
        "masked": res.masked,
        "timings": {"read_s": round(t1 - t0, 4), **res.timings},
    }
    for warning in read_warnings + res.warnings:
        logging.getLogger("scatterloop.polar").warning(warning)
    text = (
        f"centre x={res.centre_x:.2f} y={res.centre_y:.2f} ({res.source}"
        + ("" if given else f", confidence {res.confidence:.2f}")
        + (f", detector tilted {res.tilt_deg:.2f} deg" if res.tilt_deg else "")
        + ")"
        if found
        else f"no centre: {res.reason}"
    )
    from .cli_common import emit

    symmetry = (
        f"symmetry {res.score:.3f}" + (" on the tilted plane" if res.plane else "") if scored else "no symmetry score"
    )
    emit(args, payload, f"{text}, {symmetry}")
    return 0


def add_parser(sub, common) -> None:
    p = sub.add_parser("polar", parents=[common], help="beam centre, polar warp symmetry score of one image")
    p.add_argument("image")
    p.add_argument(
        "--calibration",
        "--poni",
        dest="calibration",
        default=None,
        help="calibration file (.poni, GSAS-II .imctrl, Fit2D parameters, HEXRD .yml/.hexrd, NeXus): its centre "
        "is used instead of the search",
    )
    p.add_argument(
        "--flip-ud", action="store_true", help="the calibration was made on the up-down flipped image (Dioptas)"
    )
    p.add_argument(
        "--panel",
        default=None,
        help="the panel of a many-panel HEXRD instrument the frame was taken on (default: the only one of the "
        "frame's shape, else the one the image's file name names)",
    )
    p.add_argument(
        "--no-header",
        action="store_true",
        help="ignore the beam centre the file's header states (Beam_xy, BEAM_CENTER_X/Y, Center_1/2, beam_center_x/y;"
        " used only where the frame's rings fix none)",
    )
    p.add_argument("--frame", type=int, default=0)
    p.add_argument("--dataset", default=None)
    p.add_argument("--max-pixels", type=positive_int, default=None, help="refuse frames larger than this")
    p.set_defaults(func=cmd_polar)
