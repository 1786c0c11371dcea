"""The CLI contract: --json prints one JSON object last; every real frame imports; bad files are named."""

from __future__ import annotations

import json

import numpy as np

from scatterloop.core.cli import main
from tests.core.test_io import make_bad_folder


def _last_json(capsys) -> dict:
    out = capsys.readouterr()
    return json.loads(out.out.strip().splitlines()[-1]), out.err


def test_every_realdata_frame_imports(tmp_path, capsys, realdata, manifest):
    paths = [str(realdata / e["file"]) for e in manifest]
    rc = main(["import", *paths, "--workspace", str(tmp_path / "ws"), "--json", "--quiet"])
    result, err = _last_json(capsys)
    assert rc == 0, err
    assert result["failed"] == 0 and len(result["files"]) == len(manifest)
    for entry, report in zip(manifest, result["files"], strict=True):
        assert report["error"] is None and report["imported"] + report["duplicates"] >= 1, entry["file"]
        frames = entry["shape"][0] if len(entry["shape"]) == 3 else 1
        assert report["imported"] + report["duplicates"] == frames, entry["file"]
    from scatterloop.core.config import Settings
    from scatterloop.core.workspace import Workspace

    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    by_name = {}
    for img, _ in ws.store.list_images():
        by_name.setdefault(img.original_name, img)
    for entry in manifest:  # stored originals read back losslessly with the manifest's shape and dtype
        img = by_name[str((realdata / entry["file"]).resolve())]
        frame = ws.load_frame(img)
        assert list(frame.data.shape) == entry["shape"][-2:] and str(frame.data.dtype) == entry["dtype"], entry["file"]


def test_bad_folder_imports_good_files_and_names_each_bad_one(tmp_path, capsys):
    bad = make_bad_folder(tmp_path / "mixed")
    rc = main(
        [
            "import",
            str(tmp_path / "mixed"),
            "--workspace",
            str(tmp_path / "ws"),
            "--json",
            "--quiet",
            "--max-pixels",
            "10000",
        ]
    )
    result, err = _last_json(capsys)
    assert rc == 2  # something failed: non-zero, but the good files are in
    assert result["imported"] == 2 and result["failed"] == len(bad)
    lines = [line for line in err.splitlines() if line.strip()]
    for name in bad:
        assert any(line.startswith(str(tmp_path / "mixed" / name) + ": ") for line in lines), name
    # importing again finds duplicates and keeps what is stored
    main(["import", str(tmp_path / "mixed" / "good.tif"), "--workspace", str(tmp_path / "ws"), "--json", "--quiet"])
    again, _ = _last_json(capsys)
    assert again["imported"] == 0 and again["duplicates"] == 1


