"""Which workspace files the web server may hand out, decided on resolved paths.

A URL names a file relative to a folder; `..`, absolute paths, encoded separators and symlinks can all point
such a name elsewhere. Only the resolved path counts: it must exist and lie inside the resolved folder, so a
symlink placed in the workspace that leads outside it is refused like `../../etc/passwd`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

# What an image route may serve, and the content type it is served with (never guessed from the bytes).
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
# Exports and reports are files people take away; they are downloaded, never rendered from the app's origin.
NEVER_SERVED = {".db", ".sqlite", ".sqlite3", ".db-wal", ".db-shm", ".pt", ".pth", ".ckpt", ".safetensors", ".bin"}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite keeps beside a database, whatever its name
SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    """Whether a file is an SQLite database or one of its side files, by name or by its first bytes (a copy of
    the workspace's database renamed `labels.txt` is still its labels and its users); one that cannot be read
    is taken for one (neither served nor written over)."""
    if path.name.endswith(SQLITE_SIDE_FILES):
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return True


def resolve_inside(folder: Path, name: str, within: Path | None = None) -> Path:
    """The existing file `name` (a relative, `/`-separated path) inside `folder`, resolved; with `within`
    (the workspace), `folder` itself must resolve inside it too (a cache folder that is a symlink elsewhere).

    Raises:
        FileNotFoundError: the name is absolute, climbs out with `..`, does not exist, is not a plain file,
            or resolves (through any symlink) to a place outside the resolved `folder`.
    """
    rel = PurePosixPath(name)
    if not name or "\\" in name or "\x00" in name or rel.is_absolute() or ".." in rel.parts:
        raise FileNotFoundError(f"{name!r}: not a file of this folder")
    base = Path(folder).resolve(strict=True)
    if within is not None and not base.is_relative_to(Path(within).resolve(strict=True)):
        raise FileNotFoundError(f"{folder}: not a folder of the workspace")
    try:
        path = (base / rel).resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # missing, or a symlink loop
        raise FileNotFoundError(f"{name!r}: not a file of this folder") from exc
    if not path.is_relative_to(base) or not path.is_file():
        raise FileNotFoundError(f"{name!r}: not a file of this folder")
    return path


def image_type(path: Path) -> str | None:
    """The content type of a servable image (png, jpeg, webp), or None for anything else."""
    return IMAGE_TYPES.get(path.suffix.lower())
