"""Label tab: filter and sort the grid by the ensemble's predicted pattern and its confidence.

The calls are those the cards show (`shown_calls`): the latest pattern-task round's where there is one, else the
realism call; the grid's own filters (source, pattern, label, round) still apply first. Without a prediction
filter or sort the grid pages in the database, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from scatterloop.core.store import ImageFilter

from .services import Services


@dataclass(frozen=True)
class PredictionView:
    predicted: str | None = None  # only images the ensemble suggests this pattern for
    low: float = 0.0  # confidence range, inclusive
    high: float = 1.0
    sort: str = "id"

    @property
    def active(self) -> bool:
        return self.predicted is not None or self.low > 0.0 or self.high < 1.0 or self.sort != "id"


def make_view(predicted, confidence, sort) -> PredictionView:
    low, high = (confidence or (0.0, 1.0))[:2]
    return PredictionView(predicted or None, float(low), float(high), sort or "id")


def predicted_options(services: Services) -> list[dict]:
    from scatterloop.core.classify.predict import pattern_suggestions

    classes, _ = pattern_suggestions(services.store)
    return [{"label": f"predicted: {c}", "value": c} for c in classes]


def shown_calls(store, image_ids: list[int] | None, pattern: bool) -> tuple[dict, dict]:
    """(image id → suggestion, image id → domain ratio) as a card shows them (of `image_ids`, None: of every image):
    the call of a labelling task (that of the latest such round where an image has calls of both: realism, or the
    labels task's disk counts), or under a pattern view the pattern call where there is one; the ratio is the
    call's."""
    from scatterloop.core.classify.predict import label_task, task_domains, task_suggestions

    first = label_task(store)
    second = "labels" if first == "realism" else "realism"
    sugg = {
        **task_suggestions(store, second, image_ids=image_ids)[1],
        **task_suggestions(store, first, image_ids=image_ids)[1],
    }
    far = {**task_domains(store, second, image_ids), **task_domains(store, first, image_ids)}
    if pattern:
        pat = task_suggestions(store, "pattern", image_ids=image_ids)[1]
        far = {i: r for i, r in far.items() if i not in pat} | task_domains(store, "pattern", image_ids)
        sugg = {**sugg, **pat}
    return sugg, far


def ordered_ids(services: Services, flt: ImageFilter, view: PredictionView) -> list[int] | None:
    """Ids the grid shows in order when a prediction filter or sort is set; None when neither is (the grid then
    pages in the database). Images without a suggestion drop out under a filter and sort last otherwise."""
    if not view.active:
        return None
    # the calls the cards show: the pattern call where a pattern round made one, else the realism call (a
    # workspace with realism rounds only sorts and filters by those, as its cards read "model: fake 0.77")
    sugg, far = shown_calls(services.store, None, True)  # not by id: a grid may list 100,000 images
    ids = [img.id for img, _ in services.store.list_images(flt)]
    if view.predicted is not None or view.low > 0.0 or view.high < 1.0:
        ids = [
            i
            for i in ids
            if i in sugg
            and (view.predicted is None or sugg[i][0] == view.predicted)
            and view.low <= (sugg[i][1] or 0.0) <= view.high
        ]
    missing = 2.0  # no suggestion: after every confidence, whichever the direction
    if view.sort == "confidence-asc":
        ids.sort(key=lambda i: (sugg[i][1] if i in sugg else missing, i))
    elif view.sort == "confidence-desc":
        ids.sort(key=lambda i: (-(sugg[i][1] if i in sugg else -missing), i))
    elif view.sort == "predicted":
        ids.sort(key=lambda i: (sugg[i][0] if i in sugg else "\uffff", -(sugg.get(i, (None, 0))[1] or 0), i))
    elif view.sort == "domain-desc":  # the calls shown made farthest from the models' training frames first
        ids.sort(key=lambda i: (-far.get(i, -1.0), i))
    return ids
