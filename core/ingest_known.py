"""What an import does for frames stored before (a manifest imported again, labelled or described offline after a
first import without it) and with the calibration its manifest names: labels and patterns fill what is missing,
geometry (`calibration`, `panel`) too, and what a person gave is kept, never overwritten, with a warning naming
the frames whose manifest says otherwise."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .io_safety import one_line

if TYPE_CHECKING:
    from .ingest import ImportSummary
    from .workspace import Workspace

log = logging.getLogger("scatterloop.core.ingest")  # the import's own log: its warnings are the import's


def check_calibrations(ws: Workspace, named: dict[str, list[str]], summary: ImportSummary) -> None:
    """A calibration a manifest names that is no file of `<workspace>/calibration/` (a typo, not copied yet): said
    now, once per name, rather than a view quietly searching the centre of frames the person believes calibrated."""
    from .safe_paths import resolve_inside
    from .viewer import CALIBRATION_FOLDER, calibration_path

    folder = ws.root / CALIBRATION_FOLDER
    for name, files in named.items():
        try:
            resolve_inside(folder, name, within=ws.root)
        except (FileNotFoundError, ValueError, OSError):
            more = f" and {len(files) - 1} more" if len(files) > 1 else ""
            default = calibration_path(ws, None)  # what their views use meanwhile
            instead = f"the workspace's {default.name} is used" if default else "their views search the centre"
            summary.warnings.append(
                f"{files[0]}{more}: calibration {one_line(name)!r} is not a file of {folder}: {instead} until it is "
                "copied there"
            )
            log.warning("%s", summary.warnings[-1])


def pattern_known(ws: Workspace, known: dict[str, list[int]], summary: ImportSummary) -> None:
    """Frames stored before without a pattern take the one a later manifest gives (metadata forgotten at the first
    import); a pattern stored is kept, and frames whose manifest pattern differs are counted in a warning."""
    filled, differ = 0, []
    for pattern, ids in known.items():
        ids = list(dict.fromkeys(ids))
        written = set(ws.store.fill_pattern(ids, pattern))
        filled += len(written)
        differ += [im.id for im in ws.store.get_images([i for i in ids if i not in written]) if im.pattern != pattern]
    summary.patterned_known = filled
    if filled:
        summary.warnings.append(f"{filled} frame(s) stored by an earlier import had no pattern: they take this one's")
    if differ:
        summary.warnings.append(
            f"{len(differ)} frame(s) stored before keep the pattern they have, not the manifest's: image "
            f"{', '.join(map(str, differ[:8]))}{' …' if len(differ) > 8 else ''}"
        )


def label_known(
    ws: Workspace, known: dict[str, list[int]], annotator: str, round: int | None, summary: ImportSummary
) -> dict[str, int]:
    """A manifest imported again with labels (a person labelled the frames offline after a first import) labels
    the frames stored before that have no label, and replaces a pre-label (a model's call accepted unseen, which
    the review queue still offers a person); a label a person gave since, in the app or by an earlier manifest,
    is kept, never overwritten, and the frames whose manifest label differs are named in a warning. Returns how
    many frames took each label."""
    from .store.undo import PRELABEL

    if not known:
        return {}
    at = ws.store.current_round() if round is None else round
    kept: list[str] = []
    taken: dict[str, int] = {}
    for label, ids in known.items():
        ids = list(dict.fromkeys(ids))
        written = set(ws.store.add_labels_where_unlabeled({i: (label, None) for i in ids}, annotator, round=at))
        held = ws.store.current_labels([i for i in ids if i not in written])
        machine = [i for i, st in held.items() if st.label != label and PRELABEL in (st.annotator or "")]
        if machine:
            ws.store.add_labels(machine, label, annotator=annotator, round=at)
        taken[label] = len(written) + len(machine)
        kept += [
            f"{i} ({st.label}, manifest {label})" for i, st in held.items() if st.label != label and i not in machine
        ]
    summary.labelled_known = sum(taken.values())
    if summary.labelled_known:
        summary.warnings.append(
            f"{summary.labelled_known} frame(s) stored by an earlier import had no label (or a pre-label): they take "
            "the manifest's"
        )
    _kept(summary, kept, "keep the label a person gave them (a manifest never overwrites one)")
    return taken


def _kept(summary: ImportSummary, images: list[str], what: str) -> None:
    """One warning naming (the first 8 of) the frames stored before that keep what they had."""
    if images:
        more = f" and {len(images) - 8} more" if len(images) > 8 else ""
        summary.warnings.append(f"{len(images)} frame(s) stored before {what}: image {', '.join(images[:8])}{more}")
        log.warning("%s", summary.warnings[-1])


GEOMETRY_KEYS = ("calibration", "panel")  # manifest fields that say how an image's geometry is read


def geometry_known(ws: Workspace, known: dict[tuple[str, str], list[int]], summary: ImportSummary) -> None:
    """Frames stored before without a manifest's `calibration` or `panel` take the one a later manifest gives (a
    many-panel instrument's panel named after a first import: its views could not pick one); a value stored is
    kept, and the frames whose manifest says otherwise are named in a warning."""
    filled, differ = 0, []
    for (key, value), ids in known.items():
        written, other = ws.store.fill_provenance(list(dict.fromkeys(ids)), key, value)
        filled += len(written)
        differ += [f"{i} ({key})" for i in other]
    if filled:
        summary.warnings.append(
            f"{filled} value(s) of calibration or panel that frames stored by an earlier import lacked: they take "
            "this manifest's"
        )
    _kept(summary, differ, "keep their calibration or panel, not the manifest's")
