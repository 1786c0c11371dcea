"""Generate tab callbacks: what is offered for resuming and what a cancel says."""

from __future__ import annotations

from scatterloop.callbacks import generate
from scatterloop.callbacks.services import make_services


def test_only_training_runs_that_left_a_checkpoint_are_offered_for_resume(small_workspace):
    """Before: a run cancelled after 5 of 1000 steps (checkpoints every 200) was offered, its cancel line said
    its last checkpoint could be resumed, and resuming it failed."""
    services = make_services(small_workspace.settings)
    store = services.store
    early, late = (store.create_run("generate-train", {"preset": "cpu"}) for _ in range(2))
    for run_id in (early, late):
        store.update_run(run_id, status="cancelled")
    state = small_workspace.run_dir(late) / "checkpoints" / "step-000400" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text("{}")
    resume, _, _ = generate.options(services)
    assert resume == [{"label": f"run {late} (cancelled, step 400)", "value": late}]
    assert generate._checkpoint_step(services, early) is None  # its cancel line: nothing to resume
