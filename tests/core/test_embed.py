"""Autoencoder, projection, placement and the cached map pipeline, on tiny CPU sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scatterloop.core.embed import MapParams, build_map, place_new
from scatterloop.core.embed.autoencoder import AEConfig, ConvAutoencoder, masked_mse, train_autoencoder
from scatterloop.core.embed.projection import fit_projection, place
from scatterloop.core.jobs import run_job


def test_every_parameter_gets_a_gradient_and_shapes_hold():
    torch.manual_seed(0)
    model = ConvAutoencoder(AEConfig(size=32, latent_dim=8, channels=(4, 8)))
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    valid = torch.ones_like(x)
    out = model(x)
    assert out.shape == x.shape and model.encode(x).shape == (3, 8) and torch.isfinite(out).all()
    masked_mse(out, x, valid).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="divisible"):
        AEConfig(size=30, channels=(4, 8))


def test_masked_pixels_teach_nothing():
    recon, target = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    target[..., 0, :] = 100.0  # garbage in a detector gap
    valid = torch.ones_like(target)
    valid[..., 0, :] = 0
    assert masked_mse(recon, target, valid).item() == 0.0
    assert masked_mse(recon, target, torch.ones_like(target)).item() == pytest.approx(100.0**2 * 4 / 16)


def test_training_lowers_the_loss_and_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    x = np.tanh(rng.normal(size=(16, 1, 32, 32))).astype(np.float32)
    v = np.ones_like(x)
    model, res = train_autoencoder(
        x, v, AEConfig(size=32, latent_dim=8, channels=(8, 16)), epochs=8, seed=0, device="cpu"
    )
    assert res.losses[-1] < res.losses[0] and res.device == "cpu"
    model.save_pretrained(tmp_path / "ae")
    assert (tmp_path / "ae" / "model.safetensors").exists()
    again = ConvAutoencoder.from_pretrained(tmp_path / "ae")
    with torch.no_grad():
        assert torch.allclose(model(torch.from_numpy(x[:2])), again(torch.from_numpy(x[:2])))


def test_projection_and_placement_keep_the_map_stable():
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=6, size=(3, 8))
    lat = np.concatenate([c + rng.normal(size=(40, 8)) for c in centres]).astype(np.float32)
    for method in ("pca", "umap"):
        xy = fit_projection(lat, method, 2, seed=0)
        assert xy.shape == (120, 2) and np.isfinite(xy).all()
    xyz = fit_projection(lat, "pca", 3, seed=0)
    assert xyz.shape == (120, 3)
    xy = fit_projection(lat, "umap", 2, seed=0)
    # a point already in the map lands next to itself; a new point of cluster 1 lands among cluster 1
    again = place(lat[:5], lat, xy)
    assert np.linalg.norm(again - xy[:5], axis=1).max() < 0.5 * np.ptp(xy, axis=0).max()
    new = place(centres[1:2].astype(np.float32), lat, xy)
    d = np.linalg.norm(xy - new, axis=1)
    assert np.argsort(d)[:10].min() >= 40 and np.argsort(d)[:10].max() < 80


def test_map_is_cached_by_content_and_new_images_are_placed(small_workspace, tmp_path):
    ws = small_workspace
    params = MapParams(size=32, latent_dim=4, epochs=2, method="pca", seed=0)

    def job(force: bool = False):
        return run_job(
            ws.store,
            "embed",
            {},
            lambda run_id, progress, should_stop: build_map(
                ws, params, run_id=run_id, force=force, progress=progress, should_stop=should_stop
            ),
        )

    run1, res1 = job()
    assert res1.recomputed and res1.n_images == 12 and res1.n_train == 6
    run2, res2 = job()
    assert not res2.recomputed and res2.cache_key == res1.cache_key
    p1 = {p.image_id: (p.x, p.y) for p in ws.store.map_points(run1)}
    assert p1 == {p.image_id: (p.x, p.y) for p in ws.store.map_points(run2)}
    # a new image arrives: it is placed, nobody else moves
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    simulate_dataset("rings", 2, tmp_path / "more", seed=99, size=64)
    import_paths(ws, [tmp_path / "more"], source="generated")
    _, placed = run_job(ws.store, "place", {}, lambda run_id, progress, should_stop: place_new(ws, run2))
    assert placed.placed == 2
    points = ws.store.map_points(run2)
    assert len(points) == 14 and sum(p.placed for p in points) == 2
    assert all((p.x, p.y) == p1[p.image_id] for p in points if not p.placed)
    # a cancelled build registers nothing
    ws.store.request_cancel()  # nothing running: no effect
    calls = iter([False] * 3 + [True] * 1000)
    run3, res3 = run_job(
        ws.store,
        "embed",
        {},
        lambda run_id, progress, should_stop: build_map(
            ws, params, run_id=run_id, force=True, progress=progress, should_stop=should_stop
        ),
        should_stop=lambda: next(calls),
    )
    assert res3 is None and ws.store.get_run(run3).status == "cancelled" and ws.store.map_points(run3) == []


def test_embed_cli_build_reuse_place_and_symmetry(small_workspace, capsys):
    import json

    from scatterloop.core.cli import main

    ws_dir = str(small_workspace.root)
    args = ["embed", "--workspace", ws_dir, "--method", "pca", "--epochs", "2", "--size", "32", "--json", "--quiet"]
    assert main([*args, "--symmetry"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["recomputed"] and first["n_images"] == 12 and first["symmetry"]["scored"] == 4
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["recomputed"] is False
    assert main(["embed", "--workspace", ws_dir, "--place", "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["placed"] == 0  # nothing new
    sym = small_workspace.store.metrics("symmetry")
    assert len(sym) == 4 and all(-1 <= v <= 1 for v in sym.values())


def test_explore_bench_runs_small(capsys):
    import json

    from scatterloop.core.cli import main

    assert main(["bench", "explore", "--n", "400", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["lasso_points"] == 200 and out["relabel_images"] == 200 and out["relabel_commit_s"] > 0


def test_a_large_frame_is_block_averaged_before_the_resize():
    """Review 2026-12-07: the anti-aliased resize of a 4000 x 4000 frame to the map's input took 7-29 s."""
    from scatterloop.core.embed.inputs import _shrink
    from scatterloop.core.io import resize

    cells = np.random.default_rng(1).random((64, 64)).astype(np.float32)
    big = np.kron(cells, np.ones((40, 40), np.float32))  # 2560 px, each output pixel one cell
    small = _shrink(big, 64)
    assert small.shape == (64, 64)
    assert np.abs(small - cells).mean() <= np.abs(resize(big, 64) - cells).mean() + 0.01  # as true to the cells
    frame = np.random.default_rng(2).random((200, 300)).astype(np.float32)  # under four times: as before
    assert np.array_equal(_shrink(frame, 64), resize(frame, 64))
