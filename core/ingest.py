"""Import files, folders, Hugging Face imagefolders (`metadata.jsonl`) and CSV manifests into a workspace.

Each file is copied once, byte for byte, into `originals/`; each frame becomes an image row keyed by the
hash of its values, so the same frame imported twice (or in two formats) is recognised as a duplicate.
A file that cannot be read is skipped with one line `path: reason`; the rest import.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .io import ImageReadError, is_image_file, read_frames, thumbnail_png
from .jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .workspace import Workspace

log = logging.getLogger(__name__)

MANIFEST_NAMES = ("metadata.jsonl", "metadata.csv")
Source = Literal["experimental", "generated", "simulated"]
PROVENANCE_KEYS = ("run", "backend", "checkpoint", "steps", "guidance", "params", "index")


@dataclass
class FileReport:
    path: str
    imported: int = 0
    duplicates: int = 0
    error: str | None = None


@dataclass
class ImportSummary:
    imported: int = 0
    duplicates: int = 0
    failed: int = 0
    files: list[FileReport] = field(default_factory=list)
    image_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        return [f"{f.path}: {f.error}" for f in self.files if f.error]


def read_manifest(path: Path) -> dict[str, dict]:
    """Rows of a `metadata.jsonl` or CSV keyed by the file name they describe (relative to the manifest).

    Raises:
        ValueError: a row without `file_name`, or a line that is not JSON, naming the manifest and line.
    """
    rows: dict[str, dict] = {}
    if path.suffix.lower() == ".jsonl":
        with open(path, encoding="utf-8") as fh:
            for no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{no}: not a JSON line ({exc.msg})") from exc
                _add_row(rows, row, path, no)
    else:
        with open(path, newline="", encoding="utf-8") as fh:
            for no, row in enumerate(csv.DictReader(fh), 2):
                _add_row(rows, {k: v for k, v in row.items() if v not in (None, "")}, path, no)
    return rows


def _add_row(rows: dict, row: dict, path: Path, no: int) -> None:
    name = row.get("file_name") or row.get("file") or row.get("path")
    if not name:
        raise ValueError(f"{path}:{no}: missing field 'file_name'")
    rows[str((path.parent / name).resolve())] = row


def expand(paths: Iterable[str | Path], metadata: str | Path | None = None) -> tuple[list[Path], dict[str, dict]]:
    """The files to import and the manifest rows that describe them.

    A folder contributes its image files (recursively) and any `metadata.jsonl`/`metadata.csv` in it; a
    manifest given as a path contributes the files it lists.
    """
    files: list[Path] = []
    meta: dict[str, dict] = {}
    if metadata:
        meta.update(read_manifest(Path(metadata)))
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for name in MANIFEST_NAMES:
                for found in sorted(p.rglob(name)):
                    meta.update(read_manifest(found))
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f)))
        elif p.name in MANIFEST_NAMES or (p.suffix.lower() in (".jsonl", ".csv") and p.is_file()):
            rows = read_manifest(p)
            meta.update(rows)
            files.extend(Path(k) for k in rows)
        else:
            files.append(p)
    unique = list(dict.fromkeys(f.resolve() if f.exists() else f for f in files))
    return unique, meta


def _store_original(ws: Workspace, path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    suffix = "".join(s for s in path.suffixes[-2:] if len(s) <= 8) or ""
    dest = ws.originals / digest[:2] / f"{digest}{suffix}"
    if not dest.exists():
        dest.parent.mkdir(exist_ok=True)
        shutil.copy2(path, dest)
    return ws.relative(dest)


def import_paths(
    ws: Workspace,
    paths: Iterable[str | Path],
    *,
    source: Source = "experimental",
    metadata: str | Path | None = None,
    dataset: str | None = None,
    annotator: str = "import",
    run_id: int | None = None,
    round: int | None = None,
    provenance: dict | None = None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> ImportSummary:
    """Import every readable frame under `paths`; one bad file never stops the others.

    Manifest rows may carry `text`, `pattern`, `label` (recorded as a human label event by `annotator`),
    `prompt`, `seed`, `truth` (kept for benchmarks, never shown as a label) and provenance fields.
    """
    t0 = time.perf_counter()
    files, meta = expand(paths, metadata)
    summary = ImportSummary()
    settings = ws.settings
    seen: set[str] = set()
    labels: dict[str, list[int]] = {}
    for n, path in enumerate(files, 1):
        check_stop(should_stop)
        report = FileReport(path=str(path))
        summary.files.append(report)
        row = meta.get(str(path), {})
        try:
            stored = None
            for frame in read_frames(
                path, dataset=dataset, max_pixels=settings.max_pixels, min_side=settings.min_side
            ):
                sha = frame.sha256
                if sha in seen or ws.store.has_sha(sha):
                    report.duplicates += 1
                    continue
                stored = stored or _store_original(ws, path)
                ws.thumb_path(sha).write_bytes(thumbnail_png(frame.data, frame.mask, settings.thumb_size))
                image_id = ws.store.add_image(
                    sha256=sha,
                    path=stored,
                    frame=frame.index,
                    dataset=frame.dataset,
                    original_name=str(path),
                    source=row.get("source", source),
                    pattern=row.get("pattern"),
                    description=row.get("text"),
                    height=frame.data.shape[0],
                    width=frame.data.shape[1],
                    dtype=str(frame.data.dtype),
                    masked_fraction=float(frame.mask.mean()),
                    run_id=run_id,
                    prompt=row.get("prompt"),
                    seed=_int_or_none(row.get("seed")),
                    round=round,
                    provenance={**(provenance or {}), **{k: row[k] for k in PROVENANCE_KEYS if k in row}},
                    truth=_truth(row),
                )
                seen.add(sha)
                report.imported += 1
                summary.image_ids.append(image_id)
                if row.get("label"):
                    labels.setdefault(str(row["label"]), []).append(image_id)
        except ImageReadError as exc:
            report.error = str(exc)
            log.warning("%s: %s", path, exc)
        except OSError as exc:
            report.error = f"{type(exc).__name__}: {exc.strerror or exc}"
            log.warning("%s: %s", path, report.error)
        summary.imported += report.imported
        summary.duplicates += report.duplicates
        summary.failed += report.error is not None
        progress(n, len(files), f"{summary.imported} imported, {summary.failed} failed")
    for label, ids in labels.items():
        ws.store.add_labels(ids, label, annotator=annotator, round=round)
    summary.seconds = time.perf_counter() - t0
    return summary


def _truth(row: dict) -> dict | None:
    truth = row.get("truth")
    if isinstance(truth, str):
        try:
            truth = json.loads(truth)
        except json.JSONDecodeError:
            truth = {"value": truth}
    return truth


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
