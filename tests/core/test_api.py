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
