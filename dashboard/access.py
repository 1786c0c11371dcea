"""What a callback request asks to do, and whether the signed-in person may (login on).

Every Dash callback arrives as one POST to `/_dash-update-component` naming the properties that changed. The
buttons that write (label, undo, start or cancel a job, write a report) are listed here; a viewer's request
triggered by one of them is answered with a message instead of running. A test keeps every button id of
`dashboard.ids` in exactly one of the sets below, so a new button cannot slip through unclassified.

The same request's annotator field is replaced by the signed-in name, so a label is always attributed to the
person who made it, whatever the browser sent.
"""

from __future__ import annotations

import json

from scatterloop.core.auth import Identity, can_label, can_start_jobs

from . import ids

LABEL_ACTIONS = frozenset(
    {
        ids.LABEL_BUTTON_ALL["type"],
        ids.LABEL_UNDO_BUTTON,
        ids.EXPLORE_BUTTON_ALL["type"],
        ids.EXPLORE_UNDO_BUTTON,
        ids.TRAIN_PRELABEL_BUTTON,
    }
)
JOB_ACTIONS = frozenset(
    {
        ids.EXPLORE_BUILD_BUTTON,
        ids.EXPLORE_RELAYOUT_BUTTON,
        ids.EXPLORE_PLACE_BUTTON,
        ids.EXPLORE_SYMMETRY_BUTTON,
        ids.EXPLORE_CANCEL_BUTTON,
        ids.GEN_TRAIN_BUTTON,
        ids.GEN_RUN_BUTTON,
        ids.GEN_CANCEL_BUTTON,
        ids.GEN_TRAIN_CANCEL_BUTTON,
        ids.TRAIN_RUN_BUTTON,
        ids.TRAIN_CANCEL_BUTTON,
        ids.TRAIN_PREDICT_BUTTON,
        ids.TRAIN_PREDICT_CANCEL_BUTTON,
        ids.EVAL_RUN_BUTTON,
        ids.EVAL_CANCEL_BUTTON,
        ids.EVAL_REPORT_BUTTON,
        ids.JOBS_CANCEL_ALL["type"],  # which runs: decided per run by core.auth.can_cancel
    }
)
READ_ACTIONS = frozenset(  # buttons anybody signed in may press: paging, selection, queues, explanations
    {
        ids.LABEL_PREV_BUTTON,
        ids.LABEL_NEXT_BUTTON,
        ids.LABEL_SELECT_PAGE_BUTTON,
        ids.LABEL_CLEAR_BUTTON,
        ids.LABEL_QUEUE_CLEAR_BUTTON,
        ids.EXPLORE_GALLERY_PREV_BUTTON,
        ids.EXPLORE_GALLERY_NEXT_BUTTON,
        ids.TRAIN_REVIEW_UNCERTAIN_BUTTON,
        ids.TRAIN_REVIEW_DISAGREE_BUTTON,
        ids.TRAIN_REVIEW_DOUBTED_BUTTON,
        ids.TRAIN_EXPLAIN_BUTTON,
        ids.KEYS_BUTTON,
        ids.SEARCH_QUEUE_BUTTON,
        ids.SEARCH_CLOSE_BUTTON,
        ids.COMPARE_NEAREST_BUTTON,
        ids.COMPARE_WITH_BUTTON,
    }
)


def _component(prop_id: str) -> str:
    """The component of a changed property (`'id.prop'`, or `'{"type":...}.prop'` for pattern-matching ids):
    its id, or its `type` for a pattern-matching one."""
    cid = prop_id.rsplit(".", 1)[0]
    if cid.startswith("{"):
        try:
            return str(json.loads(cid).get("type", ""))
        except (ValueError, AttributeError):
            return cid
    return cid


def _entries(items) -> list:
    """A request's `inputs` or `state`, one entry per value (a pattern-matching ALL input is a list of them)."""
    out = []
    for item in items if isinstance(items, list) else []:
        out.extend(item if isinstance(item, list) else [item])
    return out


