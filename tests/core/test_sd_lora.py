"""Stable Diffusion + LoRA end to end on a tiny random SD configuration built here (no download)."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
import torch

from scatterloop.core.generate.sd_lora import sample_lora, train_lora
from scatterloop.core.jobs import Cancelled


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root = tmp_path_factory.mktemp("tiny-sd")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        norm_num_groups=4,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=[8, 16],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=16,
    )
    # a character-level CLIP vocabulary: every symbol alone and word-final, plus the specials
    symbols = list(string.ascii_lowercase + string.digits + ".-")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for s in symbols:
        vocab[s] = len(vocab)
        vocab[s + "</w>"] = len(vocab)
    tok_dir = root / "tokenizer-files"
    tok_dir.mkdir()
    (tok_dir / "vocab.json").write_text(json.dumps(vocab))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=16, pad_token="<|endoftext|>"
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=len(vocab),
            max_position_embeddings=16,
        )
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDPMScheduler(num_train_timesteps=100),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(root / "sd")
    return root / "sd"


@pytest.fixture
def imagefolder(tmp_path):
    from PIL import Image

    folder = tmp_path / "train"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with open(folder / "metadata.jsonl", "w") as fh:
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (24, 24), dtype=np.uint8)).save(folder / f"{i}.png")
            fh.write(json.dumps({"file_name": f"{i}.png", "text": "rings of lab6 at 12 kev"}) + "\n")
    return folder


def test_lora_trains_saves_and_samples(tiny_sd, imagefolder, tmp_path):
    res = train_lora(tiny_sd, imagefolder, tmp_path / "lora", resolution=32, rank=2, steps=3, device="cpu")
    assert res.steps == 3 and res.dtype == "float32" and all(np.isfinite(res.losses))
    weights = list((tmp_path / "lora").glob("*.safetensors"))
    assert len(weights) == 1
    from safetensors.torch import load_file

    keys = load_file(str(weights[0])).keys()
    assert keys and all("lora" in k for k in keys)
    frames = sample_lora(tiny_sd, tmp_path / "lora", ["rings", "peaks"], steps=2, device="cpu", resolution=32)
    assert frames.shape == (2, 32, 32) and np.isfinite(frames).all() and 0 <= frames.min() <= frames.max() <= 1
    plain = sample_lora(tiny_sd, None, ["rings"], steps=2, device="cpu", resolution=32)
    assert not np.allclose(plain[0], frames[0])  # the adapter changes the output


def test_lora_sampling_cancels_within_a_step(tiny_sd):
    calls = iter([False, True] + [True] * 50)
    seen = []
    with pytest.raises(Cancelled):
        sample_lora(
            tiny_sd,
            None,
            ["rings"],
            steps=5,
            device="cpu",
            resolution=32,
            progress=lambda d, t, m: seen.append(d),
            should_stop=lambda: next(calls),
        )
    assert seen and max(seen) <= 2


def test_sd_lora_cli_train_and_sample_registers_candidates(tiny_sd, imagefolder, small_workspace, capsys):
    from scatterloop.core.cli import main

    ws = str(small_workspace.root)
    base = [
        "--workspace",
        ws,
        "--backend",
        "sd-lora",
        "--base",
        str(tiny_sd),
        "--resolution",
        "32",
        "--json",
        "--quiet",
        "--device",
        "cpu",
    ]
    assert main(["generate", "train", *base, "--data", str(imagefolder), "--steps", "2", "--rank", "2"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    lora = small_workspace.root / small_workspace.store.list_artifacts(kind="lora")[-1].path
    assert trained["steps"] == 2 and lora.is_dir()
    assert (
        main(["generate", "sample", *base, "--lora", str(lora), "-n", "2", "--steps", "2", "--prompt", "rings"]) == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    images = small_workspace.store.get_images(out["image_ids"])
    assert len(images) == 2 and all(i.provenance["backend"] == "sd-lora" and i.prompt == "rings" for i in images)
