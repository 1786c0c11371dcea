"""FID/KID/IS against hand-made cases, scipy and torchmetrics; the evaluation run and the offline report."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from scatterloop.core.evaluate import (
    EvalParams,
    evaluate,
    fid,
    frechet_distance,
    inception_score,
    kid,
    statistics,
    write_report,
)
from scatterloop.core.evaluate.metrics import frechet_distance_scipy


def test_frechet_distance_matches_closed_form_and_scipy():
    # 1-D Gaussians: FID = (m1 - m2)² + (s1 - s2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]])) == pytest.approx(
        4.0 + 1.0
    )
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 32)), rng.normal(size=(400, 32)) @ rng.normal(size=(32, 32)) * 0.3 + 0.1
    ours = frechet_distance(*statistics(a), *statistics(b))
    assert ours == pytest.approx(frechet_distance_scipy(*statistics(a), *statistics(b)), rel=1e-8)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-8)


class _Features(torch.nn.Module):
    """A fixed random feature module, the same for us and for torchmetrics."""

    num_features = 12

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv = torch.nn.Conv2d(3, 12, 5, stride=2)

    def forward(self, x):
        return torch.nn.functional.adaptive_avg_pool2d(torch.tanh(self.conv(x.to(self.conv.weight.dtype))), 1).flatten(
            1
        )


def test_fid_and_kid_match_torchmetrics_with_the_same_feature_module():
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    gen = torch.Generator().manual_seed(0)
    real = torch.rand(60, 3, 32, 32, generator=gen)
    fake = (torch.rand(50, 3, 32, 32, generator=gen) * 0.8 + 0.1) ** 2
    module = _Features().eval()
    tm_fid = FrechetInceptionDistance(feature=module, normalize=True, input_img_size=(3, 32, 32))
    tm_fid.set_dtype(torch.float64)  # the module is now float64 too; our features come from it below
    with torch.no_grad():
        fr, ff = module(real).numpy(), module(fake).numpy()
    tm_fid.update(real, real=True)
    tm_fid.update(fake, real=False)
    assert fid(fr, ff) == pytest.approx(float(tm_fid.compute()), rel=1e-6)
    # one subset holding every image: the subset draw cannot differ, so the numbers must agree
    tm_kid = KernelInceptionDistance(feature=module, normalize=True, subsets=1, subset_size=50)
    tm_kid.update(real[:50], real=True)
    tm_kid.update(fake, real=False)
    k_mean, _k_std = tm_kid.compute()
    ours, _, size = kid(fr[:50], ff, subsets=1, subset_size=50)
    assert size == 50 and ours == pytest.approx(float(k_mean), rel=1e-4)


def test_inception_score_extremes():
    confident_diverse = np.eye(10)  # every image sure of a different class: IS = number of classes
    assert inception_score(confident_diverse, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    uniform = np.full((20, 10), 0.1)  # no image sure of anything: IS = 1
    assert inception_score(uniform, splits=2) == pytest.approx((1.0, 0.0), abs=1e-9)


def test_inception_features_from_a_local_weights_file(tmp_path):
    import torchvision

    from scatterloop.core.evaluate.features import InceptionFeatures

    torch.manual_seed(0)
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    torch.save(net.state_dict(), tmp_path / "inception.pth")
    ext = InceptionFeatures(tmp_path / "inception.pth")
    x = np.random.default_rng(0).uniform(-1, 1, size=(3, 1, 64, 64)).astype(np.float32)
    feats, probs = ext.features_and_probs(x)
    assert feats.shape == (3, 2048) and np.isfinite(feats).all()
    assert probs.shape == (3, 1000) and np.allclose(probs.sum(1), 1.0)
    with pytest.raises(ValueError, match="not found"):
        InceptionFeatures(tmp_path / "missing.pth")


def test_evaluation_run_and_offline_report(small_workspace, tmp_path):
    from scatterloop.core.jobs import run_job

    ws = small_workspace
    for img, _ in ws.store.list_images():
        if img.source == "generated":
            ws.store.add_labels([img.id], "realistic" if img.truth.get("realistic") else "fake", "ann")
    params = EvalParams(kid_subsets=5, per_group_cap=3)
    run_id, res = run_job(
        ws.store, "evaluate", {}, lambda run_id, progress, should_stop: evaluate(ws, params, run_id=run_id)
    )
    assert "autoencoder latents" in res.extractor and "eigh" in res.implementation["fid"]
    assert {(r["pattern"], r["group"]) for r in res.table} == {
        (p, g) for p in ("background", "peaks", "rings") for g in ("all generated", "realistic", "fake")
    }
    scored = [r for r in res.table if "fid" in r]
    assert scored and all(r["fid"] >= 0 and r["n_experimental"] == 2 for r in scored)
    assert all("not computed" in res.implementation["is"] for _ in [0])  # no Inception weights: no IS
    rings = [r for r in res.symmetry if r["pattern"] == "rings" and r["group"] == "experimental"][0]
    assert rings["n"] == 2 and len(rings["values"]) == 2
    assert any(r["n"] for r in res.ssim) and all(-1 <= v <= 1 for r in res.ssim for v in r["values"])
    path = write_report(ws, tmp_path / "report.html")
    text = path.read_text()
    assert "Table 2" in text and "Polar symmetry" in text and "data:image/png;base64," in text
    assert "Plotly.newPlot" in text and not re.findall(r"<(?:script|link)[^>]*\b(?:src|href)=", text)  # all inline


def test_features_are_read_a_chunk_at_a_time_with_the_same_result(small_workspace, monkeypatch):
    """FID-50k at 299 px would need 18 GB of inputs at once: evaluate reads them FEATURE_CHUNK images at a time,
    and the chunks change no number."""
    import importlib

    from scatterloop.core.embed import inputs
    from scatterloop.core.jobs import run_job

    ws = small_workspace
    params = EvalParams(kid_subsets=5, per_group_cap=3)

    def run():
        return run_job(
            ws.store, "evaluate", {}, lambda run_id, progress, should_stop: evaluate(ws, params, run_id=run_id)
        )[1]

    whole = run()
    seen, real = [], inputs.load_inputs

    def counting(ws_, images, size, **kw):
        seen.append(len(images))
        return real(ws_, images, size, **kw)

    monkeypatch.setattr(inputs, "load_inputs", counting)
    monkeypatch.setattr(importlib.import_module("scatterloop.core.evaluate.evaluate"), "FEATURE_CHUNK", 4)
    chunked = run()
    n = sum(img.pattern and img.source in ("experimental", "generated") for img, _ in ws.store.list_images())
    assert max(seen) == 4 and sum(seen) >= n
    key = [(r["pattern"], r["group"], r.get("fid"), r.get("kid")) for r in whole.table]
    assert key == [(r["pattern"], r["group"], r.get("fid"), r.get("kid")) for r in chunked.table]
    assert whole.ssim == chunked.ssim


def test_report_tables_write_flags_as_words_not_python_booleans():
    from scatterloop.core.evaluate.report import _table

    text = _table(
        [{"group": "fake", "n_differs": True}, {"group": "realistic", "n_differs": False}],
        [
            ("group", "group"),
            ("n_differs", "N differs"),
        ],
    )
    assert "<td>yes</td>" in text and "True" not in text and "False" not in text


def test_the_report_and_the_app_say_the_same_of_a_kid_spread():
    """A browser review read "± n/a" in the app and "0" in the report for the same row."""
    from scatterloop.core.evaluate.report import _kid_shown
    from scatterloop.dashboard.components.evaluate_view import kid_text

    whole = {"kid_mean": 1.5, "kid_std": 0.0, "kid_subset_size": 50, "n_experimental": 40, "n_generated": 12}
    sampled = {**whole, "kid_subset_size": 20, "kid_std": 0.25}
    assert "n/a" in kid_text(whole) and _kid_shown(whole)["kid_std"].startswith("n/a")
    assert kid_text(sampled) == "1.5 ± 0.25" and _kid_shown(sampled)["kid_std"] == 0.25


def test_a_workspace_that_cannot_be_evaluated_still_gets_its_report(tmp_path, capsys):
    """Real frames imported without patterns, a classifier round and its curves: `report` refused ("evaluate: the
    workspace has no experimental frames with a pattern") and wrote nothing, with no way round. It now writes the
    rest and says why there is no evaluation; asking for one (`--evaluate`) still refuses."""
    import json

    import tifffile

    from scatterloop.core import api as sl
    from scatterloop.core.cli import main

    (tmp_path / "frames").mkdir()
    for k in range(3):
        tifffile.imwrite(tmp_path / "frames" / f"f{k}.tif", np.random.default_rng(k).poisson(9, (40, 40)).astype("u2"))
    ws_dir = tmp_path / "ws"
    assert main(["import", str(tmp_path / "frames"), "--workspace", str(ws_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", "--workspace", str(ws_dir), "--out", str(tmp_path / "r.html"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["without_evaluation"] == "evaluate: the workspace has no experimental frames with a pattern"
    page = (tmp_path / "r.html").read_text()
    assert "No evaluation of generated images: the workspace has no experimental frames" in page
    assert "Classifier metrics by round" in page and "Distribution metrics per pattern" not in page
    code = main(["report", "--workspace", str(ws_dir), "--out", str(tmp_path / "r2.html"), "--evaluate", "--json"])
    assert code == 2 and not (tmp_path / "r2.html").exists()
    capsys.readouterr()
    ws = sl.open_workspace(ws_dir)
    try:
        assert sl.report(ws, tmp_path / "r3.html").stat().st_size > 0
    finally:
        ws.store.dispose()
    # review rev11: one frame of a pattern can be evaluated by some extractor: the report does not skip it, the
    # evaluation's own refusal stands (as before), the same in the CLI, the API and the tab
    one = tmp_path / "one"
    assert main(["simulate", "rings", "-n", "1", "--size", "64", "--out", str(one), "--quiet"]) == 0
    assert main(["import", str(one), "--workspace", str(tmp_path / "ws1"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", "--workspace", str(tmp_path / "ws1"), "--out", str(tmp_path / "r4.html"), "--json"]) == 2
    assert "without_evaluation" not in capsys.readouterr().out


def test_a_candidate_imported_without_its_generator_is_said_so():
    from types import SimpleNamespace

    from scatterloop.core.evaluate.evaluate import _generator_label

    img = SimpleNamespace(provenance={}, run_id=2)
    assert _generator_label(img) == "imported by run 2, generator not recorded"
    assert _generator_label(SimpleNamespace(provenance={"backend": "sd-lora"}, run_id=7)) == "run 7 (sd-lora)"
    assert _generator_label(SimpleNamespace(provenance=None, run_id=None)) == "not recorded"
