"""What an import reads: files under folders, manifests (`metadata.jsonl`, CSV) and the rows describing them.

Nothing here can stop an import: a manifest's bad line or row is one problem `manifest:line: reason` and is
skipped; a symlink or a manifest path that leaves the folder being imported is refused by name unless the
user asked for it (`follow_outside`). Every name shown is the path the user gave or the folder walk found,
never a symlink's target, and always on one line.
"""

from __future__ import annotations

import csv
import errno
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .io import is_image_file
from .io_safety import not_a_file, one_line, os_reason

MANIFEST_NAMES = ("metadata.jsonl", "metadata.csv")
NAME_FIELDS = ("file_name", "file", "path")
WORKSPACE_STORES = ("originals", "thumbs", "cache")  # `Workspace.originals`, `.thumbs`, `.cache`
OUTSIDE = "is outside the folder being imported: refused (pass --follow-outside to import it)"


@dataclass
class Candidate:
    """A file to import: where to open it, the name to show, and the folder it may draw on (None: anywhere)."""

    path: Path
    shown: str
    root: Path | None


@dataclass
class Sources:
    files: list[Candidate] = field(default_factory=list)
    meta: dict[str, dict] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (name shown, reason)
    rows_at: dict[str, tuple[str, str]] = field(default_factory=dict)  # path key: ("manifest:line", name given)


def path_key(path: Path) -> str:
    return os.path.normpath(os.path.abspath(path))


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop or an unencodable name
        return False


def read_manifest(
    path: Path, follow_outside: bool = False, rows_at: dict[str, tuple[str, str]] | None = None
) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """Rows of a `metadata.jsonl` or CSV keyed by the absolute path they describe, and the rows refused.

    A line that is not a JSON object, a row without `file_name`, or a path leaving the manifest's folder is
    reported as (`manifest:line`, reason) and skipped; the other rows stand. `rows_at`: filled with where each
    row stood and the name it gave, for naming a row whose file does not exist.
    """
    rows_at = {} if rows_at is None else rows_at
    rows: dict[str, dict] = {}
    problems: list[tuple[str, str]] = []
    shown = one_line(path)
    if (why := not_a_file(path)) is not None:  # a named pipe would block the import, /dev/zero fill the memory
        return rows, [(shown, f"cannot read manifest ({why})")]
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        return rows, [(shown, "manifest is not UTF-8 text")]
    except OSError as exc:
        return rows, [(shown, f"cannot read manifest ({os_reason(exc)})")]
    if path.suffix.lower() == ".jsonl":
        numbered: Iterable[tuple[int, object]] = _json_rows(text, shown, problems)
    else:
        reader = csv.DictReader(text.splitlines())
        try:
            header = reader.fieldnames
        except csv.Error as exc:  # an unclosed quote in the header line itself
            return rows, [(f"{shown}:1", f"not readable as CSV ({one_line(str(exc))}): manifest skipped")]
        if not set(header or ()) & set(NAME_FIELDS):
            return rows, [(f"{shown}:1", "no 'file_name' column: manifest skipped")]
        numbered = ((no, {k: v for k, v in r.items() if k and v not in (None, "")}) for no, r in enumerate(reader, 2))
    no = 1
    try:
        for no, row in numbered:
            reason = _add_row(rows, row, path, follow_outside)
            if reason:
                problems.append((f"{shown}:{no}", reason))
            else:
                name = next(str(row[k]) for k in NAME_FIELDS if row.get(k))
                rows_at[path_key(path.parent / name)] = (f"{shown}:{no}", name)  # a repeated row: its last line
    except csv.Error as exc:  # an unclosed quote swallows the rest of the file into one field
        problems.append((f"{shown}:{no + 1}", f"not readable as CSV ({one_line(str(exc))}): rest skipped"))
    return rows, problems


def _json_rows(text: str, shown: str, problems: list) -> Iterable[tuple[int, object]]:
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield no, json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((f"{shown}:{no}", f"not a JSON line ({exc.msg})"))
        except RecursionError:
            problems.append((f"{shown}:{no}", "not a JSON line (nested too deeply)"))


