"""A self-supervised pretraining run is a run like any other: the Jobs view lists it with its status."""

from __future__ import annotations

from scatterloop.callbacks import jobs
from scatterloop.callbacks.services import make_services
from scatterloop.core.classify.pretrain import PretrainParams, run_pretrain


def test_jobs_view_lists_a_pretraining_run(small_workspace):
    services = make_services(small_workspace.settings)
    assert "pretrain" not in str(jobs.runs_table(services))
    run_id, _ = run_pretrain(small_workspace, PretrainParams(arch="tiny", input_size=32, epochs=1, batch_size=4))
    html = str(jobs.runs_table(services))
    assert "pretrain" in html and "done" in html and str(run_id) in html
