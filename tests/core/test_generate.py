"""The domain diffusion model on a tiny preset: gradients, conditioning, training, resume, sampling, cancel."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from scatterloop.core.generate import generate_candidates, train_domain_model
from scatterloop.core.generate.conditioner import DomainConditioner, build_vocab, tokenize
from scatterloop.core.generate.presets import PRESETS
from scatterloop.core.generate.train import build_models
from scatterloop.core.jobs import run_job


def test_tokenizer_buckets_numbers_and_vocab_has_specials():
    assert tokenize("Rings of LaB6 at 12.34 keV") == ["rings", "of", "lab", "#6", "at", "#12", "kev"]
    vocab = build_vocab(["rings at 12 keV", "peaks"])
    assert vocab[:2] == ["<pad>", "<unk>"] and "rings" in vocab


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    unet, cond = build_models(PRESETS["test"], build_vocab(["rings", "peaks"]), ["peaks", "rings"])
    x = torch.randn(2, 1, 16, 16)
    c = cond(cond.class_ids(["rings", None]), cond.encode_text(["rings", "peaks"]), torch.tensor([False, True]))
    out = unet(x, torch.tensor([10, 500]), class_labels=c).sample
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    missing = [
        n
        for n, p in list(unet.named_parameters()) + list(cond.named_parameters())
        if p.grad is None or p.grad.abs().sum() == 0
    ]
    # the null vector is only reached by dropped rows; here row 2 was dropped, so it must get a gradient too
    assert missing == [], missing
    assert isinstance(cond, DomainConditioner)


def test_train_resume_sample_register_and_cancel(small_workspace):
    ws = small_workspace

    def train(steps, resume=None):
        return run_job(
            ws.store,
            "generate-train",
            {},
            lambda run_id, progress, should_stop: train_domain_model(
                ws,
                "test",
                run_id=run_id,
                max_steps=steps,
                resume_from=resume,
                progress=progress,
                should_stop=should_stop,
            ),
        )

    run1, res1 = train(4)
    assert res1.steps == 4 and res1.resumed_from_step == 0 and res1.device == "cpu"
    ckpt = ws.root / res1.checkpoint
    assert (ckpt / "unet_ema" / "diffusion_pytorch_model.safetensors").exists()
    assert (ckpt / "optimizer.safetensors").exists() and not list(ckpt.rglob("*.bin"))
    # a killed job resumes from its last checkpoint
    run2, res2 = train(6, resume=ws.run_dir(run1))
    assert res2.resumed_from_step == 4 and res2.steps == 6
    state = json.loads((ws.root / res2.checkpoint / "state.json").read_text())
    assert state["step"] == 6
    # sampling registers candidates with provenance in the current round
    before = ws.store.count_images()
    run3, gen = run_job(
        ws.store,
        "generate",
        {},
        lambda run_id, progress, should_stop: generate_candidates(
            ws, res2.checkpoint, run_id=run_id, n=3, pattern="rings", steps=2, batch_size=2, seed=5
        ),
    )
    assert len(gen.image_ids) == 3 and ws.store.count_images() == before + 3
    img = ws.store.get_image(gen.image_ids[0])
    assert img.source == "generated" and img.seed == 5 and img.round == ws.store.current_round()
    assert img.provenance["backend"] == "domain" and img.provenance["steps"] == 2
    assert img.provenance["guidance"] == 2.0 and img.provenance["run"] == run3
    assert ws.store.current_labels(gen.image_ids) == {}  # unlabeled candidates
    frame = ws.load_frame(img)
    assert frame.data.shape == (16, 16) and np.isfinite(frame.data).all()
    # cancel mid-run: stops within a step, nothing half-registered
    count = ws.store.count_images()
    calls = iter([False, False, True] + [True] * 100)
    run4, res = run_job(
        ws.store,
        "generate",
        {},
        lambda run_id, progress, should_stop: generate_candidates(
            ws, res2.checkpoint, run_id=run_id, n=4, steps=5, batch_size=4, progress=progress, should_stop=should_stop
        ),
        should_stop=lambda: next(calls),
    )
    assert res is None and ws.store.get_run(run4).status == "cancelled" and ws.store.count_images() == count


def test_sampling_is_seeded(small_workspace):
    ws = small_workspace
    _, res = run_job(
        ws.store,
        "generate-train",
        {},
        lambda run_id, progress, should_stop: train_domain_model(ws, "test", run_id=run_id, max_steps=2),
    )
    from scatterloop.core.generate import load_generator, sample_batch

    unet, cond, cfg = load_generator(ws.root / res.checkpoint)
    a = sample_batch(unet, cond, cfg, patterns=["rings"], prompts=["rings"], seeds=[3], steps=3)
    b = sample_batch(unet, cond, cfg, patterns=["rings"], prompts=["rings"], seeds=[3], steps=3)
    c = sample_batch(unet, cond, cfg, patterns=["rings"], prompts=["rings"], seeds=[4], steps=3, sampler="ddim")
    assert np.array_equal(a, b) and not np.array_equal(a, c) and a.min() >= -1 and a.max() <= 1
    with pytest.raises(ValueError, match="sampler"):
        sample_batch(unet, cond, cfg, patterns=["rings"], prompts=[""], seeds=[1], steps=2, sampler="euler")


def test_generate_cli_train_resume_sample(small_workspace, capsys):
    from scatterloop.core.cli import main

    ws = str(small_workspace.root)
    assert main(["generate", "train", "--workspace", ws, "--preset", "test", "--steps", "2", "--json", "--quiet"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["steps"] == 2 and first["resumed_from_step"] == 0
    assert (
        main(
            [
                "generate",
                "train",
                "--workspace",
                ws,
                "--preset",
                "test",
                "--steps",
                "4",
                "--resume",
                str(first["run_id"]),
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["resumed_from_step"] == 2 and second["steps"] == 4
    assert (
        main(
            [
                "generate",
                "sample",
                "--workspace",
                ws,
                "-n",
                "2",
                "--steps",
                "2",
                "--pattern",
                "peaks",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(out["image_ids"]) == 2 and out["images_per_s"] > 0
    sample = ["generate", "sample", "--workspace", ws, "-n", "1", "--quiet"]
    for extra, said in (
        (["--steps", "0"], "steps = 0"),  # before: quietly 25 steps
        (["--steps", "2", "--pattern", "no-such"], "pattern 'no-such': this generator was trained on"),
        (["--steps", "2", "--checkpoint", "/nope"], "checkpoint /nope: not a generator checkpoint"),
        (["--steps", "2", "--device", "bogus"], "device: expected cpu, cuda, cuda:N or mps, got 'bogus'"),
    ):
        assert main(sample + extra) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err
    patterns = {img.pattern for img, _ in small_workspace.store.list_images()}
    assert "no-such" not in patterns


def test_a_training_process_killed_mid_run_resumes_from_its_last_checkpoint(small_workspace):
    """SIGKILL a real `scatterloop generate train` process once it has written checkpoints, then resume it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from scatterloop.core.generate.checkpoint import latest_checkpoint

    ws = small_workspace
    cmd = [sys.executable, "-m", "scatterloop", "generate", "train", "--workspace", str(ws.root), "--preset", "test"]
    proc = subprocess.Popen([*cmd, "--steps", "100000", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        run_dir = None
        while time.monotonic() < deadline and proc.poll() is None:
            dirs = [p for p in (ws.root / "runs").glob("*") if len(list(p.glob("checkpoints/step-*/state.json"))) >= 3]
            if dirs:
                run_dir = dirs[0]
                break
            time.sleep(0.2)
        why = proc.stderr.read().decode() if proc.poll() is not None else "no checkpoint in 120 s"
        assert run_dir is not None, why
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    run_id = int(run_dir.name)
    last = latest_checkpoint(run_dir)
    step = json.loads((last / "state.json").read_text())["step"]
    assert step >= 6 and proc.returncode == -signal.SIGKILL
    # the store learns that the killed run's process is gone
    assert ws.store.get_run(run_id).status == "running"
    assert run_id in ws.store.reap_interrupted() and ws.store.get_run(run_id).status == "failed"
    out = subprocess.run(
        [*cmd, "--steps", str(step + 4), "--resume", str(run_id), "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # a half-written checkpoint (no state.json yet) is never the one resumed from
    assert res["resumed_from_step"] == step and res["steps"] == step + 4
    assert json.loads((ws.root / res["checkpoint"] / "state.json").read_text())["step"] == step + 4


def test_v_prediction_trains_samples_and_resumes_with_its_own_target(small_workspace, monkeypatch):
    import dataclasses

    from diffusers import DDPMScheduler

    from scatterloop.core.generate import load_generator, sample_batch
    from scatterloop.core.generate.train import _loss

    monkeypatch.setitem(PRESETS, "test-v", dataclasses.replace(PRESETS["test"], prediction_type="v_prediction"))
    ws = small_workspace

    def train(preset, steps, resume=None):
        return run_job(
            ws.store,
            "generate-train",
            {},
            lambda run_id, progress, should_stop: train_domain_model(
                ws, preset, run_id=run_id, max_steps=steps, resume_from=resume
            ),
        )

    run1, res1 = train("test-v", 2)
    cfg = DDPMScheduler.from_pretrained(ws.root / res1.checkpoint / "scheduler").config
    assert cfg.prediction_type == "v_prediction"
    # resuming under an epsilon preset keeps the run's own target
    _, res2 = train("test", 4, resume=ws.run_dir(run1))
    assert DDPMScheduler.from_pretrained(ws.root / res2.checkpoint / "scheduler").config.prediction_type == (
        "v_prediction"
    )
    unet, cond, sched = load_generator(ws.root / res2.checkpoint)
    frames = sample_batch(unet, cond, sched, patterns=["rings"], prompts=["rings"], seeds=[1], steps=2)
    assert frames.shape == (1, 16, 16) and np.isfinite(frames).all()
    # Min-SNR-γ weights by hand: min(snr, γ)/snr for epsilon, min(snr, γ)/(snr + 1) for v
    sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction")
    t = torch.tensor([10, 900])
    ab = sched.alphas_cumprod[t]
    snr = ab / (1 - ab)
    pred, target = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    expected = (torch.clamp(snr, max=5.0) / (snr + 1)).mean()
    assert torch.allclose(_loss(pred, target, t, sched, 5.0), expected, rtol=1e-5)
    eps = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    assert torch.allclose(_loss(pred, target, t, eps, 5.0), (torch.clamp(snr, max=5.0) / snr).mean(), rtol=1e-5)
    assert torch.allclose(_loss(pred, target, t, eps, None), torch.tensor(1.0))
