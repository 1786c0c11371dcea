"""`scatterloop bench pretrain`: does a self-supervised encoder of the workspace's frames help the classifiers?

On the loop benchmark's simulated candidates (the simulator's hallucination variants, half of them fake, truth
kept; an annotator erring on 5 % of them), with `n` labels, three rounds are trained on the same fixed
validation set and scored on a held-out truth set: the physics model with a ResNet-18 from scratch, the same
with the ResNet-18 started from a SimCLR encoder pretrained on every frame of the workspace (labelled or not),
and the physics model with model zero (a logistic layer on the frozen encoder's and the physics features).
Each member's accuracy and the soft vote of each round are reported; the loop benchmark is left as it is.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from . import job, step
from .classify_bench import _simulated_workspace as _workspace
from .io_bench import machine
from .loop_bench import _score, _threshold, _truth


def bench_pretrain(
    n: int = 150,
    size: int = 64,
    epochs: int | None = None,
    seed: int = 0,
    quick: bool = False,
) -> dict:
    """Accuracy on truth of ResNet-18 from scratch against from the pretrained encoder, and of model zero."""
    from ..classify import RoundParams, train_round
    from ..classify.pretrain import PretrainParams, pretrain
    from ..classify.scoring import round_probabilities

    pool, n_exp, n_test = (200, 60, 150) if quick else (400, 120, 300)
    pre_epochs = epochs or (5 if quick else 15)
    net_epochs = 8 if quick else 30
    rng = np.random.default_rng(seed)
    out: dict = {"bench": "pretrain", "machine": machine(), "quick": quick, "labels": n, "input_size": size}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        step(0, 2, "simulating candidates")
        ws = _workspace(root / "a", pool, n_exp, 256, seed)
        step(1, 2, "simulating the truth set")
        test_ws = _workspace(root / "test", n_test, 0, 256, seed + 500)
        test_imgs = [img for img, _ in test_ws.store.list_images()]
        y_test = np.array([_truth(img) for img in test_imgs])
        cands = [img for img, _ in ws.store.list_images() if img.source == "generated"]
        chosen = [cands[i] for i in rng.permutation(len(cands))[:n]]
        for img in chosen:
            said = _truth(img) ^ int(rng.random() < 0.05)
            ws.store.add_labels([img.id], "realistic" if said else "fake", "oracle")

        def round_(models, encoder):
            params = RoundParams(models=models, input_size=size, epochs=net_epochs, encoder=encoder, seed=seed)
            run_id, _ = job(
                ws.store,
                "classify",
                lambda run_id, progress, should_stop: train_round(
                    ws, params, run_id=run_id, progress=progress, should_stop=should_stop
                ),
                f"round of {'+'.join(models)}{' from the encoder' if encoder else ''}",
            )
            result = ws.store.get_run(run_id).result
            archs, probs = round_probabilities(ws, result, test_imgs, image_ws=test_ws)
            k = result["classes"].index("realistic")
            t = _threshold(result)  # the recipe's decision rule, as the product calls images
            row = {a: _score(p[:, k], y_test, t) for a, p in zip(archs, probs, strict=True)}
            row["soft_vote"] = _score(probs.mean(0)[:, k], y_test, t)
            row["seconds"] = round(result["seconds"], 1)
            row["start"] = {a: m["start"] for a, m in result["models"].items()}
            return row

        out["scratch"] = round_(("physics", "resnet18"), False)
        t0 = time.perf_counter()
        _, res = job(
            ws.store,
            "pretrain",
            lambda run_id, progress, should_stop: pretrain(
                ws,
                run_id,
                PretrainParams(input_size=size, epochs=pre_epochs, seed=seed),
                progress=progress,
                should_stop=should_stop,
            ),
            "self-supervised pretraining",
        )
        out["pretrain"] = {
            "frames": res.images,
            "epochs": pre_epochs,
            "seconds": round(time.perf_counter() - t0, 1),
            "final_loss": round(res.history[-1]["loss"], 4),
            "contrast_acc": round(res.history[-1]["contrast_acc"], 4),
        }
        out["encoder_init"] = round_(("physics", "resnet18"), True)
        out["model_zero"] = round_(("physics", "zero"), True)
        out["truth_n"] = int(len(y_test))
        ws.store.dispose()
        test_ws.store.dispose()
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    return out
