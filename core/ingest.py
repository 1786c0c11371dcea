"""Import files, folders, Hugging Face imagefolders (`metadata.jsonl`) and CSV manifests into a workspace.

Each file is copied once, byte for byte and atomically, into `originals/`, and read back from that copy; each
frame becomes an image row keyed by the hash of its values, so the same frame imported twice (or in two
formats) is recognised as a duplicate. A file is all or nothing: every frame is read and checked before any
is registered, so a file reported as failed registers nothing. Each problem is one line `path: reason`;
the rest import. An HDF5 dataset whose values live in other files is materialised into one stored file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .ingest_known import GEOMETRY_KEYS, check_calibrations, geometry_known, label_known, pattern_known
from .ingest_sources import MANIFEST_NAMES as MANIFEST_NAMES
from .ingest_sources import Candidate, expand, file_key, linking_first, path_key
from .ingest_sources import read_manifest as read_manifest
from .io import Frame, check_header, read_frames, thumbnail_png
from .io_hdf5_copy import materialise
from .io_safety import ExternalDataError, ImageReadError, file_warnings, one_line, os_reason
from .jobs import Cancelled, ProgressFn, StopFn, check_stop, never_stop, no_progress
from .originals import commit, copy_to_temp, hashed_temp, remove_stale_temps, temp_dir, temp_path, verify_originals
from .workspace import Workspace

log = logging.getLogger(__name__)

Source = Literal["experimental", "generated", "simulated"]
SOURCES = ("experimental", "generated", "simulated")
PROVENANCE_KEYS = ("run", "backend", "checkpoint", "steps", "guidance", "params", "index", "calibration", "panel")


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
    repaired: int = 0
    labelled_known: int = 0  # frames stored before, unlabelled until this manifest labelled them
    patterned_known: int = 0  # frames stored before without a pattern, given the manifest's
    files: list[FileReport] = field(default_factory=list)
    image_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{f.path}: {f.error}" for f in self.files if f.error]

    def add(self, report: FileReport) -> None:
        self.files.append(report)
        self.imported += report.imported
        self.duplicates += report.duplicates
        self.failed += report.error is not None


@dataclass
class _Checked:
    """A file read and checked in full, not yet registered."""

    stored_tmp: Path
    digest: str
    frames: list[dict] = field(default_factory=list)
    thumbs: list[Path] = field(default_factory=list)
    duplicates: int = 0
    known: list[int] = field(default_factory=list)  # ids of frames stored before (a manifest's label reaches them)


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
    follow_outside: bool = False,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> ImportSummary:
    """Import every readable frame under `paths`; one bad file, manifest line or symlink never stops the others.

    Manifest rows may carry `text`, `pattern`, `label` (recorded as a human label event by `annotator`),
    `prompt`, `seed`, `truth` (kept for benchmarks, never shown as a label) and provenance fields.
    Every stored original is verified against its hash first; one whose source is imported again is repaired,
    the others are reported.

    Args:
        follow_outside: import symlinks, manifest paths and HDF5 links that lead outside the folder given.
    """
    t0 = time.perf_counter()
    summary = ImportSummary()
    remove_stale_temps(ws)
    broken = verify_originals(ws)
    found = expand(paths, metadata, follow_outside, workspace=ws.root)
    for shown, reason in found.problems:
        summary.add(FileReport(path=shown, error=one_line(reason)))
    labels: dict[str, list[int]] = {}
    calibrations: dict[str, list[str]] = {}  # calibration file a manifest names: the files naming it
    known_labels: dict[str, list[int]] = {}  # frames stored by an earlier import, labelled by this manifest
    known_patterns: dict[str, list[int]] = {}  # and those this manifest gives a pattern
    known_geometry: dict[tuple[str, str], list[int]] = {}  # and a calibration or panel
    progress(0, len(found.files), "reading the HDF5 files' links (a master file is imported before its data files)")
    files = linking_first(found.files, should_stop)
    by_file = {file_key(Path(k)): row for k, row in found.meta.items()}  # rows by the file their path leads to
    check_stop(should_stop)
    for n, cand in enumerate(files, 1):
        check_stop(should_stop)
        row = found.meta.get(path_key(cand.path)) or by_file.get(file_key(cand.path)) or {}
        report = FileReport(path=cand.shown)
        try:
            fields = _row_fields(row, cand, source, run_id, round, provenance)
            if isinstance(named := fields["provenance"].get("calibration"), str) and named:
                calibrations.setdefault(named, []).append(cand.shown)
            with file_warnings(cand.shown, cand.path, temp_dir(ws)) as said:
                checked = _check_file(ws, cand, dataset)
            for line in said:
                log.warning("%s", line)
            summary.warnings.extend(said)
            report.duplicates = checked.duplicates
            rel = None
            if checked.frames or any(p.split("/")[-1].startswith(checked.digest) for p in broken):
                rel = commit(ws, checked.stored_tmp, checked.digest)
                if broken.pop(rel, None):
                    summary.repaired += 1
            else:
                checked.stored_tmp.unlink(missing_ok=True)
            try:
                label = manifest_label(row.get("label"), ws.settings.labels)
            except ValueError as exc:
                label = None
                summary.warnings.append(f"{cand.shown}: {exc}; imported unlabelled")
            for info in checked.frames:
                image_id = ws.store.add_new_image(path=rel, **info, **fields)
                if (
                    image_id is None
                ):  # a concurrent import stored the same frame first: this manifest's word reaches it
                    report.duplicates += 1
                    if (stored := ws.store.has_sha(info["sha256"])) is not None:
                        checked.known.append(stored)
                    continue
                report.imported += 1
                summary.image_ids.append(image_id)
                if label:
                    labels.setdefault(label, []).append(image_id)
            if label and checked.known:
                known_labels.setdefault(label, []).extend(checked.known)
            if fields["pattern"] and checked.known:
                known_patterns.setdefault(fields["pattern"], []).extend(checked.known)
            for key in GEOMETRY_KEYS if checked.known else ():
                if isinstance(value := fields["provenance"].get(key), str | int) and str(value):
                    known_geometry.setdefault((key, str(value)), []).extend(checked.known)
        except Cancelled:
            raise
        except ImageReadError as exc:
            report.error = one_line(exc)
        except OSError as exc:
            report.error = one_line(os_reason(exc))
        except MemoryError as exc:  # numpy says how much it could not allocate, and for what shape
            report.error = one_line(f"not enough memory to import it: {exc}" if str(exc) else "not enough memory")
        except Exception as exc:  # a reader bug: one line to the person, the traceback to the log (not the CLI's)
            log.error("unexpected failure importing %s", cand.shown, exc_info=exc)
            report.error = one_line(f"internal error while importing this file ({type(exc).__name__}: {exc})")
        if report.error:
            log.warning("%s: %s", report.path, report.error)
        summary.add(report)
        progress(n, len(files), f"{summary.imported} imported, {summary.failed} failed")
    check_calibrations(ws, calibrations, summary)
    for rel, problem in broken.items():
        summary.add(FileReport(path=f"workspace {rel}", error=f"{problem}; import its source again to repair it"))
    for label, ids in labels.items():
        # a manifest's labels belong to the round they came in (`export --round` keeps them)
        ws.store.add_labels(
            ids, label, annotator=annotator, round=ws.store.current_round() if round is None else round
        )
    # after: a frame twice in the batch keeps the first file's label
    written = label_known(ws, known_labels, annotator, round, summary)
    pattern_known(ws, known_patterns, summary)
    geometry_known(ws, known_geometry, summary)
    stored = {label: len(ids) + written.get(label, 0) for label, ids in labels.items()}
    stored |= {label: n for label, n in written.items() if label not in stored}
    outside = {label: n for label, n in stored.items() if n and label not in ws.settings.labels}
    if outside:
        shown = ", ".join(f"{label[:40]!r} ({n} image{'s' * (n != 1)})" for label, n in list(outside.items())[:8])
        summary.warnings.append(
            f"manifest labels outside this workspace's label set ({', '.join(ws.settings.labels)}) were stored as "
            f"given: {shown}{' …' if len(outside) > 8 else ''}; the Label tab offers them once SCATTERLOOP_LABELS "
            "lists them (the labels task trains on any label set)"
        )
        log.warning("%s", summary.warnings[-1])
    summary.seconds = time.perf_counter() - t0
    return summary


def manifest_label(value: object, label_set: tuple[str, ...]) -> str | None:
    """A manifest row's label as stored: blank → none; spaces trimmed and collapsed; a label of the workspace's set
    in any case ("Realistic ", "FAKE") is that label; anything else (speckle disk counts "7") as written."""
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):  # JSON true/false is no label (it read as "False")
        raise ValueError(f"manifest field 'label': expected a word or number, got {type(value).__name__}")
    text = " ".join(str(value).split())
    if not text:
        return None
    if len(text) > 100:
        raise ValueError(f"manifest field 'label': {len(text)} characters, at most 100")
    return next((known for known in label_set if known.casefold() == text.casefold()), text)


def _check_file(ws: Workspace, cand: Candidate, dataset: str | None) -> _Checked:
    """Check the file's header, copy the file into the workspace, then read and check every frame of the copy
    (what is stored is what was read, whatever happens to the source meanwhile); nothing registered.

    On any failure the temporary copy and the thumbnails made so far are removed before the error goes up.
    """
    # at the source, before the copy: a path that is not a regular file (a named pipe is never opened), a file
    # that is no frame, or frames larger than the limit are refused
    check_header(cand.path, dataset, ws.settings.max_pixels)
    tmp, digest = copy_to_temp(ws, cand.path)
    checked = _Checked(tmp, digest)
    try:
        try:
            frames = list(_frames_of(ws, tmp, dataset, checked))
        except ExternalDataError:
            tmp.unlink(missing_ok=True)
            checked.stored_tmp = temp_path(ws, ".h5")
            dataset = materialise(cand.path, checked.stored_tmp, dataset, cand.root, ws.settings.max_pixels)
            checked.digest = hashed_temp(checked.stored_tmp)
            frames = list(_frames_of(ws, checked.stored_tmp, dataset, checked))
        checked.frames = frames
        return checked
    except ImageReadError as exc:  # the reason names the temporary copy where a library quotes its path
        _discard(checked)
        raise type(exc)(str(exc).replace(str(tmp), cand.shown)) from exc
    except BaseException:
        _discard(checked)
        raise


def _discard(checked: _Checked) -> None:
    checked.stored_tmp.unlink(missing_ok=True)
    for thumb in checked.thumbs:
        thumb.unlink(missing_ok=True)


def _frames_of(ws: Workspace, path: Path, dataset: str | None, checked: _Checked):
    settings = ws.settings
    local: set[str] = set()
    for frame in read_frames(path, dataset=dataset, max_pixels=settings.max_pixels, min_side=settings.min_side):
        sha = frame.sha256
        if sha in local:
            checked.duplicates += 1
            continue
        stored = next(filter(None, (ws.store.has_sha(s) for s in (sha, *frame.aliases))), None)
        if stored is not None:
            checked.duplicates += 1
            checked.known.append(stored)
            continue
        local.add(sha)
        _write_thumb(ws, sha, frame, checked)
        yield {
            "sha256": sha,
            "frame": frame.index,
            "dataset": frame.dataset,
            "height": frame.data.shape[0],
            "width": frame.data.shape[1],
            "dtype": str(frame.data.dtype),
            "masked_fraction": float(frame.mask.mean()),
        }


def _write_thumb(ws: Workspace, sha: str, frame: Frame, checked: _Checked) -> None:
    dest = ws.thumb_path(sha)
    if dest.exists():
        return
    tmp = dest.with_name(f".{os.getpid()}-{dest.name}")
    tmp.write_bytes(
        thumbnail_png(frame.data, frame.mask, ws.settings.thumb_size, log=not frame.meta.get("display_image"))
    )
    os.replace(tmp, dest)
    checked.thumbs.append(dest)


def _row_fields(row: dict, cand: Candidate, source: str, run_id, round, provenance) -> dict:
    src = row.get("source", source)
    if src not in SOURCES:
        raise ImageReadError(f"manifest source {one_line(repr(src))} is not one of {', '.join(SOURCES)}")
    return {
        "original_name": _text_name(cand.path),
        "source": src,
        "pattern": _str_or_none(row.get("pattern")),
        "description": _str_or_none(row.get("text")),
        "run_id": run_id,
        "prompt": _str_or_none(row.get("prompt")),
        "seed": _int_or_none(row.get("seed")),
        "round": round,
        "provenance": {**(provenance or {}), **{k: row[k] for k in PROVENANCE_KEYS if k in row}},
        "truth": _truth(row),
    }


def _text_name(path: Path) -> str:
    """The file's absolute name as text the database takes: a name that is not UTF-8 (bytes of another encoding,
    which Python carries as surrogates) keeps its odd bytes as \\xNN escapes."""
    name = os.path.abspath(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def _truth(row: dict) -> dict | None:
    truth = row.get("truth")
    if isinstance(truth, str):
        try:
            truth = json.loads(truth)
        except (json.JSONDecodeError, RecursionError):
            truth = {"value": truth}
    return truth if truth is None or isinstance(truth, dict) else {"value": truth}


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value, name: str = "seed") -> int | None:
    """A manifest's integer field (a generator's seed): None when absent or not a number; one the database cannot
    hold (a 64-bit signed integer) is refused by name."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not -(2**63) <= number < 2**63:
        raise ImageReadError(f"manifest {name} {number} does not fit a 64-bit integer")
    return number
