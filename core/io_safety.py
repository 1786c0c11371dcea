"""Guards the readers share: sizes checked before pixels are allocated, one-line reasons, no library internals.

Hostile or broken files must fail with a sentence a user can act on. Libraries fail in their own words
(`AssertionError: `, `'NoneType' object has no attribute 'find'`, multi-line HDF5 traces) or, worse, not at
all (fabio zero-fills a truncated EDF and only logs it). These helpers turn both into an `ImageReadError`.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


class ImageReadError(ValueError):
    """A file (or one frame of it) that cannot be used; `str()` is the one-line reason."""


class ExternalDataError(ImageReadError):
    """An HDF5 dataset whose values live in another file (external link, virtual dataset, raw external
    storage). The import materialises it into a self-contained original or refuses it by name."""


def not_a_file(path) -> str | None:
    """Why `path` cannot be read as a file, in words ("no such file", "not a regular file (a named pipe)"), or
    None for a regular file. Checked before opening: opening a named pipe blocks until something writes to it."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot be read ({os_reason(exc)})"
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))  # fmt: skip
    return "not a regular file" + next((f" ({name})" for test, name in kinds if test(mode)), "")


def os_reason(exc: OSError) -> str:
    """An OSError in words: the system's reason, else the message (h5py raises OSError with only a message),
    else the error's type."""
    return exc.strerror or str(exc) or type(exc).__name__


def one_line(text: object) -> str:
    """Text safe to print as one line: newlines, tabs, other control characters and undecodable bytes
    (surrogate escapes of non-UTF-8 file names) are written as escapes, so a name can never split an error."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def check_pixels(shape, max_pixels: int, what: str = "frame") -> None:
    """Refuse a frame larger than `max_pixels` from its declared shape, before any pixel is read."""
    dims = [int(v) for v in shape]
    if any(v < 0 for v in dims):
        raise ImageReadError(f"{what} shape {tuple(dims)} is not valid")
    if len(dims) >= 2 and dims[-1] * dims[-2] > max_pixels:
        raise ImageReadError(f"{dims[-2]}x{dims[-1]} {what} exceeds the size limit of {max_pixels} pixels")


# Exceptions whose message says what went wrong in the file; anything else is a reader bug or an assertion
# deep inside a library, and its message would mean nothing to a user.
_MEANINGFUL = (OSError, ValueError, EOFError, zlib.error, struct.error, UnicodeDecodeError, zipfile.BadZipFile)


def translate(exc: BaseException, fmt: str) -> ImageReadError:
    """A library exception as a reason: its first line when it is a file-level error, else a plain sentence."""
    if isinstance(exc, ImageReadError):
        return exc
    if isinstance(exc, MemoryError):
        return ImageReadError(f"{fmt} file needs more memory than is available to read")
    if isinstance(exc, UnicodeDecodeError):  # a text header (Bruker, ADSC, MarCCD's) that holds binary bytes
        byte = exc.object[exc.start] if exc.start < len(exc.object) else 0
        return ImageReadError(f"cannot read as {fmt}: its header is not text (byte 0x{byte:02x} at {exc.start})")
    if isinstance(exc, struct.error) and (short := re.search(r"requires a buffer of (\d+) bytes", str(exc))):
        return ImageReadError(f"cannot read as {fmt}: the file is cut short inside a {short.group(1)}-byte block")
    if isinstance(exc, _MEANINGFUL):
        text = _message(exc).strip().splitlines()[0] if _message(exc).strip() else ""
        if text and "object has no attribute" not in text:
            # a library quoting the file's bytes (PIL: "unknown subformat of pnm: b'root:x:0:0...'") would copy
            # what a file that is no image holds into the error, the run record and the Jobs view
            text = re.sub(r"""\bb(['"]).*?(?<!\\)\1""", "(its first bytes)", text)
            return ImageReadError(f"cannot read as {fmt}: {one_line(text)}")
    log.debug("reader failed inside the library", exc_info=exc)
    return ImageReadError(f"corrupt or unsupported {fmt} file (the reader could not parse it)")


def _message(exc: BaseException) -> str:
    """The exception's text; an OSError raised as `OSError("... %s", value)` (fabio does) reads as
    "[Errno ... %s] value" unless the value is put back where the message asks for it."""
    args = exc.args
    if isinstance(exc, OSError) and len(args) == 2 and isinstance(args[0], str) and "%s" in args[0]:
        try:
            return args[0] % (args[1],)
        except (TypeError, ValueError):
            pass
    return str(exc)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def reader_complaints(name: str = "fabio") -> Iterator[list[str]]:
    """Collect what a reader library (fabio, or `name`) logs at warning level or above while reading.

    fabio reports a short data stream ("Data stream is incomplete") and a bad checksum only in its log and
    then pads with zeros, and tifffile a chain of pages broken off ("invalid page offset") before it reads the
    pages it found; the caller turns such a message into a rejection instead of importing zeros or fewer frames.
    """
    handler = _Collect()
    logger = logging.getLogger(name)
    level, propagate = logger.level, logger.propagate
    if logger.getEffectiveLevel() > logging.WARNING:  # silenced by the application (the CLI without -v):
        logger.propagate = False  # still collected here, still not printed
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def raise_on_fabio_complaint(messages: list[str], fmt: str) -> None:
    """Turn fabio's logged data errors into a rejection (it would otherwise import zero-filled pixels)."""
    for text in messages:
        low = text.lower()
        if "incomplete" in low or "truncated" in low:
            raise ImageReadError(f"truncated {fmt}: {one_line(text)}")
        if "checksum" in low or "mismatch" in low:
            raise ImageReadError(f"corrupt {fmt}: {one_line(text)}")


READER_LOGGERS = ("scatterloop.core.io_hdf5", "scatterloop.core.io_hdf5_copy", "scatterloop.core.io_hdf5_meta")


@contextmanager
def file_warnings(shown: str, source: Path, temps: Path) -> Iterator[list[str]]:
    """What the product's readers warn of while one file is imported (a series read up to a missing part, a scan
    left out), collected instead of printed: each once, naming the file as the person gave it (never the
    workspace's temporary copy under `temps`, read after the source), for the import's JSON and its one log line."""
    import threading

    said: list[str] = []
    thread = threading.get_ident()  # imports in other threads (the Python API) collect their own files' warnings
    names = {source.name, Path(shown).name}
    forms = {str(source), os.path.abspath(source)}
    try:
        forms.add(str(source.resolve()))
    except (OSError, RuntimeError):  # a symlink loop: the import names it on its own
        pass
    forms = sorted(forms, key=len, reverse=True)
    temp = re.compile(re.escape(str(temps)) + r"[^\s:;,]*")  # a folder, or a prefix of temporary folders

    def keep(record: logging.LogRecord) -> bool:
        if record.thread != thread:
            return True  # another import's (or a view's): left to its own collector, or to the log
        text = temp.sub(shown, one_line(record.getMessage()))
        for form in forms:
            text = text.replace(form, shown)
        head, sep, rest = text.partition(": ")
        if sep and (head == shown or head in names):
            text = rest
        if (line := f"{shown}: {text}") not in said:
            said.append(line)
        return False  # said by the import, once

    from .io_hdf5_meta import forget_said

    forget_said()  # each import says what its files' masks are, even where a former import said it already
    loggers = [logging.getLogger(name) for name in READER_LOGGERS]
    for logger in loggers:
        logger.addFilter(keep)
    try:
        yield said
    finally:
        for logger in loggers:
            logger.removeFilter(keep)
