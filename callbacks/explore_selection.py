"""Explore tab, the map's selection: its paged gallery, bulk relabel (candidates only unless experimental frames
are asked for explicitly) and undo, each patching the figure rather than redrawing it, so the legend's toggles
and the lasso stay as the user left them."""

from __future__ import annotations

from dash import Patch

from scatterloop.core.explore import GROUPS, groups_for, map_table
from scatterloop.core.labelling import check_label_request
from scatterloop.dashboard import figures
from scatterloop.dashboard.components import explore_detail, explore_view

from .label_actions import named
from .media import thumb_url
from .services import Services

GALLERY_PAGE = 12


def categories(services: Services, colour_by: str) -> list[str] | None:
    """Fixed trace order for the colourings a relabel can change, so a Patch knows which trace is which."""
    if colour_by == "group":
        return list(GROUPS)
    if colour_by == "label":  # the label set's, then any other label an image holds (a manifest's "7 disks")
        known = list(services.settings.labels)
        return [
            *known,
            *(v for v in services.store.label_values() if v not in known and v != "unlabeled"),
            "unlabeled",
        ]
    return None


def split_kinds(services: Services, selection: list[int]) -> tuple[list[int], list[int]]:
    """(candidates, experimental frames) of a selection, each in selection order."""
    source = {img.id: img.source for img in services.store.get_images(selection)} if selection else {}
    experimental = [i for i in selection if source.get(i) == "experimental"]
    chosen = set(experimental)
    return [i for i in selection if i in source and i not in chosen], experimental


