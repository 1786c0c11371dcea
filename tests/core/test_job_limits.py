"""Job requests are checked before anything is recorded: parameters inside their limits, and at most
`max_jobs` runs queued or running per person."""

from __future__ import annotations

import pytest

from scatterloop.core.job_limits import LIMITS, JobRefused, check_params
from scatterloop.core.worker import QUEUES, submit


@pytest.fixture
def store(workspace):
    return workspace.store


def test_parameters_outside_their_limits_are_refused_by_name(store):
    for params, field in (
        ({"n": 10**6}, "n"),
        ({"steps": 0}, "steps"),
        ({"guidance": float("nan")}, "guidance"),
        ({"n": "12"}, "n"),
        ({"n": True}, "n"),
    ):
        with pytest.raises(JobRefused, match=f"generate: {field} "):
            submit(store, "generate", {"checkpoint": "x", **params})
    with pytest.raises(JobRefused, match="classify: epochs = 100000 is outside"):
        submit(store, "classify", {"epochs": 100_000})
    assert store.list_runs() == []  # nothing recorded for a refusal
    submit(store, "generate", {"checkpoint": "x", "n": 16, "steps": None})  # None: the default
    assert len(store.list_runs()) == 1


def test_every_job_kind_has_limits():
    assert set(QUEUES) <= set(LIMITS)
    check_params("embed", {"size": 64, "epochs": 20, "seed": None})


def test_a_person_may_have_at_most_max_jobs_active(store):
    for _ in range(2):
        submit(store, "symmetry", {}, started_by="ada", max_jobs=2)
    with pytest.raises(JobRefused, match="ada already has 2 jobs queued or running"):
        submit(store, "symmetry", {}, started_by="ada", max_jobs=2)
    submit(store, "symmetry", {}, started_by="bob", max_jobs=2)  # another person's allowance
    first = store.list_runs()[-1]
    store.update_run(first.id, status="done")
    submit(store, "symmetry", {}, started_by="ada", max_jobs=2)  # a finished run frees a place
    for _ in range(5):
        submit(store, "symmetry", {}, started_by=None, max_jobs=0)  # 0: no allowance
    assert store.count_active_runs("ada") == 2 and store.count_active_runs(None) == 5
