"""A MANIFEST.json folder (the form of `../shared/realdata`'s): the real frames that `bench simreal` and `bench
polar` measure on, from any folder a user describes the same way.

The manifest is a JSON list with one object per file: `file` (a path relative to the manifest's folder), `kind`
(rings, peaks, background, ...), and optionally `reader` (`h5py:/path/to/dataset` names an HDF5 dataset; any
other value lets the file's suffix choose the reader, as `scatterloop import` does), `dataset` (the same, as its
own field), `centre_x`/`centre_y` (the beam centre in pixels, where known). A folder of someone else's frames
will hold an entry or a file that cannot be used: each such one is left out with a one-line reason (logged, and
listed under `skipped` in the benchmark's JSON), and the rest is measured.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from ..io_safety import one_line

log = logging.getLogger(__name__)


def load_manifest(path: str | Path) -> tuple[list[dict], list[dict]]:
    """(usable entries, skipped entries as {"file", "error"}) of a MANIFEST.json.

    Raises:
        ValueError: the manifest itself is missing, unreadable or not a JSON list (one line, naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{one_line(path)}: no such MANIFEST.json (give --manifest FILE; the default, ../shared/realdata, exists "
            "only beside a clone of the repository)"
        )
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{one_line(path)}: not a readable JSON manifest ({one_line(exc)})") from None
    if not isinstance(entries, list):
        raise ValueError(f"{one_line(path)}: expected a JSON list of entries, got {type(entries).__name__}")
    good, skipped = [], []
    for i, e in enumerate(entries):
        problem = _problem(e)
        if problem:
            name = e.get("file") if isinstance(e, dict) and isinstance(e.get("file"), str) else f"entry {i}"
            skip(skipped, name, problem)
        else:
            good.append(e)
    return good, skipped


def _problem(e) -> str | None:
    if not isinstance(e, dict):
        return f"expected an object, got {type(e).__name__}"
    for key in ("file", "kind"):
        if not isinstance(e.get(key), str) or not e[key].strip():
            return f"field {key!r}: expected a non-empty string, got {e.get(key)!r}"
    for key in ("reader", "dataset"):
        if e.get(key) is not None and not isinstance(e[key], str):
            return f"field {key!r}: expected a string, got {e[key]!r}"
    return None


def skip(skipped: list[dict], file: str, error) -> None:
    """Record (and log, one line) an entry left out."""
    reason = one_line(error)
    log.warning("%s: skipped: %s", file, reason)
    skipped.append({"file": file, "error": reason})


def dataset_of(e: dict) -> str | None:
    """The HDF5 dataset an entry names (`dataset`, or `reader` of the form `h5py:/path`), else None."""
    if e.get("dataset"):
        return e["dataset"]
    reader = e.get("reader") or ""
    if reader.startswith("h5py:"):
        return reader.split(":", 1)[1] or None
    return None


def entry_frames(manifest: Path, e: dict) -> Iterator:
    """Every frame of an entry's file (`core.io.read_frames`: checked and masked)."""
    from ..io import read_frames

    return read_frames(Path(manifest).parent / e["file"], dataset=dataset_of(e))


def read_entry(
    manifest: Path, e: dict, skipped: list[dict], convert: Callable = lambda f: f, limit: int | None = None
):
    """`convert(frame)` for every frame of an entry's file (the first `limit` of them), or None when the file
    cannot be read or holds no frame: then the reason is recorded in `skipped`. A file is used whole or not at
    all; `convert` runs frame by frame, so a long stack is never held as raw frames."""
    try:
        out = [convert(frame) for frame in islice(entry_frames(manifest, e), limit)]
    except (OSError, ValueError, MemoryError) as exc:  # ImageReadError is a ValueError
        skip(skipped, e["file"], exc)
        return None
    if not out:
        skip(skipped, e["file"], "no frames")
        return None
    return out
