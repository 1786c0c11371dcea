"""The checks a label request passes before anything is written: the browser sends the label and the image
ids, and either may be anything (a stale page, a hand-made request). Labels come only from the workspace's
label set and only name images that exist, so the store never holds a value nobody configured."""

from __future__ import annotations

from collections.abc import Sequence

from .store import Store


def image_ids(values: Sequence | None) -> list[int]:
    """Ids from the browser as ints, in order, without repeats.

    Raises:
        ValueError: a value that is not a whole number.
    """
    out: list[int] = []
    for value in values or []:
        text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        # ASCII digits only ("٣" is no id), and within the database's 64-bit integers
        if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) >= 2**63:
            raise ValueError(f"image id {str(value)[:40]!r}: not an image number")
        out.append(int(text))
    return list(dict.fromkeys(out))


def check_label_request(store: Store, label_set: Sequence[str], label: object, ids: Sequence | None) -> list[int]:
    """The image ids to label with `label`, once both are known to be valid.

    Raises:
        ValueError: one line naming the problem: a label outside the label set, a malformed id, or ids of
            images this workspace does not hold.
    """
    if not isinstance(label, str) or label not in label_set:
        raise ValueError(f"label {str(label)[:40]!r} is not one of this workspace's labels ({', '.join(label_set)})")
    wanted = image_ids(ids)
    found = {img.id for img in store.get_images(wanted)}
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(f"#{i}" for i in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ValueError(f"no such image in this workspace: {shown}")
    return wanted


def label_images(
    store: Store, label_set: Sequence[str], label: object, ids: Sequence | None, annotator: str
) -> tuple[list[int], int]:
    """Check the request (`check_label_request`), then write one human label event per image in the current
    round; returns (the ids labelled, the round). The dashboard's Label tab and the Python API both call this.

    Raises:
        ValueError: one line naming the problem; nothing is written then.
    """
    who = str(annotator or "").strip()
    if not who:
        raise ValueError("annotator: say who labels (a name)")
    targets = check_label_request(store, label_set, label, ids)
    round_no = store.current_round()
    store.add_labels(targets, str(label), annotator=who, origin="human", round=round_no)
    return targets, round_no
