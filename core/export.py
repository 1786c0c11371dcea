"""Export approved images as a Hugging Face imagefolder (ready for diffusers fine-tuning) plus a labels CSV."""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from .io import display_normalise
from .jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .workspace import Workspace


@dataclass
class ExportResult:
    out: str
    images: int
    labels_csv: str
    metadata: str


def export_imagefolder(
    ws: Workspace,
    out: str | Path,
    *,
    round: int | None = None,
    approved_label: str = "realistic",
    include_experimental: bool = True,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> ExportResult:
    """Write `out/train/*.png` + `out/train/metadata.jsonl` and `out/labels.csv`.

    Approved means: experimental frames (when `include_experimental`) and every other image whose human
    label, as of `round` (all rounds when None), is `approved_label`. PNGs are the display normalisation
    (log, percentile clip) in 8 bits, what image generators train on; the lossless originals stay in the
    workspace and their paths are in the CSV.
    """
    out = ws.check_output(out)
    if round is not None and not 1 <= round <= ws.store.current_round():
        raise ValueError(
            f"--round: round {round} does not exist (this workspace is at round {ws.store.current_round()})"
        )
    train = out / "train"
    # written beside it and swapped in whole at the end: an export into the same folder again leaves no image that
    # is no longer approved, and a cancelled or failed one leaves the last complete export as it was
    building = out / f".train.{os.getpid()}.partial"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        result = _write(ws, out, building, round, approved_label, include_experimental, progress, should_stop)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if train.exists():
        old = out / f".train.{os.getpid()}.old"
        train.rename(old)
        building.rename(train)
        shutil.rmtree(old, ignore_errors=True)
    else:
        building.rename(train)
    return result


def _write(ws, out: Path, train_dir: Path, round, approved_label, include_experimental, progress, should_stop):
    """The export's files: PNGs and `metadata.jsonl` into `train_dir`, `labels.csv` into `out`."""
    train = train_dir
    labels = ws.store.labels_as_of(round)
    rows = ws.store.list_images()
    chosen = [
        (img, lab)
        for img, _ in rows
        if (lab := labels.get(img.id))
        and lab.label == approved_label
        and img.source != "experimental"
        or (include_experimental and img.source == "experimental")
    ]
    with open(train / "metadata.jsonl", "w", encoding="utf-8") as meta:
        for n, (img, _) in enumerate(chosen, 1):
            check_stop(should_stop)
            frame = ws.load_frame(img)
            disp = display_normalise(frame.data, frame.mask)
            name = f"{img.id:06d}.png"
            PILImage.fromarray((disp * 255).astype(np.uint8), mode="L").save(train / name)
            meta.write(
                json.dumps(
                    {
                        "file_name": name,
                        "text": img.description or img.pattern or "",
                        "pattern": img.pattern,
                        "source": img.source,
                        "image_id": img.id,
                    }
                )
                + "\n"
            )
            progress(n, len(chosen), f"exported {n}/{len(chosen)}")
    csv_path = out / "labels.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "image_id",
                "sha256",
                "stored_path",
                "original_name",
                "source",
                "pattern",
                "label",
                "annotator",
                "labelled_at",
                "round_added",
            ]
        )
        for img, _ in rows:
            lab = labels.get(img.id)
            w.writerow(
                [
                    img.id,
                    img.sha256,
                    img.path,
                    img.original_name,
                    img.source,
                    img.pattern or "",
                    lab.label if lab else "",
                    lab.annotator if lab else "",
                    lab.at.isoformat() if lab and lab.at else "",
                    img.round if img.round is not None else "",
                ]
            )
    return ExportResult(
        out=str(out), images=len(chosen), labels_csv=str(csv_path), metadata=str(out / "train" / "metadata.jsonl")
    )