def gallery(services: Services, selection: list[int], page: int):
    """One page of the selection's thumbnails (clickable: detail), the count line, and the kinds line."""
    total = len(selection or [])
    page_ids = (selection or [])[page * GALLERY_PAGE : (page + 1) * GALLERY_PAGE]
    images = services.store.get_images(page_ids)
    labels = services.store.current_labels(page_ids)
    cards = [
        explore_detail.gallery_card(
            img.id,
            thumb_url(img.sha256),
            f"#{img.id} {img.pattern or ''}",
            labels[img.id].label if img.id in labels else None,
            source=img.source,
            clickable=True,
        )
        for img in images
    ]
    if not total:
        return cards, "Nothing selected: lasso or box-select points on the map.", ""
    pages = max(1, -(-total // GALLERY_PAGE))
    candidates, experimental = split_kinds(services, selection)
    kinds = explore_view.selection_kinds(len(candidates), len(experimental))
    return cards, f"{total} selected · page {page + 1}/{pages}", kinds


def relabel(
    services: Services,
    label: str,
    selection: list[int],
    annotator: str | None,
    colour_by: str,
    dims: int,
    include_experimental: bool = False,
    drawn_cats: list[str] | None = None,
):
    """Label the selection's candidates (and its experimental frames only when asked); returns (message, ok,
    patch for the figure, the whole figure where its traces changed, or None). `drawn`: the traces of the figure on
    screen (`EXPLORE_DRAWN_STORE`, `drawn_cats`); without it, the categories just before this write stand for them."""
    if not selection:
        return "Select points with the lasso or box first.", False, None
    if not annotator or not annotator.strip():
        return "Enter your name as annotator (top right) before labelling.", False, None
    drawn = list(selection)  # the points shown selected, kept so in the traces the labels move them to
    try:
        selection = check_label_request(services.store, services.settings.labels, label, selection)
    except ValueError as exc:
        return f"Not labelled: {exc}.", False, None
    candidates, experimental = split_kinds(services, selection)
    targets = selection if include_experimental else candidates
    kept = not include_experimental and experimental
    left = f" {len(experimental)} experimental frame(s) left as they are." if kept else ""
    if not targets:
        return (
            f"Not labelled: the selection holds only experimental frames ({len(experimental)}); tick "
            "'also label the experimental frames' to label them.",
            False,
            None,
        )
    cats = categories(services, colour_by)
    before = groups_for(services.workspace, targets) if colour_by == "group" else None
    round_no = services.store.current_round()
    who = annotator.strip()
    services.store.add_labels(targets, label, annotator=who, round=round_no)
    message = f"Labelled {len(targets)} image(s) '{label}' as {who} (round {round_no}): {named(targets)}.{left}"
    if cats is None:
        return message, True, None
    if colour_by == "label" and categories(services, "label") != (drawn_cats if drawn_cats is not None else cats):
        # a label outside the set came or went (here, or in another session since the figure was drawn): traces
        # are addressed by position, so the figure is drawn again rather than patched into the wrong ones
        return message, True, full_figure(services, colour_by, dims, drawn)
    affected = set(before.values()) | {"realistic", "fake"} if colour_by == "group" else set(cats)
    return message, True, recolour_patch(services, colour_by, dims, cats, affected, drawn)


def undo(
    services: Services,
    annotator: str | None,
    colour_by: str,
    dims: int,
    selection: list[int] | None = None,
    drawn_cats: list[str] | None = None,
):
    """Undo the annotator's last action; returns (message, ok, patch or None): the figure is patched, not redrawn,
    so the selection and the legend toggles survive."""
    if not annotator or not annotator.strip():
        return "Enter your name as annotator to undo.", False, None
    before = categories(services, colour_by)
    n = services.store.undo_last(annotator.strip())
    if not n:
        return "Nothing of yours to undo.", False, None
    cats = categories(services, colour_by)
    if cats is None:
        patch = None
    elif cats != (drawn_cats if drawn_cats is not None else before):  # traces came or went: drawn again
        patch = full_figure(services, colour_by, dims, selection)
    else:
        patch = recolour_patch(services, colour_by, dims, cats, set(cats), selection)
    return f"Undid your last action ({n} image(s)).", True, patch


def full_figure(services: Services, colour_by: str, dims: int, selected: list[int] | None, table=None):
    """The whole figure (of `table`, else the latest map): drawn first, and again where a Patch would address
    traces by a position that moved (labels outside the label set have traces of their own, so one appearing or
    going shifts every trace after it)."""
    table = table if table is not None else map_table(services.workspace)
    if table.run_id is None:  # no map yet: nothing drawn to redraw
        return None
    coords = (table.xy if dims == 2 else table.xyz).tolist()
    return figures.map_figure(table.ids.tolist(), coords, table.columns[colour_by], colour_by, dims,
                              categories(services, colour_by), selected=selected)  # fmt: skip


def recolour_patch(
    services: Services,
    colour_by: str,
    dims: int,
    cats: list[str],
    affected: set[str],
    selected: list[int] | None = None,
) -> Patch | None:
    """Patch only the traces whose membership changed: their coordinates and ids (and, in 2-D, which of their
    points are the `selected` images), nothing else."""
    table = map_table(services.workspace)
    if table.run_id is None:  # no map yet: nothing drawn to patch
        return None
    values = table.columns[colour_by]
    coords = table.xy if dims == 2 else table.xyz
    patch = Patch()
    for k, cat in enumerate(cats):
        if cat not in affected:
            continue
        idx = [i for i, v in enumerate(values) if v == cat]
        patch["data"][k]["x"] = coords[idx, 0].tolist()
        patch["data"][k]["y"] = coords[idx, 1].tolist()
        if dims == 3:
            patch["data"][k]["z"] = coords[idx, 2].tolist()
        patch["data"][k]["customdata"] = table.ids[idx].tolist()
        if selected and dims == 2:
            patch["data"][k]["selectedpoints"] = figures.selected_points(table.ids[idx].tolist(), selected)
        patch["data"][k]["name"] = figures.legend_name(cat, len(idx), colour_by)
    patch["layout"]["title"]["text"] = (
        f"{len(table.ids)} images · coloured by {figures.COLOUR_NAMES.get(colour_by, colour_by)}"
    )
    return patch
