"""Export a selection of images (a map lasso, a grid selection, search hits) into the workspace's `exports/`.

`csv`: one row per image with its provenance, current human label and, when the image is in the latest map,
its map position. `imagefolder`: a zip holding `train/*.png` (display normalisation, 8 bits, as
`core.export` writes for diffusers), `train/metadata.jsonl` and the same CSV, ready for
`datasets.load_dataset("imagefolder")`. Files are written under a temporary name and renamed when whole.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

import numpy as np

from .atomic import atomic_write
from .csv_cells import safe_cell
from .io import display_normalise
from .jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .workspace import Workspace

Format = Literal["csv", "imagefolder"]
FORMATS = ("csv", "imagefolder")
COLUMNS = (
    "image_id",
    "sha256",
    "source",
    "pattern",
    "label",
    "annotator",
    "round_added",
    "description",
    "prompt",
    "seed",
    "original_name",
    "stored_path",
    "height",
    "width",
    "map_x",
    "map_y",
)


@dataclass
class SelectionExport:
    path: str  # relative to the workspace: exports/<name>
    name: str
    images: int
    format: str


def _rows(ws: Workspace, image_ids: list[int]) -> list[dict]:
    images = {img.id: img for img in ws.store.get_images(image_ids)}
    missing = [i for i in image_ids if i not in images]
    if missing:
        raise ValueError(f"images {missing[:5]}: no such image(s)")
    labels = ws.store.current_labels(image_ids)
    run = ws.store.latest_map_run()
    pos: dict[int, tuple[float, float]] = {}
    if run is not None:
        arrays = ws.store.map_arrays(run.id)
        pos = {int(i): (float(x), float(y)) for i, (x, y) in zip(arrays["ids"], arrays["xy"], strict=True)}
    rows = []
    for i in image_ids:
        img, lab = images[i], labels.get(i)
        xy = pos.get(i, ("", ""))
        rows.append(
            {
                "image_id": img.id,
                "sha256": img.sha256,
                "source": img.source,
                "pattern": img.pattern or "",
                "label": (lab.label or "") if lab else "",
                "annotator": lab.annotator if lab else "",
                "round_added": img.round if img.round is not None else "",
                "description": img.description or "",
                "prompt": img.prompt or "",
                "seed": img.seed if img.seed is not None else "",
                "original_name": img.original_name,
                "stored_path": img.path,
                "height": img.height,
                "width": img.width,
                "map_x": xy[0],
                "map_y": xy[1],
            }
        )
    return rows


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def export_selection(
    ws: Workspace,
    image_ids: list[int],
    fmt: Format = "csv",
    *,
    name: str | None = None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> SelectionExport:
    """Write the selection to `exports/<name>.csv` or `exports/<name>.zip`; the default name is
    `selection-<UTC time>-<n>`.

    Raises:
        ValueError: an empty selection, an unknown format, a name that is not a plain file name, or ids the
            workspace does not hold.
    """
    ids = list(dict.fromkeys(int(i) for i in image_ids))
    if not ids:
        raise ValueError("selection: nothing selected to export")
    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {fmt!r}")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    name = name or f"selection-{stamp}-{len(ids)}"
    if not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ValueError(f"export name {name!r}: use letters, digits, '-', '_' and '.' only")
    rows = _rows(ws, ids)
    out = ws.root / "exports" / f"{name}.{'csv' if fmt == 'csv' else 'zip'}"
    if fmt == "csv":
        with atomic_write(out) as tmp:
            tmp.write_text(_csv_text(rows), encoding="utf-8")
        return SelectionExport(path=ws.relative(out), name=out.name, images=len(rows), format=fmt)
    from PIL import Image as PILImage

    images = {img.id: img for img in ws.store.get_images(ids)}
    with atomic_write(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        meta = []
        for n, row in enumerate(rows, 1):
            check_stop(should_stop)
            frame = ws.load_frame(images[row["image_id"]])
            disp = display_normalise(frame.data, frame.mask)
            png = io.BytesIO()
            PILImage.fromarray((disp * 255).astype(np.uint8), mode="L").save(png, format="PNG")
            file_name = f"{row['image_id']:06d}.png"
            zf.writestr(f"train/{file_name}", png.getvalue())
            text = row["description"] or row["prompt"] or row["pattern"]
            meta.append(json.dumps({"file_name": file_name, "text": text, **{k: row[k] for k in COLUMNS[:5]}}))
            progress(n, len(rows), f"exported {n}/{len(rows)}")
        zf.writestr("train/metadata.jsonl", "\n".join(meta) + "\n")
        zf.writestr("selection.csv", _csv_text(rows))
    return SelectionExport(path=ws.relative(out), name=out.name, images=len(rows), format=fmt)
