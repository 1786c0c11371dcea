"""Stored originals: written atomically, named by their SHA-256, verified on every import.

An original is copied to `originals/.tmp/` (hashing as it goes), fsynced, read and checked from there, and
only then renamed to `originals/<2 hex>/<sha256><suffix>`: a kill at any moment leaves either no file under
the final name or the whole one. Because the name is the hash, any stored original can be checked at any
time; `verify_originals` does so, and the next import of the same source repairs a missing or corrupt one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from pathlib import Path

from sqlalchemy import select

from .store import Image
from .workspace import Workspace

log = logging.getLogger(__name__)
CHUNK = 1 << 20
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def stored_suffix(path: Path) -> str:
    """The last one or two plain suffixes (`.cbf.gz`), so the stored copy is read by the same reader."""
    return "".join(s for s in path.suffixes[-2:] if _SUFFIX.match(s))


def temp_dir(ws: Workspace) -> Path:
    path = ws.originals / ".tmp"
    path.mkdir(exist_ok=True)
    return path


def temp_path(ws: Workspace, suffix: str) -> Path:
    """A fresh temporary name owned by this process (its pid first, so stale ones can be told apart)."""
    return temp_dir(ws) / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}"


def copy_to_temp(ws: Workspace, src: Path) -> tuple[Path, str]:
    """Copy `src` into the workspace's temporary folder, fsynced; returns the copy and its SHA-256."""
    tmp = temp_path(ws, stored_suffix(src))
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fin, open(tmp, "xb") as fout:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                h.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest()


def hashed_temp(tmp: Path) -> str:
    """Fsync a temporary file written by someone else (a materialised HDF5) and return its SHA-256."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    return file_sha256(tmp)


def final_path(ws: Workspace, digest: str, suffix: str) -> Path:
    return ws.originals / digest[:2] / f"{digest}{suffix}"


def commit(ws: Workspace, tmp: Path, digest: str) -> str:
    """Move a checked temporary copy to its final name (replacing a missing or corrupt one); returns the
    workspace-relative path. A sound file already there is kept and the copy dropped."""
    dest = final_path(ws, digest, "".join(tmp.suffixes))
    dest.parent.mkdir(exist_ok=True)
    if dest.is_file() and file_sha256(dest) == digest:
        tmp.unlink()
    else:
        os.replace(tmp, dest)
        fd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself survives a power cut
        finally:
            os.close(fd)
    return ws.relative(dest)


def remove_stale_temps(ws: Workspace) -> int:
    """Delete temporary copies left by killed imports (their process is gone); returns how many."""
    removed = 0
    for tmp in temp_dir(ws).iterdir():
        pid = tmp.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def verify_originals(ws: Workspace) -> dict[str, str]:
    """Every original the store refers to, checked against the hash in its name: {relative path: problem}."""
    with ws.store.session() as s:
        paths = sorted(set(s.scalars(select(Image.path).distinct())))
    problems: dict[str, str] = {}
    for rel in paths:
        path = ws.root / rel
        digest = path.name.split(".", 1)[0]
        if not path.is_file():
            problems[rel] = "stored original missing"
        elif re.fullmatch(r"[0-9a-f]{64}", digest) and file_sha256(path) != digest:
            problems[rel] = "stored original corrupt (its SHA-256 does not match)"
    return problems
