"""What a review of the Explore room, bulk relabelling, the label store and selection export found (2026-12-07)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from scatterloop.core.csv_cells import safe_cell
from scatterloop.core.embed.separation import knn_accuracy, null_accuracy, separation
from scatterloop.core.explore import map_table
from scatterloop.core.ingest import manifest_label
from scatterloop.core.labelling import image_ids


def _add(store, n, source="generated", start=0, pattern="rings"):
    return [
        store.add_image(
            sha256=f"{i:064x}", path=f"originals/{i}.tif", original_name=f"{i}.tif", source=source,
            pattern=pattern, height=8, width=8, dtype="uint16",
        )
        for i in range(start, start + n)
    ]  # fmt: skip


def _map(store, ids):
    run = store.create_run("embed", {})
    store.update_run(run, status="done", result={"cache_dir": "cache/embed/x"})
    store.add_map_points(run, ids, np.arange(2 * len(ids), dtype=float).reshape(-1, 2))
    return run


def test_the_map_is_coloured_by_the_realism_call_not_a_later_pattern_call(workspace):
    store = workspace.store
    a, b = _add(store, 2)
    for task, classes in (("realism", ["fake", "realistic"]), ("pattern", ["background", "peaks", "rings"])):
        run = store.create_run("classify", {"task": task})
        store.update_run(run, status="done", result={"task": task, "classes": classes})
    store.add_labels([a, b], "realistic", "ensemble:soft", origin="model", confidence=[0.52, 0.97])
    store.add_labels([a, b], "rings", "ensemble:soft", origin="model", confidence=[0.84, 0.99])  # later
    _map(store, [a, b])
    assert map_table(workspace).columns["confidence"] == [0.52, 0.97]


def test_an_image_placed_twice_keeps_one_point(workspace):
    store = workspace.store
    ids = _add(store, 3)
    run = _map(store, ids[:2])
    xy = np.zeros((2, 2))
    assert store.add_map_points(run, [ids[1], ids[2]], xy, placed=True) == 1  # a second "place" job: ids[1] held
    assert store.add_map_points(run, [ids[2]], xy[:1], placed=True) == 0
    assert store.map_arrays(run)["ids"].tolist() == ids


def test_an_undo_made_in_a_later_round_leaves_the_closed_round_as_it_was(workspace):
    store = workspace.store
    ids = _add(store, 3)
    store.add_labels(ids, "realistic", "ada", round=store.current_round())
    store.next_round()
    assert store.undo_last("ada") == 3
    assert {s.label for s in store.current_labels().values()} == {None}
    assert {i: s.label for i, s in store.labels_as_of(1).items()} == dict.fromkeys(ids, "realistic")


def test_undo_restores_each_images_own_earlier_label(workspace):
    store = workspace.store
    ids = _add(store, 4)
    store.add_labels(ids[:2], "fake", "bob")
    store.add_labels(ids[2:3], "realistic", "ada")
    store.add_labels(ids, "realistic", "ada")  # the action undone: two had bob's fake, one ada's, one nothing
    store.add_labels(ids[3:], "fake", "bob")  # later: ids[3] keeps bob's label
    assert store.undo_last("ada") == 3
    labels = {i: s.label for i, s in store.current_labels().items()}
    assert labels == {ids[0]: "fake", ids[1]: "fake", ids[2]: "realistic", ids[3]: "fake"}
    assert store.undo_last("ada") == 1  # then ada's own earlier action
    assert store.current_labels()[ids[2]].label is None


def test_manifest_labels_take_the_label_sets_spelling_and_others_are_named(workspace, tmp_path):
    labels = ("realistic", "fake")
    assert manifest_label(" Realistic ", labels) == "realistic"
    assert manifest_label("FAKE", labels) == "fake"
    assert manifest_label("7", labels) == "7"  # a speckle disk count: the labels task trains on any label set
    assert manifest_label("  ", labels) is None
    with pytest.raises(ValueError, match="label"):
        manifest_label({"a": 1}, labels)
    with pytest.raises(ValueError, match="at most"):
        manifest_label("x" * 101, labels)
    with pytest.raises(ValueError, match="label"):
        manifest_label(False, labels)

    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    simulate_dataset("rings", 3, tmp_path / "sim", size=32, seed=1)
    frames = sorted(p.name for p in (tmp_path / "sim").iterdir() if p.suffix in (".tif", ".tiff", ".npy", ".edf"))
    rows = [{"file_name": f, "label": lab} for f, lab in zip(frames, ["Realistic ", "maybe", "fake"], strict=False)]
    (tmp_path / "sim" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = import_paths(workspace, [tmp_path / "sim"], source="generated")
    got = sorted(s.label for s in workspace.store.current_labels().values())
    assert got == ["fake", "maybe", "realistic"]
    assert len(summary.warnings) == 1 and "'maybe' (1 image)" in summary.warnings[0]


def test_csv_cells_that_start_like_a_formula_are_written_as_text():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [safe_cell(v) for v in ("+cmd", "-2+3", "@SUM(A1)", "\tx", "ring", "")] == [
        "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "ring", ""
    ]  # fmt: skip
    assert safe_cell(-1.5) == -1.5  # numbers stay numbers


def test_the_selection_csv_neutralises_formulas(workspace):
    from scatterloop.core.selection_export import _csv_text

    text = _csv_text([{"image_id": 1, "description": "=1+1", "pattern": "-2+3", "map_x": -0.5}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["description"], row["pattern"], row["map_x"]) == ("'=1+1", "'-2+3", "-0.5")


def test_image_ids_are_ascii_digits_within_64_bits():
    assert image_ids(["3", 4, " 5 "]) == [3, 4, 5]
    for bad in ("٣", "99999999999999999999", str(2**63), "-1", True, 1.5, None):
        with pytest.raises(ValueError, match="not an image number"):
            image_ids([bad])


def test_the_separation_baseline_is_what_shuffled_labels_score_on_the_same_points():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(6, 2))
    assert knn_accuracy(xy, ["a"] * 3 + ["b"] * 3) == 0.0  # 3 + 3 points: a point's own class is the minority
    assert null_accuracy(xy, ["a"] * 3 + ["b"] * 3) == (0.0, 0.0)  # so the baseline says 0 too, not 50 %
    xy = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(10, 1, (20, 2))]
    labels = ["a"] * 20 + ["b"] * 20
    mean, top = null_accuracy(xy, labels)
    assert knn_accuracy(xy, labels) == 1.0 and mean < 0.65 and mean <= top < 1.0


def test_separation_reports_the_shuffled_baseline(workspace):
    store = workspace.store
    ids = _add(store, 12)
    store.add_labels(ids[:6], "realistic", "ada")
    store.add_labels(ids[6:], "fake", "ada")
    xy = np.r_[np.zeros((6, 2)), np.ones((6, 2)) * 10] + np.random.default_rng(1).normal(0, 0.1, (12, 2))
    sep = separation(workspace, ids, xy)
    assert sep["label_knn"] == 1.0 and sep["label_n"] == 12
    assert sep["label_chance"] < sep["label_chance_95"] < 1.0


def test_labels_of_a_selection_larger_than_a_statement_chunk(workspace):
    """Debian's SQLite binds 250,000 values per statement; the default build 32,766, PostgreSQL 65,535: here a
    limit of 6,000 stands for them."""
    import sqlite3

    from sqlalchemy import event

    store = workspace.store
    ids = _add(store, 7000)
    store.add_labels(ids[::2], "fake", "ada")

    @event.listens_for(store.engine, "connect")
    def _limit(dbapi_conn, _record):
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 6000)

    store.engine.dispose()
    got = store.current_labels(ids)
    assert len(got) == len(ids[::2]) and ids[-2] in got and all(s.label == "fake" for s in got.values())


def test_undo_redraws_the_map_when_a_label_outside_the_set_changes_its_traces(workspace):
    from dash import Patch

    from scatterloop.callbacks.explore_selection import relabel, undo
    from scatterloop.callbacks.services import make_services

    store = workspace.store
    ids = _add(store, 4)
    store.add_labels(ids[:2], "7", "import")  # a manifest's label outside the set
    _map(store, ids)
    services = make_services(workspace.settings)
    try:
        message, ok, fig = relabel(services, "realistic", ids[:2], "ada", "label", 2)
        assert ok and not isinstance(fig, Patch)  # the "7" trace goes: every later trace moves
        names = [t.name for t in fig.data]
        assert names[:2] == ["realistic (2)", "fake (0)"] and names[-1] == "unlabeled (2)"
        message, ok, fig = undo(services, "ada", "label", 2)
        assert ok and not isinstance(fig, Patch) and [t.name for t in fig.data][2] == "7 (2)"
        drawn = ["realistic", "fake", "7", "unlabeled"]  # the traces of the figure just drawn
        message, ok, patch = relabel(services, "fake", ids[2:], "ada", "label", 2, drawn_cats=drawn)
        assert ok and isinstance(patch, Patch)  # the same traces: patched where they are
        assert patch.to_plotly_json()["operations"] and "fake (2)" in str(patch.to_plotly_json())
        # another session takes the last "7" away after this figure was drawn: its traces no longer match
        store.add_labels(ids[:2], "realistic", "bob")
        message, ok, fig = relabel(services, "realistic", ids[2:3], "ada", "label", 2, drawn_cats=drawn)
        assert ok and not isinstance(fig, Patch) and "7 (0)" not in [t.name for t in fig.data]
        message, ok, fig = undo(services, "ada", "label", 2, drawn_cats=drawn)
        assert ok and not isinstance(fig, Patch)
    finally:
        services.store.dispose()


def test_undo_coloured_by_label_before_any_map_is_drawn(workspace):
    from scatterloop.callbacks.explore_selection import undo
    from scatterloop.callbacks.services import make_services

    ids = _add(workspace.store, 2)
    workspace.store.add_labels(ids, "7", "ada")
    services = make_services(workspace.settings)
    try:
        message, ok, patch = undo(services, "ada", "label", 2)
        assert ok and patch is None
    finally:
        services.store.dispose()