def _input_components(body: dict, callback_map: dict | None) -> list[tuple[int | None, str]]:
    """(place, component) of what the callback a request asks for listens to: its declared inputs (Dash finds the
    callback by `output` alone and hands it the request's values by place, whatever ids they carry), and the ids
    the request gives (place None)."""
    declared = (callback_map or {}).get(str(body.get("output")), {})
    found: list[tuple[int | None, str]] = [
        (i, _component(f"{d.get('id')}.x")) for i, d in enumerate(declared.get("inputs") or []) if isinstance(d, dict)
    ]
    for entry in _entries(body.get("inputs")):
        cid = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(cid, dict):
            found.append((None, str(cid.get("type", ""))))
        elif cid is not None:
            found.append((None, _component(f"{cid}.x")))
    return found


def _needs(component: str, user: Identity) -> str | None:
    if component in LABEL_ACTIONS and not can_label(user):
        return f"{user.name} ({user.role}) may not label; ask an admin for the annotator role."
    if component in JOB_ACTIONS and not can_start_jobs(user):
        return f"{user.name} ({user.role}) may not start or cancel jobs; ask an admin for the annotator role."
    return None


def refusal(body: dict, user: Identity, callback_map: dict | None = None) -> str | None:
    """Why `user` may not run the callback request `body`, or None when they may.

    Judged by the callback's declared inputs (`callback_map`), not only by what the request says changed or the
    ids it gives: `changedPropIds` and the ids are the browser's word, and a request naming nothing changed, or
    a made-up id in a button's place, still runs the callback, which acts on the value in that place. Every
    callback listening to a writing button listens to writing buttons only, so refusing it costs a viewer
    nothing they could do.
    """
    said = [_component(str(prop)) for prop in body.get("changedPropIds") or []]
    for component in said + [c for _, c in _input_components(body, callback_map)]:
        if (reason := _needs(component, user)) is not None:
            return reason
    return None


def pressed(body: dict, callback_map: dict | None = None) -> bool:
    """Whether a request gives a writing button a click (a truthy value in a writing button's place). A table
    redrawn with a Cancel button in every row makes the browser call its callback with no click at all: a
    viewer's such request is refused without a word, not with a banner at every redraw."""
    items = body.get("inputs") if isinstance(body.get("inputs"), list) else []
    for place, component in _input_components(body, callback_map):
        if component not in LABEL_ACTIONS | JOB_ACTIONS:
            continue
        values = _entries([items[place]]) if place is not None and place < len(items) else _entries(items)
        if any(isinstance(e, dict) and e.get("value") for e in values):
            return True
    return False


def sign_as(body: dict, name: str, callback_map: dict | None = None) -> int:
    """Replace the annotator field's value in a callback request with the signed-in name; returns how many.

    Dash hands a callback its values by position and never checks the ids a request gives them, so the
    field's places come from the callback's own declaration (`callback_map`, keyed by the request's `output`);
    entries that give the field's id are replaced too.
    """
    changed = 0
    declared = (callback_map or {}).get(str(body.get("output")), {})
    for key in ("inputs", "state"):
        items = body.get(key) if isinstance(body.get(key), list) else []
        places = {i for i, d in enumerate(declared.get(key) or []) if d.get("id") == ids.ANNOTATOR_INPUT}
        for i, item in enumerate(items):
            for entry in item if isinstance(item, list) else [item]:
                if isinstance(entry, dict) and (i in places or entry.get("id") == ids.ANNOTATOR_INPUT):
                    entry["value"] = name
                    changed += 1
    return changed


def refused_response(message: str | None) -> dict:
    """A callback answer that changes none of its outputs and shows `message` in the page's error line (None: says
    nothing)."""
    if message is None:
        return {"multi": True, "response": {}}
    return {"multi": True, "response": {}, "sideUpdate": {ids.APP_ERROR: {"children": message, "is_open": True}}}
