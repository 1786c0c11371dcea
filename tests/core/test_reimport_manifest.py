"""Frames imported first without their metadata, then again with a manifest that labels them (a person labelled
them offline) or names their pattern: the labels and patterns reached no stored frame, without a word."""

from __future__ import annotations

import json

import numpy as np
import tifffile

from scatterloop.core.config import Settings
from scatterloop.core.ingest import import_paths
from scatterloop.core.workspace import Workspace


def _write(folder, n: int = 4) -> list[str]:
    folder.mkdir()
    names = []
    for k in range(n):
        names.append(f"f{k}.tif")
        tifffile.imwrite(folder / names[-1], np.random.default_rng(k).poisson(30, (48, 40)).astype(np.uint16))
    return names


def _manifest(folder, rows: dict[str, dict]) -> None:
    text = "".join(json.dumps({"file_name": name, **fields}) + "\n" for name, fields in rows.items())
    (folder / "metadata.jsonl").write_text(text)


def test_a_manifest_imported_again_labels_and_patterns_unlabelled_frames_and_keeps_what_is_stored(tmp_path):
    names = _write(tmp_path / "frames")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        first = import_paths(ws, [tmp_path / "frames"])
        by_name = {img.original_name.rsplit("/", 1)[-1]: img.id for img, _ in ws.store.list_images()}
        assert first.imported == 4 and ws.store.current_labels() == {}
        ws.store.add_labels([by_name["f1.tif"]], "fake", annotator="ann")  # labelled in the app since
        _manifest(
            tmp_path / "frames",
            {names[0]: {"label": "realistic", "pattern": "rings"}, names[1]: {"label": "realistic"},
             names[2]: {"pattern": "peaks"}},
        )  # fmt: skip
        again = import_paths(ws, [tmp_path / "frames"], annotator="offline")
        assert again.imported == 0 and again.duplicates == 4
        labels = ws.store.current_labels()
        assert labels[by_name["f0.tif"]].label == "realistic" and labels[by_name["f0.tif"]].annotator == "offline"
        assert labels[by_name["f1.tif"]].label == "fake" and labels[by_name["f1.tif"]].annotator == "ann"  # kept
        assert by_name["f2.tif"] not in labels and by_name["f3.tif"] not in labels
        assert again.labelled_known == 1 and again.patterned_known == 2
        said = " | ".join(again.warnings)
        assert f"image {by_name['f1.tif']} (fake, manifest realistic)" in said and "keep the label a person" in said
        patterns = {img.id: img.pattern for img, _ in ws.store.list_images()}
        assert patterns[by_name["f0.tif"]] == "rings" and patterns[by_name["f2.tif"]] == "peaks"
        # a third import naming other patterns changes none, and says which frames kept theirs
        _manifest(tmp_path / "frames", {names[0]: {"pattern": "background"}, names[3]: {"pattern": "rings"}})
        third = import_paths(ws, [tmp_path / "frames"])
        patterns = {img.id: img.pattern for img, _ in ws.store.list_images()}
        assert patterns[by_name["f0.tif"]] == "rings" and patterns[by_name["f3.tif"]] == "rings"
        assert third.patterned_known == 1 and any(
            f"keep the pattern they have, not the manifest's: image {by_name['f0.tif']}" in w for w in third.warnings
        )
    finally:
        ws.store.dispose()


def test_one_frame_twice_in_a_batch_keeps_the_first_files_label(tmp_path):
    names = _write(tmp_path / "a", 1)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "copy.tif").write_bytes((tmp_path / "a" / names[0]).read_bytes())
    _manifest(tmp_path / "a", {names[0]: {"label": "realistic"}})
    _manifest(tmp_path / "b", {"copy.tif": {"label": "fake"}})
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        res = import_paths(ws, [tmp_path / "a", tmp_path / "b"])
        assert res.imported == 1 and res.duplicates == 1
        assert [s.label for s in ws.store.current_labels().values()] == ["realistic"]
        assert any("keep the label a person gave them" in w for w in res.warnings)
    finally:
        ws.store.dispose()


