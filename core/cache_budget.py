"""A size budget for the workspace's derived-image caches (full-resolution frames, I(q) cakes, polar warps).

These caches grow with every image a person opens: a 2048×2048 detector frame is 16 MB as float32, and a
rotation scan holds thousands. Each entry is a group of files sharing a name up to its first dot (`<sha>.npy`,
`<sha>.mask.npy`, `<sha>.json`); a hit marks its group as used (mtime), and after a new entry is written the
folder is trimmed, least recently used groups first, to 80 % of `Settings.cache_mb` shared between the
folders. Everything in them is rebuilt from the stored originals on the next request, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)
FOLDERS = ("frames", "qprofile", "polar")  # under <workspace>/cache
TRIM_TO = 0.8  # of the budget, so a full cache is not scanned again on the very next miss


def _group(path: Path) -> str:
    return str(path.parent / path.name.split(".", 1)[0])


def touch(path: Path) -> None:
    """Mark a cache entry as just used (its file's mtime); a vanished file is no error."""
    try:
        os.utime(path, None)
    except OSError:
        pass


def entries(cache_root: Path) -> list[tuple[float, int, list[Path]]]:
    """(last use, bytes, files) per entry of the budgeted folders, oldest first."""
    groups: dict[str, list] = {}
    for name in FOLDERS:
        folder = cache_root / name
        if not folder.is_dir():
            continue
        for dirpath, _, files in os.walk(folder):
            for f in files:
                p = Path(dirpath) / f
                try:
                    st = p.stat()
                except OSError:  # removed meanwhile by another process
                    continue
                g = groups.setdefault(_group(p), [0.0, 0, []])
                g[0] = max(g[0], st.st_mtime)
                g[1] += st.st_size
                g[2].append(p)
    return sorted((tuple(v) for v in groups.values()), key=lambda e: e[0])


def trim(cache_root: Path, max_mb: int, keep: Path | None = None) -> dict:
    """Remove least recently used entries until the budgeted folders hold at most `TRIM_TO` of `max_mb`
    (only when they hold more than `max_mb`). `keep` (a file of the entry just written) is never removed.
    0 or less means no limit. Returns what was done: {"bytes_before", "bytes_after", "removed"}."""
    if max_mb <= 0:
        return {"bytes_before": None, "bytes_after": None, "removed": 0}
    found = entries(cache_root)
    total = sum(e[1] for e in found)
    out = {"bytes_before": total, "bytes_after": total, "removed": 0}
    if total <= max_mb * 1024 * 1024:
        return out
    target = TRIM_TO * max_mb * 1024 * 1024
    keep_group = _group(keep) if keep is not None else None
    t0 = time.perf_counter()
    for _, size, files in found:
        if total <= target:
            break
        if files and _group(files[0]) == keep_group:
            continue
        for p in files:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:  # e.g. held open on a platform that forbids removing it: try later
                log.debug("cache: could not remove %s: %s", p, exc)
        total -= size
        out["removed"] += 1
    out["bytes_after"] = total
    log.info(
        "cache: %d entries removed (%.0f -> %.0f MB, budget %d MB) in %.2f s",
        out["removed"], out["bytes_before"] / 2**20, total / 2**20, max_mb, time.perf_counter() - t0,
    )  # fmt: skip
    return out
