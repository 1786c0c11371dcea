"""Polar physics check: centre error and time on real frames with known centres (any folder described by a
MANIFEST.json), on simulated frames of every detector type, and how well the symmetry score separates
physical rings from each hallucination type on seeded simulated frames (ROC AUC)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import step
from .io_bench import machine


def _hallucinations(n: int, size: int, seed: int) -> dict:
    from sklearn.metrics import roc_auc_score

    from ..polar import analyse
    from ..simulate import ARTIFACTS, frame_record

    kinds = [None, *ARTIFACTS["rings"]]
    scores: dict[str | None, list[float]] = {k: [] for k in kinds}
    errors, times = [], []
    for i in range(n):
        step(i, n, "simulated ring frames, with and without hallucinations")
        kind = kinds[i % len(kinds)]
        arr, row = frame_record("rings", seed, i, size, kind)
        t0 = time.perf_counter()
        res = analyse(arr)
        times.append(time.perf_counter() - t0)
        scores[kind].append(res.score)
        if kind is None:
            errors.append(
                float(np.hypot(res.centre_x - row["params"]["centre_x"], res.centre_y - row["params"]["centre_y"]))
            )
    auc = {}
    for kind in kinds[1:]:
        y = [1] * len(scores[None]) + [0] * len(scores[kind])
        auc[kind] = round(float(roc_auc_score(y, scores[None] + scores[kind])), 3)
    all_fake = [s for k in kinds[1:] for s in scores[k]]
    auc["all_hallucinations"] = round(
        float(roc_auc_score([1] * len(scores[None]) + [0] * len(all_fake), scores[None] + all_fake)), 3
    )
    return {
        "roc_auc_physical_vs": auc,
        "centre_error_px_median": round(float(np.median(errors)), 3),
        "centre_error_px_max": round(float(np.max(errors)), 3),
        "seconds_per_frame": round(float(np.mean(times)), 3),
        "score_median": {str(k): round(float(np.median(v)), 3) for k, v in scores.items() if v},
    }


def _outcome(status: str, error: float | None, expect: str) -> bool:
    """Ring frames need a centre within 2 px; frames without rings need one within 5 px or `no centre`."""
    if expect == "centre":
        return status == "found" and error is not None and error <= 2.0
    return status == "no centre" or (error is not None and error <= 5.0)


def _detector_types(per_type: int, seed: int) -> dict:
    from ..geometry import search_centre
    from ..simulate.detectors import DETECTOR_TYPES, detector_frame

    out = {}
    for k, kind in enumerate(DETECTOR_TYPES):
        rows = []
        for i in range(per_type):
            step(k * per_type + i, len(DETECTOR_TYPES) * per_type, f"simulated detectors: {kind}")
            f = detector_frame(kind, np.random.default_rng([seed, 1000 + i]))
            res = search_centre(f.counts)
            err = float(np.hypot(res.x - f.centre[0], res.y - f.centre[1]))
            reported = err if res.status == "found" else None
            rows.append(
                {
                    "error_px": round(reported, 3) if reported is not None else None,
                    "status": res.status,
                    "confidence": round(res.confidence, 3),
                    "seconds": round(res.seconds, 3),
                    "ok": _outcome(res.status, reported, f.expect),
                }
            )
        errs = [r["error_px"] for r in rows if r["error_px"] is not None]
        out[kind] = {
            "shape": list(f.counts.shape),
            "expect": f.expect,
            "passed": f"{sum(r['ok'] for r in rows)}/{len(rows)}",
            "found": sum(r["status"] == "found" for r in rows),
            "median_error_px": round(float(np.median(errs)), 3) if errs else None,
            "max_error_px": round(float(np.max(errs)), 3) if errs else None,
            "max_seconds": max(r["seconds"] for r in rows),
        }
    return out


def _large_frame(seed: int, side: int = 5000) -> dict:
    """Seconds for a 25-megapixel ring frame (the time goal), with its centre error."""
    from ..geometry import search_centre
    from ..simulate.geometry import Detector, Scene
    from ..simulate.patterns import render_rings

    rng = np.random.default_rng([seed, 25])
    det = Detector("Pilatus-25M", (1, 1), module_px=(side, side), pixel_m=75e-6)
    scene = Scene((side, side), det, (side * 0.47, side * 0.53), 75e-6, {"detector": det.name})
    render_rings(scene, rng, None)
    counts = rng.poisson(scene.expected + 5.0).astype(np.int32)
    del scene
    res = search_centre(counts)
    err = float(np.hypot(res.x - side * 0.47, res.y - side * 0.53))
    return {
        "megapixels": side * side / 1e6,
        "error_px": round(err, 3),
        "status": res.status,
        "seconds": round(res.seconds, 2),
    }


def _real(manifest: Path) -> tuple[list[dict], list[dict]]:
    """Each manifest file with a known beam centre: its first frame's centre search against it; and the entries
    left out (a malformed entry or centre, or a file that cannot be read: a one-line reason each)."""
    from ..polar import analyse
    from .manifest import load_manifest, read_entry, skip

    entries, skipped = load_manifest(manifest)
    rows = []
    for i, e in enumerate(entries):
        step(i, len(entries), f"the manifest's frames: {Path(str(e.get('file', ''))).name}")
        if e.get("centre_x") is None and e.get("centre_y") is None:
            continue
        try:
            truth = float(e["centre_x"]), float(e["centre_y"])
        except (KeyError, TypeError, ValueError):
            skip(skipped, e["file"], f"centre_x/centre_y: expected two numbers, got {e.get('centre_x')!r}, "
                                     f"{e.get('centre_y')!r}")  # fmt: skip
            continue
        frames = read_entry(manifest, e, skipped, limit=1)
        if frames is None:
            continue
        frame = frames[0]
        t0 = time.perf_counter()
        res = analyse(frame.data, frame.mask)
        err = float(np.hypot(res.centre_x - truth[0], res.centre_y - truth[1]))
        rows.append(
            {
                "file": e["file"],
                "kind": e["kind"],
                "status": res.status,
                "error_px": round(err, 3) if res.status == "found" else None,
                "seconds": round(time.perf_counter() - t0, 2),
                "confidence": res.confidence,
                "found": [round(res.centre_x, 2), round(res.centre_y, 2)],
                "truth": list(truth),
                "score": round(res.score, 3),
                "reason": res.reason,
            }
        )
    return rows, skipped


def summarise(real: list[dict]) -> dict:
    """Counts over the manifest's frames with centres: ring frames found and within 2 px (and the median error
    of those found), frames without rings given a centre more than 5 px off."""
    rings = [r for r in real if r["kind"] == "rings"]
    found = [r["error_px"] for r in rings if r["status"] == "found"]
    return {
        "rings": len(rings),
        "rings_found": len(found),
        "rings_within_2px": sum(e <= 2.0 for e in found),
        "rings_found_median_error_px": round(float(np.median(found)), 3) if found else None,
        "without_rings": len(real) - len(rings),
        "without_rings_wrong_centre": sum(
            1 for r in real if r["kind"] != "rings" and not _outcome(r["status"], r["error_px"], "none")
        ),
    }


def bench_polar(
    n: int = 60, size: int = 256, seed: int = 0, realdata: str | Path | None = None, manifest: str | Path | None = None
) -> dict:
    root = Path(realdata) if realdata else Path(__file__).resolve().parents[3] / "shared" / "realdata"
    manifest = Path(manifest) if manifest else root / "MANIFEST.json"
    out: dict = {"bench": "polar", "n": n, "size": size, "machine": machine(), "manifest": str(manifest)}
    real, out["skipped"] = _real(manifest)
    rings = [r for r in real if r["kind"] == "rings"]
    ring_errs = [r["error_px"] if r["error_px"] is not None else float("inf") for r in rings]
    out["real"] = real
    out["real_median_error_px"] = round(float(np.median(ring_errs)), 3) if rings else None
    out["real_max_error_px"] = round(float(np.max(ring_errs)), 3) if rings else None
    out["real_without_rings_ok"] = [
        r["file"] for r in real if r["kind"] != "rings" and _outcome(r["status"], r["error_px"], "none")
    ]
    out["real_summary"] = summarise(real)
    sim = _hallucinations(n, size, seed)
    sim["detector_types"] = _detector_types(3, seed)
    step(0, 1, "a 25-megapixel frame")
    sim["large_frame"] = _large_frame(seed)
    step(1, 1, "done")
    out["simulated"] = sim
    out["max_seconds"] = max(
        [r["seconds"] for r in real]
        + [v["max_seconds"] for v in sim["detector_types"].values()]
        + [sim["large_frame"]["seconds"]]
    )
    return out
