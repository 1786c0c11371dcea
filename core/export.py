"""Export approved images as a Hugging Face imagefolder (ready for diffusers fine-tuning) plus a labels CSV."""

from __future__ import annotations

import csv
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from .atomic import atomic_write
from .csv_cells import safe_cell
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
    train.mkdir(parents=True, exist_ok=True)
    with _locked(out):  # two exports into one folder take turns
        return _write(ws, out, train, round, approved_label, include_experimental, progress, should_stop)


@contextmanager
def _locked(out: Path):
    import fcntl

    with open(out / ".export.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(ws, out: Path, train_dir: Path, round, approved_label, include_experimental, progress, should_stop):
    """The export's files: PNGs and `metadata.jsonl` into `train_dir`, `labels.csv` into `out`. A PNG is named by
    its image and drawn the same every time, so it is written in place; `metadata.jsonl` and `labels.csv` are
    replaced whole at the end, and only then are the PNGs of images no longer approved removed (a failed or
    cancelled export leaves the last one's lists, and never an approved image missing)."""
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
    lines: list[str] = []
    added: list[Path] = []  # PNGs the last export did not hold: removed again if this one does not finish
    try:
        for n, (img, _) in enumerate(chosen, 1):
            check_stop(should_stop)
            lines.append(_png(ws, img, train, added))
            progress(n, len(chosen), f"exported {n}/{len(chosen)}")
    except BaseException:
        for path in added:  # the last export's list stays whole and true: no image it does not list
            path.unlink(missing_ok=True)
        raise
    with atomic_write(train / "metadata.jsonl") as tmp:  # replaced whole: a failed export keeps the last one's
        tmp.write_text("".join(lines), encoding="utf-8")
    csv_path = out / "labels.csv"
    with atomic_write(csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        _labels_csv(fh, rows, labels)
    names = {f"{img.id:06d}.png" for img, _ in chosen}
    ours = {f"{img.id:06d}.png" for img, _ in rows}  # the workspace's images' names, not a user's `2024.png`
    for stale in train.iterdir():  # an image approved before, no longer: its PNG would still be trained on
        if stale.name in ours and stale.name not in names:
            stale.unlink(missing_ok=True)
    return ExportResult(
        out=str(out), images=len(chosen), labels_csv=str(csv_path), metadata=str(out / "train" / "metadata.jsonl")
    )


def _png(ws, img, train: Path, added: list[Path]) -> str:
    """One image's PNG, written to a temporary name and renamed into place (a full disk leaves the last one
    whole), and its `metadata.jsonl` line."""
    frame = ws.load_frame(img)
    disp = display_normalise(frame.data, frame.mask)
    name = f"{img.id:06d}.png"
    dest = train / name
    if not dest.exists():
        added.append(dest)
    with atomic_write(dest) as tmp:
        PILImage.fromarray((disp * 255).astype(np.uint8), mode="L").save(tmp, format="PNG")
    return (
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


def _labels_csv(fh, rows, labels) -> None:
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
        cells = (
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
        )
        w.writerow([safe_cell(c) for c in cells])
