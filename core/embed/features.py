"""What the map is drawn from besides the autoencoder: the physics features, or what a classifier round learned.

The autoencoder learns to redraw frames, so its latents keep what is large in a frame (pattern, intensity)
and lose the small departures that make a candidate fake. The loop's own features keep exactly those: the
physics features as robust z-scores against the workspace's experimental frames (what the physics model
sees, before it weights anything), or a trained round's view of an image, a network's penultimate layer
(the paper's Fig. 8 separates realistic from fake candidates this way) or, for a round without a network,
the physics model's standardised input. Everything here reads `core.classify`; nothing there is changed.

Each source returns an (N, D) matrix plus a small state dict (arrays) that the map's cache keeps, so images
added later are described the same way (same reference frames, same checkpoint) and placed, not re-fitted.
"""

from __future__ import annotations

import numpy as np

from ..jobs import ProgressFn, StopFn, never_stop, no_progress

SOURCES = ("autoencoder", "physics")


def parse_source(features: str) -> tuple[str, int | None]:
    """("autoencoder" | "physics" | "classifier", run id or None); a clear ValueError for anything else."""
    features = (features or "autoencoder").strip()
    if features in SOURCES:
        return features, None
    kind, _, run = features.partition(":")
    if kind == "classifier" and run.strip().isdigit():
        return "classifier", int(run)
    raise ValueError(f"features: expected 'autoencoder', 'physics' or 'classifier:<run id>', got {features!r}")


def _physics_model(state: dict | None, ws, progress: ProgressFn, should_stop: StopFn):
    """A FeatureClassifier holding only reference statistics: from the cached state, or fitted to the
    workspace's experimental frames now (all frames when there are none, as a round does)."""
    import torch

    from ..classify.featmodel import FeatureClassifier
    from ..classify.features_data import reference, with_groups

    # a map built before the newest features were appended keeps describing new images by its own features
    model = FeatureClassifier(2, n_features=None if state is None else int(np.shape(state["ref_centre"])[1]))
    if state is not None:
        model.ref_centre.copy_(torch.as_tensor(state["ref_centre"]))
        model.ref_scale.copy_(torch.as_tensor(state["ref_scale"]))
        return model
    feats, groups = reference(ws, progress=progress, should_stop=should_stop)
    if len(feats) == 0:
        x = with_groups(ws, [img for img, _ in ws.store.list_images()], progress=progress, should_stop=should_stop)
        feats, groups = x[:, :-1], x[:, -1]
    model.set_reference(feats, groups)
    return model


def physics_features(
    ws, images, state: dict | None = None, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop
) -> tuple[np.ndarray, dict]:
    """(N, 2F + 1) z-scores, their magnitudes and the worst departure, as the physics model's `phi` sees them."""
    import torch

    from ..classify.features_data import with_groups

    model = _physics_model(state, ws, progress, should_stop)
    x = with_groups(ws, images, progress=progress, should_stop=should_stop)
    with torch.no_grad():
        phi, _ = model.phi(torch.as_tensor(x))
    state = {"ref_centre": model.ref_centre.numpy().copy(), "ref_scale": model.ref_scale.numpy().copy()}
    return phi.numpy().astype(np.float32), state


def _pick_model(ws, result: dict) -> tuple[str, object, object]:
    """The round's network with the largest ensemble weight (a penultimate layer to read), else its physics
    model; torchvision networks (AlexNet, SqueezeNet) have no `forward_head` and are passed over."""
    from ..classify.registry import load_classifier

    archs = sorted(result["models"], key=lambda a: -float((result.get("weights") or {}).get(a, 0.0)))
    physics = None
    for arch in archs:
        model, cfg = load_classifier(ws.root / result["models"][arch]["checkpoint"], "cpu")
        if cfg.kind == "image" and hasattr(model, "forward_head"):
            return arch, model, cfg
        if cfg.kind == "features" and physics is None:
            physics = (arch, model, cfg)
    if physics is None:
        raise ValueError(f"this round's models ({', '.join(archs)}) have no penultimate layer to map")
    return physics


def classifier_features(
    ws, run_id: int, images, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop
) -> tuple[np.ndarray, dict]:
    """(N, D) features of one finished round: a timm network's pre-logits, or the physics model's standardised
    input (`phi` against its own reference frames, scaled as its linear heads see it)."""
    import torch

    from ..classify.features_data import with_groups
    from ..classify.inputs import load_inputs
    from ..classify.train import model_batch
    from ..jobs import check_stop

    run = ws.store.get_run(run_id)
    if run is None or run.kind != "classify" or run.status != "done" or not run.result:
        raise ValueError(f"run {run_id}: not a finished classifier round")
    arch, model, cfg = _pick_model(ws, run.result)
    model.eval()
    with torch.no_grad():
        if cfg.kind == "features":
            x = torch.as_tensor(with_groups(ws, images, progress=progress, should_stop=should_stop))
            phi, _ = model.phi(x)
            out = ((phi - model.phi_mean) / model.phi_std).numpy()
        else:
            pairs = load_inputs(ws, images, cfg.input_size, progress=progress, should_stop=should_stop)
            chunks = []
            for start in range(0, len(pairs), 32):
                check_stop(should_stop)
                pb = model_batch(torch.from_numpy(pairs[start : start + 32]), cfg.input_size, cfg.channels)
                chunks.append(model.forward_head(model.forward_features(pb), pre_logits=True).flatten(1).numpy())
            out = np.concatenate(chunks) if chunks else np.zeros((0, 0))
    return out.astype(np.float32), {"arch": np.array(arch)}


def map_features(
    ws,
    images,
    features: str,
    state: dict | None = None,
    *,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> tuple[np.ndarray, dict]:
    """Features of `images` from a non-autoencoder source, with the state that describes later images alike."""
    kind, run_id = parse_source(features)
    if kind == "physics":
        return physics_features(ws, images, state, progress=progress, should_stop=should_stop)
    if kind == "classifier":
        return classifier_features(ws, run_id, images, progress=progress, should_stop=should_stop)
    raise ValueError("the autoencoder's latents come from the autoencoder itself (pipeline.build_map)")
