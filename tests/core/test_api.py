"""The Python API: the README's notebook example runs as written, and every API call is a recorded run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md lost its `<!-- api-example -->` python block"
    return m.group(1)


def test_the_readme_example_runs_and_records_every_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in ("SCATTERLOOP_DATABASE_URL", "SCATTERLOOP_BROKER_URL", "SCATTERLOOP_WORKSPACE"):
        monkeypatch.delenv(key, raising=False)
    scope: dict = {}
    exec(compile(_readme_example(), "README.md:api-example", "exec"), scope)  # noqa: S102 - our own README

    ws, sl = scope["ws"], scope["sl"]
    try:
        assert (tmp_path / "report.html").stat().st_size > 10_000
        kinds = {r["kind"]: r["status"] for r in sl.runs(ws)}
        assert kinds == {k: "done" for k in ("import", "classify", "predict", "embed", "evaluate")}, kinds
        labels = [r["label"] for r in sl.images(ws, source="generated")]
        assert len(labels) == 24 and labels.count(None) == 8 and {"realistic", "fake"} <= set(labels)
        assert scope["suggested"].result.images == 8
        assert len(scope["points"]) == 48 and {"x", "y", "group"} <= set(scope["points"].columns)
        assert scope["round1"].to_dict()["run_id"] == scope["round1"].run_id
    finally:
        ws.store.dispose()


def test_label_checks_the_label_set_and_the_ids(tmp_path):
    import scatterloop as sl

    ws = sl.open_workspace(tmp_path / "ws")
    try:
        with pytest.raises(ValueError, match="not one of this workspace's labels"):
            sl.label(ws, [1], "<b>nice</b>", annotator="ada")
        with pytest.raises(ValueError, match="no such image"):
            sl.label(ws, [99], "fake", annotator="ada")
        assert sl.runs(ws) == [] and sl.images(ws) == []
    finally:
        ws.store.dispose()


def test_import_scatterloop_is_light_and_lists_the_api():
    import subprocess
    import sys

    code = (
        "import sys, scatterloop as sl; print(sorted(set(dir(sl)) & {'train_round', 'images'})); "
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['images', 'train_round']" and out[1] == "False False"


def test_the_cli_only_steps_are_api_calls_too(small_workspace, tmp_path):
    """Pre-label, review queues, export, the generator, pretraining and the polar analysis were CLI-only."""
    import numpy as np

    import scatterloop as sl

    ws = small_workspace
    gen = sl.train_generator(ws, preset="test", steps=2, progress=False)
    assert gen.result.steps == 2 and ws.store.get_run(gen.run_id).status == "done"
    sampled = sl.generate(ws, 4, seed=3, steps=2, progress=False)
    assert len(sampled.result.image_ids) == 4
    with pytest.raises(ValueError, match="annotator"):
        sl.prelabel(ws, annotator=" ")
    counts = sl.prelabel(ws, annotator="ada", threshold=0.9)  # no round yet: nothing suggested, nothing written
    assert counts["prelabelled"] == 0 and sl.review_queue(ws, "doubted") == []
    out = sl.export(ws, tmp_path / "export", progress=False)
    assert (tmp_path / "export" / "train" / "metadata.jsonl").is_file()
    assert out.result.images >= len(sl.images(ws, source="experimental")) > 0
    enc = sl.pretrain(ws, arch="tiny", input_size=32, epochs=1, batch_size=4, progress=False)
    assert (ws.root / enc.result.encoder / "model.safetensors").is_file()
    kinds = [r["kind"] for r in sl.runs(ws)]
    assert {"generate-train", "generate", "export", "pretrain"} <= set(kinds)
    # polar: an array with rings about (40, 30), and a file
    y, x = np.indices((64, 80))
    rings = 50 + 400 * np.exp(-0.5 * ((np.hypot(x - 40, y - 30) - 18) / 1.5) ** 2)
    res = sl.polar(rings)
    assert res.status == "found" and abs(res.centre_x - 40) < 1 and abs(res.centre_y - 30) < 1
    import tifffile

    tifffile.imwrite(tmp_path / "rings.tif", rings.astype(np.uint16))
    from_file = sl.polar(tmp_path / "rings.tif")
    assert abs(from_file.centre_x - 40) < 1 and abs(from_file.centre_y - 30) < 1


def test_api_polar_adds_the_callers_mask_refuses_what_it_would_ignore_and_names_the_file(tmp_path):
    import numpy as np
    import tifffile

    import scatterloop as sl
    from scatterloop.core.io_safety import ImageReadError

    y, x = np.indices((64, 80))
    rings = (50 + 400 * np.exp(-0.5 * ((np.hypot(x - 40, y - 30) - 18) / 1.5) ** 2)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rings.tif", rings)
    almost_all = np.ones(rings.shape, bool)
    almost_all[:2, :2] = False
    assert sl.polar(tmp_path / "rings.tif").status == "found"
    assert sl.polar(tmp_path / "rings.tif", mask=almost_all).status == "no centre"  # the caller's mask counts
    with pytest.raises(ValueError, match="an array is one frame"):
        sl.polar(rings, frame=3)
    with pytest.raises(ValueError, match="is not the frame's"):
        sl.polar(rings, mask=almost_all[:10])
    with pytest.raises(ImageReadError, match=f"^{tmp_path / 'nope.tif'}: "):
        sl.polar(tmp_path / "nope.tif")


def test_api_runs_keep_the_clis_limits_not_the_web_forms_time_caps(small_workspace, monkeypatch):
    """`sl.generate(ws, 20000)` was refused at the web form's 10,000; the CLI and Python may run as long as
    their owner likes (`job_limits.TIME_ONLY`), while values no run can take are still refused."""
    import scatterloop as sl
    from scatterloop.core import worker

    monkeypatch.setattr(worker, "execute_run", lambda settings, run_id, ws=None, progress=None: None)  # record only
    big = sl.generate(small_workspace, 20_000, checkpoint="x", progress=False)
    long = sl.train_generator(small_workspace, steps=2_000_000, progress=False)
    assert small_workspace.store.get_run(big.run_id).params["n"] == 20_000
    assert small_workspace.store.get_run(long.run_id).params["steps"] == 2_000_000
    with pytest.raises(ValueError, match="n = 20000 is outside"):  # the dashboard's submit keeps its caps
        worker.submit(small_workspace.store, "generate", {"checkpoint": "x", "n": 20_000})
    with pytest.raises(ValueError, match="n = 0 is outside"):
        sl.generate(small_workspace, 0, checkpoint="x", progress=False)
    assert sorted(r["id"] for r in sl.runs(small_workspace)) == sorted([big.run_id, long.run_id])
