"""Write a file or folder under a temporary name and rename it into place only when it is complete.

A job killed halfway then leaves a hidden `.tmp-*.NAME` sibling, never a half-made NAME that a later run or
reader could take for a finished one. Register an artifact in the store only after the `with` block ends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIXES = (".tmp-", ".old-")


def _sibling(path: Path, prefix: str) -> Path:
    """A hidden name beside `path` that keeps its suffix (np.save, say, appends `.npy` to names without it)."""
    return path.with_name(f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}.{path.name}")


def is_temporary(path: str | Path) -> bool:
    """Whether `path` is the unfinished (or discarded) work of `atomic_dir`/`atomic_write`."""
    return Path(path).name.startswith(PREFIXES)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; when the block ends without error it becomes `path`
    (an older `path` is replaced), on error it is removed.

    Readers see either the old folder or the new one, whole. Two writers of the same path both succeed and
    the last one wins, which suits content-addressed caches.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, ".tmp-")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.replace(tmp, path)  # path absent (or an empty folder): one atomic rename
    except OSError:
        if not path.exists():
            raise
        old = _sibling(path, ".old-")
        os.replace(path, old)  # a non-empty folder cannot be renamed over: move it aside first
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_write(path: str | Path, sync: bool = True) -> Iterator[Path]:
    """Yield a temporary file path beside `path`; when the block ends without error the file becomes `path`
    (flushed to disk first, unless `sync` is False: a cache that is checked when read and made again), on error
    it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, ".tmp-")
    try:
        yield tmp
        if sync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
