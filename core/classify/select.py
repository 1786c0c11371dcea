"""Which images a prediction scores: any the user names, experimental frames included.

A selection is an AND of simple filters (source, pattern, candidate round, explicit ids, the folder the files
were imported from), so the CLI and the dashboard can say "the experimental rings of round 2" or "what I
imported from /data/beamtime-7". The folder is matched against each image's recorded original path
(`Image.original_name`, absolute at import time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..store import SOURCES, ImageFilter, Store


@dataclass(frozen=True)
class ImageSelection:
    source: str | None = None
    pattern: str | None = None
    round: int | None = None
    ids: tuple[int, ...] | None = None
    folder: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.source, self.pattern, self.round, self.ids, self.folder))

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v is not None and k != "ids"]
        if self.ids is not None:
            parts.append(f"ids={','.join(map(str, self.ids))}")
        return " ".join(parts) or "all images"


def parse_selection(images: list[str] | None = None, **named) -> ImageSelection:
    """`KEY=VALUE` items (`source=experimental`, `pattern=rings`, `round=2`, `ids=1,2,3`, `folder=PATH`) and
    keyword values (None ignored) as one selection; a key given twice must agree."""
    fields: dict = {}

    def put(key: str, value) -> None:
        if value is None:
            return
        if key not in ImageSelection.__dataclass_fields__:
            raise ValueError(f"--images: unknown key {key!r}; expected source, pattern, round, ids or folder")
        if key == "round":
            value = _int(value, "round")
        elif key == "ids":
            value = (
                tuple(_int(v, "ids") for v in str(value).split(",") if v.strip())
                if isinstance(value, str)
                else (tuple(int(v) for v in value))
            )
        elif key == "source" and value not in SOURCES:
            raise ValueError(f"--images source: expected one of {', '.join(SOURCES)}, got {value!r}")
        if key in fields and fields[key] != value:
            raise ValueError(f"--images: {key} given twice ({fields[key]!r} and {value!r})")
        fields[key] = value

    for item in images or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--images: expected KEY=VALUE (e.g. source=experimental), got {item!r}")
        put(key.strip(), value.strip())
    for key, value in named.items():
        put(key, value)
    return ImageSelection(**fields)


def _int(value, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"--images {what}: expected a whole number, got {str(value)[:40]!r}") from None
    if not 0 <= number < 2**63:  # a database integer; a round or an id is never negative
        raise ValueError(f"--images {what}: {str(value)[:40]} is out of range (0 to 2**63 - 1)")
    return number


def select_images(store: Store, sel: ImageSelection) -> list[int]:
    """Ids of the images matching every filter of `sel`, in id order; a named id not in the store is an error."""
    rows = [img for img, _ in store.list_images(ImageFilter(source=sel.source, pattern=sel.pattern, round=sel.round))]
    if sel.ids is not None:
        wanted = set(sel.ids)
        missing = sorted(wanted - {img.id for img, _ in store.list_images()})
        if missing:
            raise ValueError(f"--ids: no image {', '.join(map(str, missing))} in this workspace")
        rows = [img for img in rows if img.id in wanted]
    if sel.folder is not None:
        roots = {os.path.abspath(sel.folder), str(Path(sel.folder).resolve())}
        rows = [img for img in rows if any(_under(img.original_name, r) for r in roots)]
    return [img.id for img in rows]


def _under(path: str | None, root: str) -> bool:
    if not path:
        return False
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