def _add_row(rows: dict, row: object, path: Path, follow_outside: bool) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    name = next((row[k] for k in NAME_FIELDS if row.get(k)), None)
    if not name:
        return "missing field 'file_name'"
    if not isinstance(name, str) or "\0" in name:
        return f"file_name {one_line(repr(name))} is not a file name"
    target = path.parent / name
    if not follow_outside and not _inside(target, path.parent):
        return f"path {one_line(name)!r} {OUTSIDE}"
    rows[path_key(target)] = row
    return None


def _walk(root: Path, follow_outside: bool, out: Sources, skip: frozenset[Path] = frozenset()) -> list[Path]:
    """Image files under `root` (sorted), refusing symlinks that lead outside it and never entering the folders
    in `skip` (the workspace: its thumbnails and originals are not new images); returns manifests found."""
    manifests, found = [], []
    real_root = root.resolve()
    stack, seen = [root], {real_root, *skip}
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            out.problems.append((one_line(folder), f"cannot list folder ({os_reason(exc)})"))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                link, is_dir = True, False
            if link:
                try:
                    real = path.resolve(strict=True)
                except (OSError, RuntimeError) as exc:
                    if is_image_file(path):
                        loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
                        out.problems.append((one_line(path), "symlink loop" if loop else "broken symlink"))
                    continue
                inside = real.is_relative_to(real_root)
                if not inside and not follow_outside:
                    if is_dir or is_image_file(path) or path.name in MANIFEST_NAMES:
                        out.problems.append(
                            (one_line(path), f"symlink to {'a folder' if is_dir else 'a file'} {OUTSIDE}")
                        )
                    continue
                if is_dir:
                    if not inside and real not in seen:  # a folder inside is walked anyway
                        seen.add(real)
                        stack.append(path)
                    continue
            elif is_dir:
                real = path.resolve()
                if real not in seen:
                    seen.add(real)
                    stack.append(path)
                continue
            if path.name in MANIFEST_NAMES:
                manifests.append(path)
            elif is_image_file(path):  # a named pipe or device too: the import names what it is, never opens it
                found.append(path)
    limit = None if follow_outside else real_root
    out.files.extend(Candidate(p, one_line(p), limit) for p in sorted(found, key=_order))
    return sorted(manifests)


def _order(path: Path) -> tuple:
    """The paths' own order, except that a detector master file (`<scan>_master.h5`) comes before the data files
    it links to (`<scan>_data_000001.h5`): imported first, its stored copy keeps what only the master says (pixel
    mask, saturation, beam centre), and the data files' frames are then the duplicates, not the master's."""
    stem = path.stem
    if stem.lower().endswith("_master"):
        return (*path.parts[:-1], stem[: -len("_master")] + "_\x00" + path.suffix)
    return path.parts


