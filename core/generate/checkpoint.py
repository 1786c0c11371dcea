"""Checkpoints of the domain model: save_pretrained folders plus optimizer state as safetensors (no pickles)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, st in state["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    save_file(tensors, str(path.with_suffix(".safetensors")))
    path.with_suffix(".json").write_text(json.dumps({"param_groups": state["param_groups"], "scalars": scalars}))


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    tensors = load_file(str(path.with_suffix(".safetensors")))
    meta = json.loads(path.with_suffix(".json").read_text())
    state: dict[int, dict] = {}
    for key, value in list(tensors.items()) + list(meta["scalars"].items()):
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder (its state.json is written last) of a training run, by step number
    (by name, step-1000000 sorted before step-999800)."""
    found = [p.parent for p in (run_dir / "checkpoints").glob("step-*/state.json")]
    found = [p for p in found if p.name.removeprefix("step-").isdigit()]
    return max(found, key=lambda p: int(p.name.removeprefix("step-"))) if found else None


def latest_step(run_dir: Path) -> int | None:
    """The step of a training run's newest complete checkpoint (its folder `step-NNNNNN`), None when it left none."""
    ckpt = latest_checkpoint(run_dir)
    return None if ckpt is None else int(ckpt.name.removeprefix("step-"))
