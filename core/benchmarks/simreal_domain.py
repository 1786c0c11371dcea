"""The domain check of `bench simreal`: does the pattern network know when a frame is unlike its training frames?

For the network `bench simreal` trains (wide-domain simulated frames), and for a baseline trained the same way on
the default domain's square frames only (what a pattern round learns from a workspace of the default simulator's
frames), the check (`core.classify.domain`: Mahalanobis distance of the penultimate features, threshold the 99th
percentile of simulated validation frames) is measured on
- fresh simulated frames of the training kind (the share flagged should be about 1 %),
- the manifest's rings / peaks / background frames (by file and by frame; its calls right and wrong),
- the manifest's frames of other kinds (speckle, diffuse, GISAXS: no class of the model fits them) and 60 of the
  simulator's coherent speckle frames (a kind without a class that owes nothing to the manifest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..classify.domain import network_domain, network_features


def _feats(model, x, size, channels, device) -> tuple[np.ndarray, np.ndarray]:
    return network_features(model, x, input_size=size, channels=channels, device=device)


def other_kinds(manifest: Path, size: int, classes) -> dict[str, np.ndarray]:
    """Inputs of the manifest's frames whose kind is none of `classes`, by kind."""
    from ..classify.inputs import frame_input
    from .manifest import load_manifest, read_entry

    entries, skipped = load_manifest(manifest)
    out: dict[str, list] = {}
    for e in entries:
        if e["kind"] in classes:
            continue
        pairs = read_entry(manifest, e, skipped, lambda frame: frame_input(frame.data, frame.mask, size))
        if pairs:
            out.setdefault(e["kind"], []).extend(pairs)
    return {k: np.stack(v) for k, v in out.items()}


def default_domain_set(n_per_class: int, size: int, seed: int, classes) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of the default simulator's square 256-px frames (no artefacts)."""
    from ..classify.inputs import frame_input
    from ..io import detector_mask
    from ..simulate.dataset import frame_record

    xs, ys = [], []
    for i in range(n_per_class):
        for c, pattern in enumerate(classes):
            counts, _ = frame_record(pattern, seed + 7919 * c, i, 256, None)
            xs.append(frame_input(counts, detector_mask(counts), size))
            ys.append(c)
    return np.stack(xs), np.asarray(ys, np.int64)


def speckle_set(n: int, size: int, seed: int) -> np.ndarray:
    """Inputs of the simulator's coherent speckle of 2-D disks (mono- and polydisperse), at 10^4 counts peak: a
    kind of frame no pattern class stands for, made here rather than taken from the manifest."""
    from ..classify.inputs import frame_input
    from ..simulate.dataset import frame_record

    xs = []
    for i in range(n):
        counts, _ = frame_record("speckle" if i % 2 else "speckle-poly", seed, i, 256, None)
        counts = np.asarray(counts, np.float64) * (1e4 / max(float(np.max(counts)), 1e-12))
        xs.append(frame_input(counts, np.zeros(counts.shape, bool), size))
    return np.stack(xs)


def measure(model, train, val, test, real, other, *, size, channels, device) -> dict:
    """The check fitted on `train`/`val` ((x, y) pairs) and measured on `test` (x, y), `real` (x, y, fidx) and
    `other` ({kind: x})."""
    check = network_domain(model, *train, val[0], input_size=size, channels=channels, device=device)
    if check is None:
        return {"error": "too few frames to fit the check"}
    ft, _ = _feats(model, test[0], size, channels, device)
    fr, logits = _feats(model, real[0], size, channels, device)
    rt, rr = check.ratio(ft), check.ratio(fr)
    right = logits.argmax(1) == real[1]
    out = {
        "validation_frames": int(len(val[0])),
        "false_flag_bound": check.false_flag_bound,
        "sim_test_outside_fraction": round(float(np.mean(rt > 1)), 4),
        "sim_test_frames": int(len(rt)),
        "real_outside_fraction": round(float(np.mean(rr > 1)), 4),
        "real_files_outside_fraction": round(
            float(np.mean([np.median(rr[real[2] == i]) > 1 for i in np.unique(real[2])])), 4
        ),  # fmt: skip
        "real_frames": int(len(rr)),
        "real_accuracy": round(float(np.mean(right)), 4),
        "real_outside_right": int(np.sum((rr > 1) & right)),
        "real_outside_wrong": int(np.sum((rr > 1) & ~right)),
        "real_wrong": int(np.sum(~right)),
        "real_median_ratio": round(float(np.median(rr)), 3),
        "other_kinds": {},
    }
    for kind, x in other.items():  # "simulated speckle" is `speckle_set`'s, the others the manifest's
        fo, _ = _feats(model, x, size, channels, device)
        ro = check.ratio(fo)
        out["other_kinds"][kind] = {"frames": int(len(ro)), "outside": int(np.sum(ro > 1))}
    return out


def domain_report(model, data: dict, *, baseline_n: int, fit_kwargs: dict, seed: int) -> dict:
    """The check on the bench's network and, when `baseline_n` > 0, on a network trained the same way on
    `baseline_n` default-domain frames per class."""
    import torch

    from ..classify import create_classifier, fit

    size, channels, device = fit_kwargs["input_size"], fit_kwargs["channels"], fit_kwargs["device"]
    args = dict(size=size, channels=channels, device=device)
    other = other_kinds(data["manifest"], size, data["classes"])
    other["simulated speckle"] = speckle_set(60, size, seed)
    report = {
        "quantile": 0.99,  # conformal (`domain.fit_domain`)
        "wide": measure(model, data["train"], data["val"], data["test"], data["real"], other, **args),
    }
    if baseline_n > 0:
        x, y = default_domain_set(baseline_n, size, seed, data["classes"])
        xv, yv = default_domain_set(max(2, baseline_n // 5), size, seed + 10_000, data["classes"])
        torch.manual_seed(seed)
        base = create_classifier(fit_kwargs["arch"], len(data["classes"]), input_size=size, in_chans=channels)
        kw = {k: v for k, v in fit_kwargs.items() if k != "arch"}
        fit(base, x, y, x_val=xv, y_val=yv, seed=seed, **kw)
        xt, yt = default_domain_set(max(2, baseline_n // 5), size, seed + 20_000, data["classes"])
        report["default_domain_baseline"] = {
            "train_per_class": baseline_n,
            **measure(base, (x, y), (xv, yv), (xt, yt), data["real"], other, **args),
        }
    return report
