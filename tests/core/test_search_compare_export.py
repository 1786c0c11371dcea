"""Search by id / text, nearest experimental frames in the map's feature space, selection export."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np
import pytest

from scatterloop.core.compare import nearest_experimental
from scatterloop.core.search import search_images
from scatterloop.core.selection_export import export_selection
from tests.fake_map import fake_map


def _ids(ws, source):
    return [img.id for img, _ in ws.store.list_images() if img.source == source]


def test_search_by_id_text_hash_and_words(small_workspace):
    ws = small_workspace
    imgs = [img for img, _ in ws.store.list_images()]
    target = imgs[3]
    res = search_images(ws, f"#{target.id}")
    assert res.ids[0] == target.id
    assert search_images(ws, target.sha256[:12]).ids == [target.id]
    rings = search_images(ws, "RINGS")  # case-insensitive, pattern and description
    assert set(rings.ids) == {img.id for img in imgs if img.pattern == "rings"}
    assert rings.total == len(rings.ids) == 4
    # every word must match: "rings" and a word only peaks' descriptions hold finds nothing
    assert search_images(ws, "rings zzzunlikely").total == 0
    # LIKE wildcards in the query are literal characters
    assert search_images(ws, "%").total == 0 and search_images(ws, "r_ngs").total == 0
    assert search_images(ws, "   ").ids == []
    limited = search_images(ws, "a", limit=2)
    assert len(limited.ids) == 2 and limited.total >= 2


def test_nearest_experimental_in_feature_space(small_workspace):
    ws = small_workspace
    exp, cand = _ids(ws, "experimental"), _ids(ws, "generated")
    # experimental frames on a line at 0, 10, 20, ...; the candidate sits at 21 -> nearest 20, then 30, then 10
    latents = {i: [10.0 * k, 0.0, 0.0] for k, i in enumerate(exp)}
    latents |= {i: [1000.0 + k, 5.0, 0.0] for k, i in enumerate(cand)}
    latents[cand[0]] = [21.0, 0.0, 0.0]
    fake_map(ws, latents)
    near = nearest_experimental(ws, cand[0], k=3)
    assert near.ids == [exp[2], exp[3], exp[1]]
    assert near.distances == sorted(near.distances)
    assert "physics features" in near.space
    # an experimental frame is never its own neighbour
    assert exp[0] not in nearest_experimental(ws, exp[0], k=5).ids
    with pytest.raises(ValueError, match="k"):
        nearest_experimental(ws, cand[0], k=0)


def test_nearest_needs_a_map(small_workspace):
    with pytest.raises(ValueError, match="no map"):
        nearest_experimental(small_workspace, _ids(small_workspace, "generated")[0])


def test_export_selection_csv_and_imagefolder(small_workspace):
    ws = small_workspace
    exp, cand = _ids(ws, "experimental"), _ids(ws, "generated")
    fake_map(ws, {i: [float(i), 2.0 * i] for i in exp + cand})
    ws.store.add_labels([cand[0]], "fake", annotator="ada", round=1)
    chosen = [cand[0], exp[1], cand[0]]  # a repeat is exported once
    out = export_selection(ws, chosen, "csv", name="pick")
    assert out.path == "exports/pick.csv" and out.images == 2
    rows = list(csv.DictReader((ws.root / out.path).open(encoding="utf-8")))
    assert [int(r["image_id"]) for r in rows] == [cand[0], exp[1]]
    assert rows[0]["label"] == "fake" and rows[0]["annotator"] == "ada" and rows[1]["source"] == "experimental"
    assert float(rows[0]["map_x"]) == cand[0] and float(rows[0]["map_y"]) == 2.0 * cand[0]
    zipped = export_selection(ws, [exp[0], cand[1]], "imagefolder")
    assert zipped.name.endswith("-2.zip")
    with zipfile.ZipFile(ws.root / zipped.path) as zf:
        names = set(zf.namelist())
        assert {f"train/{exp[0]:06d}.png", f"train/{cand[1]:06d}.png", "train/metadata.jsonl"} <= names
        meta = [json.loads(line) for line in zf.read("train/metadata.jsonl").decode().splitlines()]
        assert [m["image_id"] for m in meta] == [exp[0], cand[1]] and all(m["text"] for m in meta)
        from PIL import Image

        png = Image.open(io.BytesIO(zf.read(f"train/{exp[0]:06d}.png")))
        assert png.size == (64, 64) and np.asarray(png).max() > 0
    with pytest.raises(ValueError, match="nothing selected"):
        export_selection(ws, [], "csv")
    with pytest.raises(ValueError, match="no such image"):
        export_selection(ws, [999999], "csv")
    with pytest.raises(ValueError, match="export name"):
        export_selection(ws, exp, "csv", name="../escape")
    with pytest.raises(ValueError, match="format"):
        export_selection(ws, exp, "tar")
