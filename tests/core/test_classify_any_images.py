"""Pattern classification on the images a person chooses: training sources, a "too few classes" message that
says why, and `classify predict` on any images (experimental frames too) without touching human labels."""

from __future__ import annotations

import json

import pytest

from scatterloop.core.classify import assemble
from scatterloop.core.classify.select import ImageSelection, parse_selection, select_images
from scatterloop.core.cli import main


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _add_simulated(ws, tmp_path, n=3):
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    for i, pattern in enumerate(("rings", "peaks", "background")):
        simulate_dataset(pattern, n, tmp_path / "simulated", seed=50 + i, size=64)
    return import_paths(ws, [tmp_path / "simulated"], source="simulated").image_ids


def test_too_few_classes_says_which_sources_were_searched_and_what_each_held(workspace, tmp_path):
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    simulate_dataset("rings", 3, tmp_path / "exp", seed=1, size=64)
    import_paths(workspace, [tmp_path / "exp"], source="experimental")
    simulate_dataset("peaks", 3, tmp_path / "sim", seed=2, size=64)
    import_paths(workspace, [tmp_path / "sim"], source="simulated")
    with pytest.raises(ValueError) as err:
        assemble(workspace.store, "pattern")
    message = str(err.value)
    assert "at least two classes are needed, found ['rings']" in message
    assert "experimental (searched, 3 images; rings: 3)" in message
    assert "simulated (not searched, 3 images; peaks: 3)" in message and "--sources" in message
    split = assemble(workspace.store, "pattern", sources=("simulated", "experimental"))
    assert split.classes == ["peaks", "rings"] and split.summary["sources"] == ["experimental", "simulated"]
    with pytest.raises(ValueError, match="sources: expected some of"):
        assemble(workspace.store, "pattern", sources=("lab",))


def test_selection_by_source_pattern_ids_and_folder(small_workspace, tmp_path):
    store = small_workspace.store
    sim = _add_simulated(small_workspace, tmp_path, n=1)
    exp = select_images(store, parse_selection(["source=experimental"]))
    assert len(exp) == 6 and all(store.get_image(i).source == "experimental" for i in exp)
    assert select_images(store, ImageSelection(folder=str(tmp_path / "simulated"))) == sorted(sim)
    assert select_images(store, parse_selection(["source=experimental", "pattern=rings"])) == [
        i for i in exp if store.get_image(i).pattern == "rings"
    ]
    assert select_images(store, parse_selection(ids="1,3")) == [1, 3]
    with pytest.raises(ValueError, match="no image 999"):
        select_images(store, parse_selection(ids="1,999"))
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_selection(["experimental"])
    with pytest.raises(ValueError, match=r"--images round: 99999999999999999999 is out of range"):
        parse_selection(["round=99999999999999999999"])  # before: the database's "Python int too large"
    with pytest.raises(ValueError, match="--images ids: -3 is out of range"):
        parse_selection(ids="1,-3")


def test_cli_pattern_round_on_chosen_sources_then_predict_experimental_frames(small_workspace, tmp_path, capsys):
    ws = small_workspace
    _add_simulated(ws, tmp_path)
    store = ws.store
    root = str(ws.root)
    exp = [img for img, _ in store.list_images() if img.source == "experimental"]
    store.add_labels([exp[0].id], "background", "ada")  # a person's label, on purpose not the frame's pattern
    tiny = ["--models", "tiny", "--epochs", "1", "--input-size", "32", "--batch-size", "4", "--quiet", "--json"]
    assert main(["classify", "train", "--workspace", root, "--task", "pattern", "--sources", "simulated", *tiny]) == 0
    out = _last_json(capsys)
    assert out["sets"]["sources"] == ["simulated"] and out["classes"] == ["background", "peaks", "rings"]
    run = out["run_id"]

    before = store.current_labels()
    assert (
        main(["classify", "predict", "--workspace", root, "--images", "source=experimental", "--quiet", "--json"]) == 0
    )
    pred = _last_json(capsys)
    assert pred["images"] == 6 and pred["classify_run"] == run and pred["selection"] == "source=experimental"
    sugg = store.model_suggestions("ensemble:weighted")
    assert set(sugg) == {img.id for img in exp}
    assert all(lab in ("background", "peaks", "rings") and 0 < conf <= 1 for lab, conf in sugg.values())
    assert store.current_labels() == before and before[exp[0].id].annotator == "ada"
    assert len(store.model_suggestions("model:tiny")) == 6

    ids = f"{exp[1].id},{exp[2].id}"
    assert main(["classify", "predict", "--workspace", root, "--ids", ids, "--quiet", "--json"]) == 0
    assert _last_json(capsys)["images"] == 2
    assert main(["classify", "predict", "--workspace", root, "--folder", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "no images match folder=" in capsys.readouterr().err