def test_a_re_imported_label_replaces_a_pre_label_and_one_outside_the_set_is_named(tmp_path):
    from scatterloop.core.store.undo import prelabel_annotator

    names = _write(tmp_path / "frames", 3)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        import_paths(ws, [tmp_path / "frames"])
        ids = {img.original_name.rsplit("/", 1)[-1]: img.id for img, _ in ws.store.list_images()}
        ws.store.add_labels([ids["f0.tif"]], "realistic", annotator=prelabel_annotator("ada", 0.9))  # unseen
        _manifest(tmp_path / "frames", {names[0]: {"label": "fake"}, names[1]: {"label": "Realistc"}})
        again = import_paths(ws, [tmp_path / "frames"], annotator="offline")
        labels = ws.store.current_labels()
        assert labels[ids["f0.tif"]].label == "fake" and labels[ids["f0.tif"]].annotator == "offline"
        assert labels[ids["f1.tif"]].label == "Realistc" and again.labelled_known == 2
        assert any("outside this workspace's label set" in w and "'Realistc' (1 image)" in w for w in again.warnings)
    finally:
        ws.store.dispose()


def test_a_frame_a_concurrent_import_stored_first_still_takes_the_manifests_word(tmp_path, monkeypatch):
    """Between this import's duplicate check and its write, another import (without a manifest) stored the frame:
    the database's unique hash refuses the second write, and the manifest's label and pattern reach the frame."""
    names = _write(tmp_path / "frames", 1)
    _manifest(tmp_path / "frames", {names[0]: {"label": "fake", "pattern": "rings"}})
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        real_add = ws.store.add_new_image

        def racing(**fields):
            real_add(**{**fields, "pattern": None, "description": None})  # the other import's write lands first
            return real_add(**fields)

        monkeypatch.setattr(ws.store, "add_new_image", racing)
        res = import_paths(ws, [tmp_path / "frames"])
        assert res.imported == 0 and res.duplicates == 1 and res.labelled_known == 1 and res.patterned_known == 1
        ((img, label),) = ws.store.list_images()
        assert img.pattern == "rings" and label == "fake"
    finally:
        ws.store.dispose()


def test_a_manifest_row_naming_no_file_is_named_not_dropped(tmp_path):
    """A labels file beside its frames with a typo (`B.tif` for `b.tif`) or a row of a file not copied: the folder's
    import labelled the rest, exited 0 and said nothing, so those labels were lost unseen (naming the manifest
    itself reported them). Each such row is now one line naming the manifest's line, and the import fails."""
    names = _write(tmp_path / "frames", 2)
    _manifest(
        tmp_path / "frames",
        {names[0]: {"label": "realistic"}, names[1].upper(): {"label": "fake"}, "gone.tif": {"label": "fake"}},
    )
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        for args in ([tmp_path / "frames"], [tmp_path / "frames" / names[0], tmp_path / "frames" / names[1]]):
            found = import_paths(ws, args, metadata=tmp_path / "frames" / "metadata.jsonl" if len(args) > 1 else None)
            errors = {r.path: r.error for r in found.files if r.error}
            shown = str(tmp_path / "frames" / "metadata.jsonl")
            assert errors == {
                f"{shown}:2": "names 'F1.TIF': no such file (there is 'f1.tif': file names are case-sensitive)",
                f"{shown}:3": "names 'gone.tif': no such file",
            }, errors
            assert found.failed == 2
        labelled = {i: s.label for i, s in ws.store.current_labels().items()}
        assert sorted(labelled.values()) == ["realistic"]  # the row that matched still labels its frame
        # a manifest that describes more files than the ones named (all of them exist) says nothing about the rest
        (tmp_path / "frames" / "gone.tif").write_bytes((tmp_path / "frames" / names[0]).read_bytes())
        (tmp_path / "frames" / names[1]).rename(tmp_path / "frames" / names[1].upper())
        subset = import_paths(ws, [tmp_path / "frames" / names[0]], metadata=tmp_path / "frames" / "metadata.jsonl")
        assert [r.error for r in subset.files if r.error] == [] and subset.failed == 0
    finally:
        ws.store.dispose()


