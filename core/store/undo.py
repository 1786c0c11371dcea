"""Undo of a person's last labelling action: events appended, never removed (part of `Store`)."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from .models import LabelEvent, utcnow

CHUNK = 5000  # ids per statement: under every database's bound-parameter limit
PRELABEL = "pre-label"
ANNOTATOR_MAX = 128  # the label event's column (PostgreSQL refuses a longer one; SQLite would keep it)
PERSON_MAX = 100  # a person's name: the column keeps room for the pre-labels they accept, "NAME (pre-label ≥ 0.95)"


def check_annotator(annotator: str | None) -> None:
    """A label's annotator as the column holds it: a name, or the name pre-labels a person accepted are stored
    under. New names (the name box, `users add`) are held to `PERSON_MAX` characters, so whoever can label can
    also accept pre-labels; a longer one (up to the column's 128, a user stored before that rule) still labels,
    and is told why it cannot accept pre-labels."""
    if not annotator or not annotator.strip():
        raise ValueError("annotator: a name is required for every label")
    name = annotator.strip()
    person = name.split(f" ({PRELABEL} ≥ ", 1)[0]
    if len(person) > ANNOTATOR_MAX:  # new names are held to PERSON_MAX where they are typed (box, `users add`)
        raise ValueError(f"annotator: a name of at most {PERSON_MAX} characters, got {len(person)}")
    if len(name) > ANNOTATOR_MAX:
        raise ValueError(
            f"annotator: a name of {len(person)} characters leaves no room for a pre-label's threshold (names of "
            f"at most {PERSON_MAX} characters do)"
        )


def prelabel_annotator(annotator: str, threshold: float) -> str:
    """The name pre-labels accepted by `annotator` are stored under: theirs, with the threshold that took them."""
    return f"{annotator.strip()} ({PRELABEL} ≥ {threshold:g})"


def by(annotator: str):
    """WHERE: events of `annotator`'s own acts, their labels and the pre-labels they accepted (one Undo each);
    compared exactly (SQLite's LIKE ignores case: "Ann" would undo what "ann" accepted)."""
    prefix = f"{annotator} ({PRELABEL} ≥ "
    return or_(LabelEvent.annotator == annotator, func.substr(LabelEvent.annotator, 1, len(prefix)) == prefix)


def superseded():
    """EXISTS: a later human label of the same image, not itself undone, overrides the event."""
    undone = select(LabelEvent.undoes).where(LabelEvent.undoes.is_not(None))
    later = aliased(LabelEvent)
    return (
        select(later.id)
        .where(
            later.image_id == LabelEvent.image_id,
            later.id > LabelEvent.id,
            later.origin == "human",
            later.undoes.is_(None),
            later.action_id.not_in(undone),
        )
        .exists()
    )


def previous_labels(s: Session, events: list[tuple[int, int]]) -> dict[int, str | None]:
    """Image id → its human label just before each (event id, image id) of one action, in a few statements
    (one per `CHUNK` images, not one per image: a 40k-image undo holds the write lock for seconds, not minutes)."""
    out: dict[int, str | None] = {}
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        ev = aliased(LabelEvent)
        prior = (
            select(ev.image_id, func.max(LabelEvent.id))
            .join(LabelEvent, and_(LabelEvent.image_id == ev.image_id, LabelEvent.id < ev.id))
            .where(ev.id.in_([e for e, _ in chunk]), LabelEvent.origin == "human")
            .group_by(ev.image_id)
        )
        latest = dict(s.execute(prior).all())
        found = select(LabelEvent.id, LabelEvent.label).where(LabelEvent.id.in_(list(latest.values())))
        labels = dict(s.execute(found).all())
        out.update({image: labels[eid] for image, eid in latest.items()})
    return out


def undo_rows(s: Session, action: str, annotator: str, round_no: int | None) -> list[dict]:
    """The events that revert `action`'s labels still in effect, dated now and in the current round `round_no`
    (None: a workspace without rounds, the event's own): an undo is a new act, so a closed round's labels
    (`labels_as_of`, `export --round`) stay what that round trained on."""
    live = s.execute(
        select(LabelEvent.id, LabelEvent.image_id, LabelEvent.round).where(
            LabelEvent.action_id == action, ~superseded()
        )
    ).all()
    before = previous_labels(s, [(r.id, r.image_id) for r in live])
    now = utcnow()
    return [
        dict(
            image_id=r.image_id,
            label=before.get(r.image_id),
            annotator=annotator,
            origin="human",
            confidence=None,
            round=r.round if round_no is None else round_no,
            action_id=str(uuid.uuid4()),
            undoes=action,
            created_at=now,
            domain=None,
        )
        for r in live
    ]