def test_simulate_import_label_export_roundtrip(tmp_path, capsys):
    rc = main(
        [
            "simulate",
            "rings",
            "-n",
            "4",
            "--out",
            str(tmp_path / "sim"),
            "--size",
            "64",
            "--seed",
            "3",
            "--artifacts",
            "random",
            "--json",
            "--quiet",
        ]
    )
    sim, _ = _last_json(capsys)
    assert rc == 0 and sim["n"] == 4 and "none" not in sim["artifacts"]
    main(["simulate", "speckle", "-n", "2", "--out", str(tmp_path / "speckle"), "--json", "--quiet"])
    _last_json(capsys)
    ws_dir = str(tmp_path / "ws")
    assert (
        main(["import", str(tmp_path / "sim"), "--workspace", ws_dir, "--source", "generated", "--json", "--quiet"])
        == 0
    )
    imp, _ = _last_json(capsys)
    assert imp["imported"] == 4
    from scatterloop.core.config import Settings
    from scatterloop.core.workspace import Workspace

    ws = Workspace.open(Settings(workspace=ws_dir))
    ids = [img.id for img, _ in ws.store.list_images()]
    assert all(img.truth["artifact"] for img in ws.store.get_images(ids))  # truth kept, not a label
    assert ws.store.current_labels() == {}
    ws.store.add_labels(ids[:3], "realistic", "ada", round=1)
    ws.store.add_labels(ids[3:], "fake", "ada", round=1)
    assert main(["export", "--workspace", ws_dir, "--out", str(tmp_path / "export"), "--json", "--quiet"]) == 0
    exp, _ = _last_json(capsys)
    assert exp["images"] == 3
    rows = [json.loads(line) for line in (tmp_path / "export" / "train" / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["text"].startswith("Debye-Scherrer rings") for r in rows)
    assert (tmp_path / "export" / "train" / rows[0]["file_name"]).exists()
    csv_lines = (tmp_path / "export" / "labels.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and sum(",fake," in line for line in csv_lines) == 1


def test_speckle_imports_with_disk_count_label(tmp_path, capsys):
    main(["simulate", "speckle", "-n", "3", "--out", str(tmp_path / "sp"), "--seed", "1", "--json", "--quiet"])
    _last_json(capsys)
    main(
        [
            "import",
            str(tmp_path / "sp"),
            "--workspace",
            str(tmp_path / "ws"),
            "--source",
            "simulated",
            "--json",
            "--quiet",
        ]
    )
    res, _ = _last_json(capsys)
    assert res["imported"] == 3
    from scatterloop.core.config import Settings
    from scatterloop.core.workspace import Workspace

    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    labels = ws.store.current_labels()
    assert all(2 <= int(v.label) <= 20 for v in labels.values()) and len(labels) == 3
    img = ws.store.list_images()[0][0]
    frame = ws.load_frame(img)
    assert np.isnan(frame.data).sum() == 121 and frame.mask.sum() == 121  # the blocked centre is masked


def test_errors_are_one_line_and_nonzero(tmp_path, capsys):
    rc = main(["simulate", "rings", "-n", "2", "--out", str(tmp_path / "x"), "--artifacts", "speckle_blur"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--artifacts" in err[0]
    # with --json the last stdout line is one JSON object on failure too (a script reads why, not nothing)
    rc = main(["embed", "--workspace", str(tmp_path / "none"), "--json"])
    captured = capsys.readouterr()
    said = json.loads(captured.out.strip().splitlines()[-1])
    assert rc == 2 and said["command"] == "embed" and said["exit_code"] == 2 and "does not exist" in said["error"]
    assert len(captured.err.strip().splitlines()) == 1


def test_bench_commands_print_json(capsys):
    assert main(["bench", "simulate", "--n", "2", "--size", "64", "--json"]) == 0
    sim, _ = _last_json(capsys)
    assert sim["images_per_s"] > 0 and set(sim["patterns"]) >= {"rings", "peaks", "background", "speckle"}
    assert main(["bench", "import", "--n", "6", "--size", "64", "--json"]) == 0
    imp, _ = _last_json(capsys)
    assert imp["imported"] == 6 and imp["images_per_s"] > 0 and imp["baseline_bare_read_images_per_s"] > 0


def test_csv_manifest_and_metadata_option(tmp_path, capsys):
    import tifffile

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        tifffile.imwrite(folder / f"f{i}.tif", np.full((16, 16), i + 1, np.int32))
    (folder / "labels.csv").write_text(
        "file_name,text,pattern,label,seed\nf0.tif,rings at 12 keV,rings,realistic,7\nf1.tif,peaks,peaks,fake,\n"
    )
    rc = main(["import", str(folder / "labels.csv"), "--workspace", str(tmp_path / "ws"), "--json", "--quiet"])
    res, _ = _last_json(capsys)
    assert rc == 0 and res["imported"] == 2  # a manifest imports the files it lists
    rc = main(
        [
            "import",
            str(folder / "f2.tif"),
            "--workspace",
            str(tmp_path / "ws"),
            "--json",
            "--quiet",
            "--metadata",
            str(folder / "labels.csv"),
        ]
    )
    assert rc == 0 and _last_json(capsys)[0]["imported"] == 1
    from scatterloop.core.config import Settings
    from scatterloop.core.workspace import Workspace

    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    imgs = {img.original_name.rsplit("/", 1)[-1]: img for img, _ in ws.store.list_images()}
    assert imgs["f0.tif"].description == "rings at 12 keV" and imgs["f0.tif"].seed == 7
    assert imgs["f1.tif"].pattern == "peaks" and imgs["f2.tif"].pattern is None
    labels = ws.store.current_labels()
    assert labels[imgs["f0.tif"].id].label == "realistic" and labels[imgs["f1.tif"].id].label == "fake"
    assert labels[imgs["f0.tif"].id].annotator == "import"


def test_manifest_errors_name_file_and_line(tmp_path, capsys):
    import tifffile

    tifffile.imwrite(tmp_path / "a.tif", np.full((16, 16), 3, np.int32))
    (tmp_path / "metadata.jsonl").write_text('{"file_name": "a.tif"}\nnot json\n')
    rc = main(["import", str(tmp_path / "metadata.jsonl"), "--workspace", str(tmp_path / "ws"), "--json", "--quiet"])
    result, err = _last_json(capsys)
    err = err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "metadata.jsonl:2: not a JSON line" in err[0]
    assert result["imported"] == 1  # the bad line is skipped, the rest of the manifest imports


def test_json_output_is_strict_json_with_null_for_what_is_not_a_number(capsys):
    import argparse

    from scatterloop.core.cli_common import emit, strict_json

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    payload = {"median": float("inf"), "nested": [{"x": float("nan"), "y": -float("inf")}, 1.5], "n": 3}
    emit(argparse.Namespace(json=True), payload, "")
    read = json.loads(capsys.readouterr().out, parse_constant=refuse)  # what jq or JavaScript would accept
    assert read == {"median": None, "nested": [{"x": None, "y": None}, 1.5], "n": 3}
    assert json.loads(strict_json(payload, indent=2), parse_constant=refuse) == read
