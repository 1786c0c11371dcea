"""Progress and scores as a browser review found them misleading (2026-12-07): a bar that goes 0-100 % stage after
stage, a stage change the throttle swallowed, time left on a cancelled job, a symmetry score about no centre."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from scatterloop.callbacks.job_watch import bar_text
from scatterloop.core.explore import PolarView
from scatterloop.core.jobs import Plan, run_job
from scatterloop.core.progress import Eta
from scatterloop.core.store import Store


def test_a_plan_counts_steps_that_count_on_their_own_as_one_job_that_only_moves_forward():
    calls = []
    plan = Plan(lambda d, t, m: calls.append((d, t, m)), 43)
    features = plan.part(12, 3)  # training, validation and reference frames, each counted from 0
    for total in (10, 4, 6):
        for n in range(total + 1):
            features(n, total, f"features {n}/{total}")
    plan.step("physics: fitting", 2)
    plan.step("physics: 5-fold check of the labels", 6)
    epochs = plan.part(20)
    for n in range(0, 13, 3):  # stopped early at 12 of 20 batches: the next step starts where this one ends
        epochs(n, 20, "epoch")
    plan.step("calibrating", 1)
    plan.finish("round finished")
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and {t for _, t, _ in calls} == {43}
    assert ("physics: fitting" in [m for _, _, m in calls]) and calls[-1] == (43, 43, "round finished")
    assert (12, 43, "physics: fitting") in calls and (40, 43, "calibrating") in calls
    eta, stages = Eta(now=iter(range(1000)).__next__), set()
    for d, t, m in calls:
        eta(d, t, m)
        stages.add(eta.stage)
    assert stages == {1}  # the Dash bar reads it as one job, never "stage 2"


def test_the_store_hears_a_new_phase_at_once_though_the_bar_is_throttled(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    seen = []

    def work(run_id, progress, should_stop):
        for n in range(1, 101):
            progress(n, 100, f"autoencoder {n}/100")
        progress(0, 2, "umap 2-D")  # silent for as long as UMAP runs
        seen.append((store.get_run(run_id).message, store.get_run(run_id).progress))
        for n in range(1, 11):  # one count of a plan, then a silent step of it: the same total throughout
            progress(n, 40, f"physics features {n}/10")
        seen.append(store.get_run(run_id).message)
        progress(12, 40, "physics: fitting on 28 labels")
        seen.append(store.get_run(run_id).message)
        return {}

    run_job(store, "embed", {}, work, min_interval=3600.0)
    assert seen == [("umap 2-D", 0.0), "physics features 1/10", "physics: fitting on 28 labels"]


def test_a_cancelled_or_failed_run_shows_no_time_left():
    eta = Eta(now=iter(range(0, 1000, 3)).__next__)
    running = SimpleNamespace(status="running", progress=0.2, message="step 1/5")
    assert "left" in bar_text(running, eta)[1]
    for status, message, said in (
        ("cancelled", "cancelled", "20% · cancelled"),
        ("failed", "ValueError: no checkpoint", "20% · failed: ValueError: no checkpoint"),
    ):
        run = SimpleNamespace(status=status, progress=0.2, message=message)
        assert bar_text(run, eta) == (20, said)


def test_a_frame_that_fixes_no_centre_has_no_symmetry_score():
    view = dict(image_id=1, centre_x=5.0, centre_y=5.0, score=0.41, source="search", r=[], intensity=[], warp_png="")
    assert PolarView(**view).symmetry == 0.41
    assert PolarView(**view, status="no centre").symmetry == -1.0
    assert np.isfinite(PolarView(**view).score)


def test_a_plan_part_weighs_its_counts_and_a_first_round_weighs_the_new_features(small_workspace):
    """A browser review saw "25% · physics features 291/300 · ~7:13 left" eight seconds before a round ended: the
    features of new frames, 95 % of a first round's time, had a quarter of its bar, in three equal thirds."""
    from scatterloop.core.classify.features_data import to_compute
    from scatterloop.core.classify.physics import image_features

    seen = []
    plan = Plan(lambda done, total, message="": seen.append(done), 20)
    count = plan.part(10, 3, [8, 1, 1])
    count(4, 8)
    assert seen[-1] == 4  # half of the first count: half of its 8 units
    count(8, 8)
    count(1, 1)  # the second count, begun again from 0 (a new total)
    assert seen[-1] == 9
    ws = small_workspace
    generated = [img for img, _ in ws.store.list_images() if img.source == "generated"]
    assert to_compute(ws, generated[:3], generated[3:]) == [3, 3, 6]  # nothing cached; 6 experimental frames
    image_features(ws, generated[0])
    assert to_compute(ws, generated[:3], generated[3:]) == [2, 3, 6]