def test_a_calibration_the_manifest_names_that_is_not_in_the_workspace_is_said(tmp_path):
    names = _write(tmp_path / "frames", 3)
    _manifest(tmp_path / "frames", {n: {"calibration": "DLS_typo.poni"} for n in names[:2]} | {names[2]: {}})
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        summary = import_paths(ws, [tmp_path / "frames"])
        assert summary.imported == 3 and summary.warnings == [
            f"{tmp_path / 'frames' / names[0]} and 1 more: calibration 'DLS_typo.poni' is not a file of "
            f"{ws.root / 'calibration'}: their views search the centre until it is copied there"
        ]
        (ws.root / "calibration").mkdir()
        (ws.root / "calibration" / "default.poni").write_text("Distance: 0.1\n")  # review rev11: said as used
        beside = import_paths(ws, [tmp_path / "frames"])
        assert "calibration 'DLS_typo.poni' is not a file" in beside.warnings[0]
        assert beside.warnings[0].endswith("the workspace's default.poni is used until it is copied there")
        (ws.root / "calibration" / "DLS_typo.poni").write_text("Distance: 0.1\n")
        again = import_paths(ws, [tmp_path / "frames" / names[1]], metadata=tmp_path / "frames" / "metadata.jsonl")
        assert again.warnings == []
    finally:
        ws.store.dispose()


def test_every_manifest_row_whose_file_is_not_imported_is_named_by_its_own_line(tmp_path):
    """Review rev11: a row naming an existing file the walk never takes (`notes.dat`, a folder) was dropped without
    a word; a repeated row made the next row's error name the wrong line; a manifest named directly gave neither a
    line nor the near name."""
    names = _write(tmp_path / "frames", 2)
    (tmp_path / "frames" / "notes.dat").write_text("not a frame")
    (tmp_path / "frames" / "sub").mkdir()
    rows = [names[0], names[0], "notes.dat", "sub", names[1].upper()]
    text = "".join(json.dumps({"file_name": n, "label": "fake"}) + "\n" for n in rows)
    (tmp_path / "frames" / "metadata.jsonl").write_text(text)
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        shown = str(tmp_path / "frames" / "metadata.jsonl")
        expected = {
            f"{shown}:3": "names 'notes.dat': not an image file an import reads",
            f"{shown}:4": "names 'sub': not an image file an import reads",
            f"{shown}:5": "names 'F1.TIF': no such file (there is 'f1.tif': file names are case-sensitive)",
        }
        found = import_paths(ws, [tmp_path / "frames"])
        assert {r.path: r.error for r in found.files if r.error} == expected
        direct = import_paths(ws, [tmp_path / "frames" / "metadata.jsonl"])
        errors = {r.path: r.error for r in direct.files if r.error}
        assert errors[f"{shown}:5"] == expected[f"{shown}:5"], errors  # named directly: its line and the near name
    finally:
        ws.store.dispose()


def test_a_row_naming_a_file_the_walk_kept_under_an_alias_labels_it(tmp_path):
    """Review rev12: `alias.tif -> real.tif` beside it, a row for `real.tif`: the walk kept the alias, and the
    row's label vanished with exit 0."""
    names = _write(tmp_path / "frames", 1)
    (tmp_path / "frames" / "alias.tif").symlink_to(names[0])
    _manifest(tmp_path / "frames", {names[0]: {"label": "fake"}})
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        found = import_paths(ws, [tmp_path / "frames"])
        assert found.imported == 1 and not found.failed
        assert [s.label for s in ws.store.current_labels().values()] == ["fake"]
    finally:
        ws.store.dispose()
