"""Self-supervised pretraining on every workspace frame: the loss, the views, the encoder artifact, and its
reuse by later rounds (weights checked tensor by tensor). Tiny models at 32 px on the CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from scatterloop.core.classify import RoundParams, load_classifier
from scatterloop.core.classify.pretrain import (
    PretrainParams,
    init_from_encoder,
    latest_encoder,
    nt_xent,
    run_pretrain,
    views,
)
from scatterloop.core.classify.registry import create_classifier
from scatterloop.core.cli import main
from scatterloop.core.jobs import run_job
from tests.labelled import add_candidates_labelled_by_truth

TINY = {"arch": "tiny", "input_size": 32, "epochs": 1, "batch_size": 4}


def test_nt_xent_matches_the_formula_written_out():
    torch.manual_seed(0)
    z1, z2 = torch.randn(5, 7), torch.randn(5, 7)
    t = 0.3
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    total = 0.0
    for i in range(10):
        j = (i + 5) % 10
        others = [k for k in range(10) if k != i]
        denom = sum(np.exp(float(z[i] @ z[k]) / t) for k in others)
        total += -np.log(np.exp(float(z[i] @ z[j]) / t) / denom)
    loss, acc = nt_xent(z1, z2, t)
    assert float(loss) == pytest.approx(total / 10, rel=1e-5)
    same, acc_same = nt_xent(z1, z1 + 1e-3 * torch.randn(5, 7), t)
    assert float(same) < float(loss) and float(acc_same) == 1.0  # identical views find each other


def test_views_move_the_mask_with_the_image():
    s, col = 64, 24
    pair = torch.zeros(16, 2, s, s)
    pair[:, 1] = 1.0
    pair[:, 0] = 0.5
    pair[:, 1, :, col] = 0.0  # a gap column, dark in the image exactly there
    pair[:, 0, :, col] = -1.0
    out = views(pair, torch.Generator().manual_seed(1), zoom=0.2, noise=0.0)
    assert out.shape == pair.shape and torch.isfinite(out).all()
    inner = slice(8, s - 8)  # away from what shifts bring in from outside the frame (invalid, 0)
    moved = 0
    for i in range(16):
        gap_mask = int(out[i, 1, inner, inner].mean(0).argmin())
        gap_img = int(out[i, 0, inner, inner].mean(0).argmin())
        assert gap_mask == gap_img
        moved += gap_mask + 8 != col
    assert moved > 0  # the views did move things


def _label_by_truth(ws, tmp_path):
    add_candidates_labelled_by_truth(ws, tmp_path / "more", 6, seed=40)


def test_encoder_is_saved_registered_and_reused_by_every_round(small_workspace, tmp_path):
    from scatterloop.core.classify.jobs import run_round

    ws = small_workspace
    _label_by_truth(ws, tmp_path)
    run_id, res = run_pretrain(ws, PretrainParams(**TINY))
    run = ws.store.get_run(run_id)
    assert run.kind == "pretrain" and run.status == "done"  # a run: the Jobs view lists it
    assert res.images == len(ws.store.list_images()) == 18  # every frame, labelled or not
    assert np.isfinite(res.history[0]["loss"])
    enc = latest_encoder(ws, "tiny", 3)
    assert enc == res.encoder == f"runs/{run_id}/encoder"
    [art] = ws.store.list_artifacts(kind="encoder")
    assert art.run_id == run_id and art.meta["images"] == 18
    assert json.loads((ws.root / enc / "config.json").read_text())["arch"] == "tiny"
    encoder = load_file(ws.root / enc / "model.safetensors")
    assert latest_encoder(ws, "tiny", 2) is None and latest_encoder(ws, "resnet18", 3) is None

    # the smallest learning rate a job takes (lr 0 is refused): the networks keep the weights they started from
    # to a millionth, so the saved checkpoints show where they began
    params = RoundParams(models=("tiny",), epochs=1, batch_size=4, input_size=32, lr=1e-8, seed=0, encoder=True)
    _, r1 = run_round(ws, params)
    ws.store.next_round()
    _, r2 = run_round(ws, params)
    _, r3 = run_round(ws, RoundParams(**{**params.__dict__, "encoder": None}))  # the recipe's default: off
    assert r1.models["tiny"]["start"] == r2.models["tiny"]["start"] == f"pretrained encoder {enc}"
    assert r3.models["tiny"]["start"] == "scratch"
    for r in (r1, r2):
        model, _ = load_classifier(ws.root / r.models["tiny"]["checkpoint"])
        state = model.state_dict()
        params_only = [k for k, _ in model.named_parameters() if not k.startswith("fc.")]
        assert params_only and all(torch.allclose(state[k], encoder[k], rtol=0, atol=1e-6) for k in params_only)
    scratch, _ = load_classifier(ws.root / r3.models["tiny"]["checkpoint"])
    first = next(k for k, _ in scratch.named_parameters())
    assert not torch.allclose(scratch.state_dict()[first], encoder[first], rtol=0, atol=1e-3)

    _, res2 = run_pretrain(ws, PretrainParams(**{**TINY, "seed": 1}))  # a newer encoder is the one used next
    assert latest_encoder(ws, "tiny", 3) == res2.encoder != enc


def test_init_from_encoder_refuses_another_architecture(small_workspace):
    _, res = run_pretrain(small_workspace, PretrainParams(**TINY))
    folder = small_workspace.root / res.encoder
    model = create_classifier("tiny", 2, input_size=32, in_chans=3)
    assert init_from_encoder(model, folder) == len(load_file(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="does not fit this model"):
        init_from_encoder(create_classifier("tiny", 2, input_size=32, in_chans=2), folder)
    with pytest.raises(ValueError, match="not a saved encoder"):
        init_from_encoder(model, small_workspace.root)


def test_a_cancelled_pretraining_registers_nothing(small_workspace):
    from scatterloop.core.classify.pretrain import pretrain

    ws = small_workspace
    calls = [0]

    def stop_later() -> bool:
        calls[0] += 1
        return calls[0] > 3

    params = PretrainParams(**{**TINY, "epochs": 3})
    run_id, res = run_job(
        ws.store,
        "pretrain",
        {},
        lambda run_id, progress, should_stop: pretrain(ws, run_id, params, should_stop=stop_later),
    )
    assert res is None and ws.store.get_run(run_id).status == "cancelled"
    assert ws.store.list_artifacts(kind="encoder", include_unfinished=True) == []
    assert not (ws.root / "runs" / str(run_id) / "encoder").exists()


def test_cli_pretrain_prints_the_encoder(small_workspace, capsys):
    root = str(small_workspace.root)
    args = ["--arch", "tiny", "--size", "32", "--epochs", "1", "--batch-size", "4", "--quiet", "--json"]
    assert main(["classify", "pretrain", "--workspace", root, *args]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["command"] == "classify pretrain" and out["images"] == 12 and out["input_size"] == 32
    assert (small_workspace.root / out["encoder"] / "model.safetensors").is_file()
    assert main(["classify", "pretrain", "--workspace", root, "--arch", "physics", "--quiet"]) == 2
    assert "arch must be a timm model" in capsys.readouterr().err


def test_model_zero_is_a_logistic_layer_on_the_frozen_encoder_and_physics_features(small_workspace, tmp_path):
    from scatterloop.core.classify.jobs import run_round

    ws = small_workspace
    _label_by_truth(ws, tmp_path)
    params = RoundParams(models=("physics", "zero"), seed=0)
    with pytest.raises(ValueError, match="no pretrained encoder with 3 input channels"):
        run_round(ws, params)
    _, res = run_pretrain(ws, PretrainParams(**TINY))
    encoder = load_file(ws.root / res.encoder / "model.safetensors")
    _, r = run_round(ws, params)
    zero = r.models["zero"]
    assert zero["start"] == f"frozen encoder {res.encoder}" and zero["input_size"] == 32
    assert np.isfinite(zero["val_nll"]["calibrated"])
    assert zero["final_fit_on"] + zero["final_fit_left_out"] == len(r.sets["train_ids"]) + len(r.sets["val_ids"])
    assert zero["final_fit_left_out"] == len(r.doubted)
    model, cfg = load_classifier(ws.root / zero["checkpoint"])
    assert cfg.kind == "hybrid" and cfg.encoder == "tiny" and cfg.pretrained == res.encoder
    state = model.state_dict()
    assert all(torch.equal(state[f"encoder.{k}"], v) for k, v in encoder.items())  # frozen: still the encoder's
    d = model.head.in_features
    assert d == model.encoder.num_features + 2 * (model.physics.n_features) + 1
    assert (
        float(model.head.weight.detach()[:, -model.encoder.num_features :].abs().sum()) > 0
    )  # the encoder's part is used
    from scatterloop.core.classify.predict import predict_images

    ids = [img.id for img, _ in ws.store.list_images()]  # every frame, the human-labelled ones included
    before = ws.store.current_labels()
    _, pred = run_job(
        ws.store, "predict", {}, lambda run_id, progress, should_stop: predict_images(ws, r.run_id, ids, run_id=run_id)
    )
    assert pred.models == ["physics", "zero"] and pred.images == len(ids) == 18
    assert ws.store.current_labels() == before
    assert len(ws.store.model_suggestions("model:zero")) == 18
