"""Polar physics check: centre accuracy on the real ring frames with known centres, and how well the symmetry
score separates physical rings from each hallucination type on seeded simulated frames (ROC AUC)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .io_bench import machine


def bench_polar(n: int = 60, size: int = 256, seed: int = 0, realdata: str | Path | None = None) -> dict:
    from sklearn.metrics import roc_auc_score

    from ..io import read_frames
    from ..polar import analyse
    from ..simulate import ARTIFACTS, frame_record

    out: dict = {"bench": "polar", "n": n, "size": size, "machine": machine()}
    kinds = [None, *ARTIFACTS["rings"]]
    scores: dict[str | None, list[float]] = {k: [] for k in kinds}
    errors, times = [], []
    for i in range(n):
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
    out["simulated"] = {
        "roc_auc_physical_vs": auc,
        "centre_error_px_median": round(float(np.median(errors)), 3),
        "centre_error_px_max": round(float(np.max(errors)), 3),
        "seconds_per_frame": round(float(np.mean(times)), 3),
        "score_median": {str(k): round(float(np.median(v)), 3) for k, v in scores.items() if v},
    }
    root = Path(realdata) if realdata else Path(__file__).resolve().parents[3] / "shared" / "realdata"
    real = []
    if (root / "MANIFEST.json").exists():
        for e in json.loads((root / "MANIFEST.json").read_text()):
            if e["kind"] != "rings" or e.get("centre_x") is None:
                continue
            ds = e["reader"].split(":", 1)[1] if e["reader"].startswith("h5py:") else None
            frame = next(read_frames(root / e["file"], dataset=ds))
            t0 = time.perf_counter()
            res = analyse(frame.data, frame.mask)
            real.append(
                {
                    "file": e["file"],
                    "error_px": round(float(np.hypot(res.centre_x - e["centre_x"], res.centre_y - e["centre_y"])), 3),
                    "found": [round(res.centre_x, 2), round(res.centre_y, 2)],
                    "truth": [e["centre_x"], e["centre_y"]],
                    "score": round(res.score, 3),
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
    out["realdata"] = real
    return out