def expand(
    paths: Iterable[str | Path],
    metadata: str | Path | None = None,
    follow_outside: bool = False,
    workspace: Path | None = None,
) -> Sources:
    """The files to import, the manifest rows that describe them, and every input refused on the way.

    A folder contributes its image files (recursively) and any `metadata.jsonl`/`metadata.csv` in it; a
    manifest given as a path contributes the files it lists; any other path is a file the user named. The
    `workspace` folder is never walked: inside a folder being imported it is passed over, named itself (or a
    folder or file in its own stores: originals, thumbnails, caches) it is refused.
    """
    out = Sources()
    skip = frozenset({workspace.resolve()}) if workspace is not None else frozenset()
    # what the workspace keeps of images already stored (a run's own outputs, generated frames, do get imported)
    stores = [workspace / sub for sub in WORKSPACE_STORES] if workspace is not None else []

    def manifest(path: Path) -> dict[str, dict]:
        rows, problems = read_manifest(path, follow_outside, out.rows_at)
        out.meta.update(rows)
        out.problems.extend(problems)
        return rows

    if metadata:
        manifest(Path(metadata))
    for raw in paths:
        p = Path(raw)
        if "\0" in str(raw):
            out.problems.append((one_line(raw), "not a valid path (contains a NUL character)"))
        elif p.is_dir() and p.resolve() in skip:
            out.problems.append((one_line(raw), "is the workspace itself: its files are not imported again"))
        elif any(_inside(p, w) for w in stores):  # its thumbnails, originals and caches are no new images
            out.problems.append((one_line(raw), "is inside the workspace's own stores: not imported again"))
        elif p.is_dir():
            before = len(out.files) + len(out.problems)
            for found in _walk(p, follow_outside, out, skip):
                manifest(found)
            if len(out.files) + len(out.problems) == before:  # named, yet nothing in it to import: say so
                out.problems.append((one_line(raw), "a folder with no image files or manifest in it"))
        elif p.name in MANIFEST_NAMES or (p.suffix.lower() in (".jsonl", ".csv") and p.is_file()):
            root = None if follow_outside else p.parent.resolve()
            # a row naming no file is said by its line below, with a near name where there is one
            out.files.extend(Candidate(Path(k), one_line(k), root) for k in manifest(p) if os.path.lexists(k))
        else:
            out.files.append(Candidate(p, one_line(p), None if follow_outside else p.parent.resolve()))
    unique: dict[str, Candidate] = {}
    for c in out.files:
        try:
            key = str(c.path.resolve()) if c.path.exists() else path_key(c.path)
        except (OSError, RuntimeError, ValueError):
            key = path_key(c.path)
        unique.setdefault(key, c)
    out.files = list(unique.values())
    listed = {path_key(c.path) for c in out.files} | {file_key(c.path) for c in out.files}  # an alias lists its file
    for key, (at, name) in out.rows_at.items():  # a row whose file is not imported: its label must not vanish unseen
        if key in listed or file_key(Path(key)) in listed:
            continue
        if not os.path.lexists(key):
            out.problems.append((at, f"names {one_line(name)!r}: no such file{_case_hint(Path(key))}"))
        elif os.path.isdir(key) or not is_image_file(Path(key)):  # an existing image not named is left, unsaid
            out.problems.append((at, f"names {one_line(name)!r}: not an image file an import reads"))
    return out


def file_key(path: Path) -> str:
    """The file a path leads to: a manifest row naming `real.tif` describes the alias (`alias.tif -> real.tif`)
    that a folder walk kept of the two."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path_key(path)


def _case_hint(path: Path) -> str:
    """Where a row's name differs from a file's only in case: that file's name (names are case-sensitive)."""
    try:
        near = [e.name for e in os.scandir(path.parent) if e.name.lower() == path.name.lower()]
    except OSError:
        return ""
    return f" (there is {one_line(near[0])!r}: file names are case-sensitive)" if near else ""


def linking_first(files: list[Candidate], should_stop=None) -> list[Candidate]:
    """The candidates in their order, except that an HDF5 file linking to another one of them (a detector master
    and its data files, named in any order: a shell glob puts `scan_data_000001.h5` before `scan_master.h5`)
    comes first: imported first, its stored copy keeps what only it says (pixel mask, saturation, beam centre), and
    the linked files' frames are then its duplicates, not frames stored without that metadata."""
    from .io import HDF5_SUFFIXES, suffix_of

    hdf5 = {path_key(c.path): c for c in files if suffix_of(c.path) in HDF5_SUFFIXES}
    if len(hdf5) < 2:
        return files
    linking = set()
    for key, c in hdf5.items():  # about 3 ms a file: `should_stop` is asked at each
        if should_stop is not None and should_stop():
            break
        if set(_link_targets(c.path)) & (hdf5.keys() - {key}):
            linking.add(key)
    return sorted(files, key=lambda c: path_key(c.path) not in linking)  # stable: the rest keep their order


def _link_targets(path: Path) -> list[str]:
    """The files an HDF5 file's external links and virtual datasets name (absolute, relative to it); [] for a
    file that cannot be read (the import names why)."""
    if not_a_file(path) is not None:  # a named pipe would block the import here; reading it later says what it is
        return []
    try:
        import h5py

        targets: list[str] = []
        with h5py.File(path, "r") as f:

            def visit(name, link):
                if isinstance(link, h5py.ExternalLink):
                    targets.append(link.filename)
                elif isinstance(link, h5py.HardLink):
                    obj = f.get(name)
                    if isinstance(obj, h5py.Dataset) and obj.is_virtual:
                        targets.extend(src.file_name for src in obj.virtual_sources())

            f.visititems_links(visit)
        return [path_key(path.parent / t) for t in targets if t and t != "."]
    except Exception:  # noqa: BLE001 - any unreadable file keeps its place; reading it later says why
        return []
