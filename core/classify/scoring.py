"""Probabilities of a finished round's models for any images: the one path prediction and benchmarks share."""

from __future__ import annotations

import numpy as np

from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .registry import load_classifier


def round_probabilities(ws, result: dict, images: list, **kwargs) -> tuple[list[str], np.ndarray]:
    """(model names, calibrated probabilities (M, N, K)) of every model of a round's result for `images`
    (`round_predictions`' keywords)."""
    archs, probs, _ = round_predictions(ws, result, images, domain=False, **kwargs)
    return archs, probs


def round_predictions(
    ws,
    result: dict,
    images: list,
    *,
    device: str = "cpu",
    image_ws=None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    domain: bool = True,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(model names, calibrated probabilities (M, N, K), domain ratios (M, N)) of every model of a round's result
    for `images` (images of `image_ws` when they belong to another workspace than the models). A ratio above 1:
    the image lies farther from the network's training frames than nearly all of its validation frames
    (`domain.DomainCheck`); NaN for models without a check (physics models, rounds trained before it) and
    everywhere with `domain=False` (not measured)."""
    from .domain import captured_features, load_domain
    from .featmodel import feature_logits
    from .features_data import with_groups
    from .inputs import load_inputs
    from .train import predict_proba

    archs = list(result["models"])
    loaded = [load_classifier(ws.root / result["models"][a]["checkpoint"], device) for a in archs]
    sizes = {cfg.input_size for _, cfg in loaded if cfg.kind in ("image", "hybrid")}
    iws = image_ws or ws
    pairs = {s: load_inputs(iws, images, s, progress=progress, should_stop=should_stop) for s in sizes}
    feats = None
    probs, ratios = [], np.full((len(archs), len(images)), np.nan)
    for k, (arch, (model, cfg)) in enumerate(zip(archs, loaded, strict=True)):
        check_stop(should_stop)
        if cfg.kind in ("features", "hybrid") and feats is None:
            feats = with_groups(iws, images, progress=progress, should_stop=should_stop)
        if cfg.kind == "hybrid":
            from .calibrate import softmax
            from .pretrain_zero import zero_inputs, zero_logits

            z = zero_inputs(model, feats, pairs[cfg.input_size], input_size=cfg.input_size, channels=cfg.channels,
                            device=device, should_stop=should_stop)  # fmt: skip
            probs.append(softmax(zero_logits(model.cpu(), z), cfg.temperature))
        elif cfg.kind == "features":
            if feats is None:
                feats = with_groups(iws, images, progress=progress, should_stop=should_stop)
            from .calibrate import softmax

            probs.append(softmax(feature_logits(model.cpu(), feats), cfg.temperature))
        else:
            check = load_domain(ws.root / result["models"][arch]["checkpoint"]) if domain else None
            with captured_features(model, check.ratio if check is not None else None) as got:
                probs.append(
                    predict_proba(
                        model,
                        pairs[cfg.input_size],
                        input_size=cfg.input_size,
                        device=device,
                        channels=cfg.channels,
                        temperature=cfg.temperature,
                        should_stop=should_stop,
                    )
                )
            if check is not None and got:
                ratios[k] = np.concatenate(got)
        progress(k + 1, len(archs), f"predicted with {arch} ({k + 1}/{len(archs)})")
    return archs, np.stack(probs), ratios
