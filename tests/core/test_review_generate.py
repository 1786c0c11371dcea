"""What a review of the Generate and Evaluate rooms found (2026-12-07)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scatterloop.core.cli import main


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_sampling_again_says_what_was_not_added_and_resuming_keeps_the_run(small_workspace, capsys):
    ws = str(small_workspace.root)
    base = ["--workspace", ws, "--json", "--quiet"]
    assert main(["generate", "train", "--preset", "test", "--steps", "2", *base]) == 0
    run = _last_json(capsys)["run_id"]
    sample = ["generate", "sample", "-n", "2", "--steps", "2", "--pattern", "rings", *base]
    assert main([*sample, "--seed", "7"]) == 0
    first = _last_json(capsys)
    assert len(first["image_ids"]) == 2 and first["duplicates"] == 0 and first["seed"] == 7
    # each registered frame is stored once, in the workspace's verified originals, and reads back
    assert not list((small_workspace.root / "runs" / str(first["run_id"]) / "generated").glob("*.tif"))
    for img in small_workspace.store.get_images(first["image_ids"]):
        assert small_workspace.load_frame(img).data.shape == (16, 16)
    assert main([*sample, "--seed", "7"]) == 0  # the same frames again: none added, and it says so
    again = _last_json(capsys)
    assert again["image_ids"] == [] and again["duplicates"] == 2
    assert not list((small_workspace.root / "runs" / str(again["run_id"]) / "generated").glob("*.tif"))
    assert main(sample) == 0  # no --seed: a fresh one, recorded
    fresh = _last_json(capsys)
    assert len(fresh["image_ids"]) == 2 and fresh["duplicates"] == 0
    # a resumed run keeps its preset; a total already reached or a sampler's step limit is one line
    for args, said in (
        (["generate", "train", "--preset", "cpu", "--steps", "4", "--resume", str(run)], "trained with 'test'"),
        (["generate", "train", "--steps", "2", "--resume", str(run)], "at step 2 already"),
        (["generate", "sample", "-n", "1", "--steps", "1000"], "dpm++ sampler takes at most 999"),
    ):
        assert main([*args, *base]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err
    assert main(["generate", "train", "--steps", "3", "--resume", str(run), *base]) == 0
    assert _last_json(capsys)["steps"] == 3  # resumed under its own preset, without --preset


def test_a_cancelled_run_is_one_line_and_a_non_zero_exit(small_workspace, capsys, monkeypatch):
    from scatterloop.core import cli_data
    from scatterloop.core.cli_common import RunCancelled, recorded_run
    from scatterloop.core.jobs import Cancelled

    def cancelled(run_id, progress, should_stop):
        raise Cancelled()

    with pytest.raises(RunCancelled, match="was cancelled"):
        recorded_run("x", True, small_workspace.store, "export", {}, cancelled)

    def export(ws, out, round=None, progress=None, should_stop=None):
        raise Cancelled()

    monkeypatch.setattr("scatterloop.core.export.export_imagefolder", export)
    assert cli_data  # the command imports export_imagefolder when it runs
    out = small_workspace.root.parent / "out"
    code = main(["export", "--workspace", str(small_workspace.root), "--out", str(out), "--json", "--quiet"])
    captured = capsys.readouterr()
    assert code == 130 and "Traceback" not in captured.err and "was cancelled" in captured.err
    said = json.loads(captured.out.strip().splitlines()[-1])
    assert said["status"] == "cancelled" and said["exit_code"] == 130


def test_the_latest_checkpoint_is_the_highest_step(tmp_path):
    from scatterloop.core.generate.checkpoint import latest_checkpoint

    for step in ("step-999800", "step-1000000", "step-000200"):
        (tmp_path / "checkpoints" / step).mkdir(parents=True)
        (tmp_path / "checkpoints" / step / "state.json").write_text("{}")
    assert latest_checkpoint(tmp_path).name == "step-1000000"


def test_simulated_frames_are_no_generated_candidates_and_few_images_get_no_inception_score(workspace):
    from scatterloop.core.evaluate.evaluate import EvalParams, _groups, _scores

    def img(i, source):
        return workspace.store.get_image(
            workspace.store.add_image(
                sha256=f"{i:064x}", path=f"originals/{i}.tif", original_name=f"{i}.tif", source=source,
                pattern="rings", height=8, width=8, dtype="uint16",
            )
        )  # fmt: skip

    images = [img(0, "experimental"), img(1, "simulated"), img(2, "generated")]
    groups = _groups(workspace, "rings", images, {})
    assert [i.source for i in groups["all generated"]] == ["generated"]
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(30, 4))
    probs = rng.dirichlet(np.ones(5), size=8)
    row = _scores(feats[:15], feats[15:23], EvalParams(), probs)
    assert "is_mean" not in row and "at least 10" in row["is_note"]  # a split of 1 scores exactly 1.0
    probs = rng.dirichlet(np.ones(5), size=25)
    row = _scores(feats[:5], feats[5:30], EvalParams(), probs)
    assert row["is_splits"] == 2 and row["is_mean"] > 1.0


def test_local_weights_are_checked_before_diffusers_reads_them(tmp_path):
    from scatterloop.core.generate.sample import load_generator
    from scatterloop.core.generate.sd_lora import check_base, check_lora, imagefolder_pairs

    single = tmp_path / "v1-5-pruned.safetensors"
    single.write_bytes(b"x")
    with pytest.raises(ValueError, match="single-file checkpoint"):
        check_base(single)
    base = tmp_path / "sd"
    base.mkdir()
    with pytest.raises(ValueError, match="no model_index.json"):
        check_base(base)
    (base / "model_index.json").write_text(json.dumps({"_class_name": "X", "unet": ["diffusers", "U"],
                                                      "text_encoder": ["transformers", "C"],
                                                      "safety_checker": [None, None]}))  # fmt: skip
    (base / "unet").mkdir()
    with pytest.raises(ValueError, match="text_encoder/ folder is missing"):
        check_base(base)
    (base / "text_encoder").mkdir()
    assert check_base(base) == base
    with pytest.raises(ValueError, match="no such folder"):
        check_lora(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no LoRA weights"):
        check_lora(base)
    ckpt = tmp_path / "ckpt"
    for part in ("unet_ema", "conditioner"):
        (ckpt / part).mkdir(parents=True)
    with pytest.raises(ValueError, match="no scheduler/"):
        load_generator(ckpt)
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "metadata.jsonl").write_text('{"file": "a.png"}\n')
    with pytest.raises(ValueError, match="line 1: not a JSON object with a file_name"):
        imagefolder_pairs(folder, 64)
