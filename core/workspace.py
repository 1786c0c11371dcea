"""A workspace is one directory: the database, stored originals, thumbnails, run outputs, caches, exports."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from .config import Settings
from .io import Frame, read_frame, thumbnail_png
from .safe_paths import SQLITE_SIDE_FILES, is_sqlite
from .store import Image, Store

log = logging.getLogger(__name__)

WORKSPACE_FOLDERS = ("originals", "thumbs", "runs", "cache", "exports")
MARK = "scatterloop-workspace"  # an empty file at the top: this folder is a workspace


def is_workspace(folder: Path) -> bool:
    """A folder a workspace was opened in: its folders and its mark (older workspaces: their SQLite database; the
    database may live in PostgreSQL). Folders of those names alone are somebody's project layout, not one."""
    folder = Path(folder)
    if not all((folder / sub).is_dir() for sub in WORKSPACE_FOLDERS):
        return False
    return (folder / MARK).is_file() or (folder / "scatterloop.db").is_file()


def enclosing_workspace(path: Path) -> Path | None:
    """The workspace that `path` would lie inside (a parent folder of it is one), or None."""
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):
        return None
    return next((parent for parent in resolved.parents if is_workspace(parent)), None)


def check_workspace_path(path) -> Path:
    """The workspace folder to use, refused on one line when it is a file or lies inside another workspace (whose
    cache trimming, imports and exports would reach into it)."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: the workspace must be a directory")
    outer = enclosing_workspace(root)
    if outer is not None:
        raise ValueError(
            f"{root}: this folder is inside the workspace {outer}; a workspace cannot hold another (choose a "
            "folder outside it)"
        )
    return root


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (any driver, query or `file:` URI form), None for another database or memory."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - the store's own open says what is wrong with the URL
        return None
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    name = u.database.removeprefix("file:").split("?", 1)[0]
    return None if not name or name == ":memory:" or "mode=memory" in str(u) else Path(name)


def private_database(path: Path) -> None:
    """The SQLite database (and its WAL and shared-memory files) readable by no one outside the owner and the
    group: it holds password hashes and the key that signs sessions, and any local account that could read it
    could sign in as anyone (the process umask made it 644). A new one is made 0660 less the umask's group bits;
    an existing one of ours loses its bits for others."""
    import stat

    if os.name != "posix":  # Windows: the folder's ACL decides
        return
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o660))
        except OSError:
            return  # the store's own open says what is wrong with the folder
    for part in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        try:
            mode = part.stat().st_mode
            if mode & 0o007 and part.stat().st_uid == os.getuid():
                os.chmod(part, stat.S_IMODE(mode) & ~0o007)
        except OSError:
            continue


class Workspace:
    """Paths and the store of one workspace; create with `Workspace.open(settings)`."""

    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.root = Path(settings.workspace).resolve()
        self.store = store

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        """Open (creating if needed) the workspace; runs of this machine whose process died are marked failed
        (interrupted) here, so every entry point (CLI, dashboard, workers) sees dead runs as such."""
        root = check_workspace_path(settings.workspace)
        try:
            root.mkdir(parents=True, exist_ok=True)
            for sub in WORKSPACE_FOLDERS:
                (root / sub).mkdir(exist_ok=True)
            (root / MARK).touch(exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):  # an archive, a colleague's folder
                raise ValueError(
                    f"workspace {root}: not writable ({exc.strerror}); scatterloop writes to a workspace it opens "
                    "(runs, caches), so copy it to a folder you can write to"
                ) from None
            raise
        db_file = sqlite_file(settings.db_url)
        if db_file is not None:
            private_database(db_file)
        store = Store(settings.db_url)
        store.reap_interrupted()
        return cls(settings, store)

    @property
    def originals(self) -> Path:
        return self.root / "originals"

    @property
    def thumbs(self) -> Path:
        return self.root / "thumbs"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def run_dir(self, run_id: int) -> Path:
        path = self.root / "runs" / str(run_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def check_output(self, out: str | Path, flag: str = "--out") -> Path:
        """`out` (a file or folder a command writes: a report, an export) resolved, if it does not lie inside
        this workspace, or lies inside its `exports/` folder, or is a new name at its top (`report.html` written
        from inside the workspace): a report written over `scatterloop.db`, or an export into `originals/`,
        would destroy what the workspace holds.

        Raises:
            ValueError: one line naming `flag`.
        """
        path = Path(out).expanduser().resolve()
        root = self.root.resolve()
        if path.is_relative_to(root) and not path.is_relative_to(root / "exports") and not self._own_top(path):
            raise ValueError(
                f"{flag}: {out} is inside the workspace {root}, whose files it could overwrite; "
                f"write under {root / 'exports'} or outside the workspace"
            )
        return path

    def _own_top(self, path: Path) -> bool:
        """Whether `path` is a name at the workspace's top that the workspace does not use: not one of its
        folders, not a database (SQLite's own files included) and not any other SQLite file."""
        from .viewer import CALIBRATION_FOLDER

        if path.parent != self.root.resolve() or path.name in {*WORKSPACE_FOLDERS, CALIBRATION_FOLDER}:
            return False
        if path.name.startswith("scatterloop") or path.name.endswith((*SQLITE_SIDE_FILES, ".db")):
            return False
        if path.is_dir() or not path.exists():
            return True
        return not is_sqlite(path)

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root).as_posix()

    def thumb_path(self, sha256: str) -> Path:
        return self.thumbs / f"{sha256}.png"

    def load_frame(self, image: Image) -> Frame:
        """The stored original of an image, read back losslessly.

        Raises:
            FileNotFoundError: naming the path and this process's workspace root (a worker that does not see
                the server's workspace directory fails here).
        """
        path = self.root / image.path
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no such file under the workspace root {self.root} (image {image.id}); servers and "
                "workers must see the same workspace directory"
            )
        return read_frame(path, index=image.frame, dataset=image.dataset)

    def ensure_thumbnail(self, image: Image) -> Path:
        """The thumbnail file of an image, made from the stored original if it is missing."""
        path = self.thumb_path(image.sha256)
        if not path.exists():
            frame = self.load_frame(image)
            path.write_bytes(
                thumbnail_png(
                    frame.data, frame.mask, self.settings.thumb_size, log=not frame.meta.get("display_image")
                )
            )
        return path
