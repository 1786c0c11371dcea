"""What a browser walkthrough of waits and errors found (2026-12-07): a reloaded page's uncollected result shown
for the next identical click, numbers a box found invalid run as the defaults, and an annotator name longer than
its column stored."""

from __future__ import annotations

import pytest

from scatterloop.callbacks import explore_map, generate, train_recipe
from scatterloop.callbacks.fields import number, whole
from scatterloop.callbacks.services import make_services


def test_every_background_call_has_its_own_result_key(workspace):
    """Dash keys a background result by the callback's inputs: the result a reloaded page never collected was
    handed to the next click with the same inputs, showing the old run's outcome while the new one ran unwatched."""
    services = make_services(workspace.settings)
    manager = services.background_manager

    def fn(n_clicks):
        return n_clicks

    first = manager.build_cache_key(fn, [1], [], None)
    second = manager.build_cache_key(fn, [1], [], None)
    assert first != second
    manager.handle.set(first, "run 47's outcome")
    assert manager.result_ready(first) and not manager.result_ready(second)


def test_boxes_read_as_typed():
    assert whole(None, "epochs") is None and whole("", "epochs") is None and whole(3.0, "epochs") == 3
    with pytest.raises(ValueError, match="epochs: expected a whole number, got 2.5"):
        whole(2.5, "epochs")
    assert number(2.25, "guidance") == 2.25
    with pytest.raises(ValueError, match="guidance: expected a number"):
        number(float("nan"), "guidance")


def test_an_invalid_number_is_refused_naming_its_field_not_replaced_by_the_default(small_workspace):
    services = make_services(small_workspace.settings)
    values = {"models": ["physics"], "task": "realism", "recipe": "ours"}
    with pytest.raises(ValueError, match="epochs: expected a whole number, got 2.5"):
        train_recipe.round_params({**values, "epochs": 2.5})
    with pytest.raises(ValueError, match="input px: expected a whole number"):
        train_recipe.round_params({**values, "input_size": 2.5})
    assert train_recipe.round_params({**values, "input_size": -5}).input_size == -5  # the round's limits say no
    said = explore_map.run_map_job(services, "build", "pca", 2.5, 20, None)
    assert said == "Cannot build the map: seed: expected a whole number, got 2.5"
    said = explore_map.run_map_job(services, "build", "pca", 0, 0, None)
    assert said.startswith("Not started: embed: epochs = 0 is outside"), said  # 0 epochs once ran 20
    assert explore_map.run_map_job(services, "build", "pca", -1, 5, None).startswith("Not started: embed: seed = -1")
    said = generate.run_training(services, "cpu", 0, None, None)
    assert said.startswith("Not started: generate-train: steps = 0 is outside"), said  # 0 once ran 1,000 steps
    small_workspace.store.add_artifact("generator", "runs/1/checkpoint", run_id=None, meta={})
    for count, seed, steps, guidance, why in (
        (0, 0, 25, 2.0, "n = 0 is outside"),
        (-3, 0, 25, 2.0, "n = -3 is outside"),
        (2.5, 0, 25, 2.0, "count: expected a whole number, got 2.5"),
        (4, 0, 0, 2.0, "steps = 0 is outside"),
    ):
        said = generate.run_sampling(services, None, None, None, count, seed, steps, guidance, None)
        assert why in said, said
    assert [r.kind for r in small_workspace.store.list_runs(100)] == []  # nothing ran


def test_an_annotator_name_longer_than_its_column_is_refused(small_workspace):
    from scatterloop.callbacks.label_actions import apply_label

    services = make_services(small_workspace.settings)
    image = small_workspace.store.list_images()[0][0].id
    ok, said = apply_label(services, "realistic", [image], "Dr. " + "x" * 300)
    assert not ok and "annotator: a name of at most 100 characters, got 304" in said, said
    assert small_workspace.store.current_labels() == {}


def test_whoever_can_label_can_accept_pre_labels(small_workspace):
    """A 128-character name was stored, then every pre-label it accepted was refused: the name plus " (pre-label ≥
    0.9)" outgrew the column. A person's name now keeps room for the longest threshold's suffix."""
    from scatterloop.core.store.undo import prelabel_annotator

    store = small_workspace.store
    first, second = (img.id for img, _ in store.list_images()[:2])
    name = "y" * 100
    store.add_labels([first], "realistic", name)
    accepted = prelabel_annotator(name, 0.9123456789)
    assert store.add_labels_where_unlabeled({second: ("fake", 0.95)}, accepted) == [second]
    assert {i: s.label for i, s in store.current_labels().items()} == {first: "realistic", second: "fake"}
    # a longer name stored before that rule (a user of 120 characters) still labels, and is told why it cannot
    # accept pre-labels rather than being locked out
    old = "z" * 120
    store.add_labels([first], "fake", old)
    with pytest.raises(ValueError, match="a name of 120 characters leaves no room for a pre-label's threshold"):
        store.add_labels_where_unlabeled({first: ("fake", 0.95)}, prelabel_annotator(old, 0.9))
    from scatterloop.core.auth import add_user, proxy_identity

    with pytest.raises(ValueError, match="user name: at most 100 characters"):
        add_user(store, old, "annotator")  # new users keep the room
    store.add_user(old, "annotator", None)  # as an older version stored them
    assert proxy_identity(store, old).role == "annotator"


def test_a_job_that_cannot_run_on_this_workspace_is_refused_at_the_click(workspace):
    """Generator training on a one-image workspace said "started" and failed 11 s later."""
    from scatterloop.callbacks import evaluate

    services = make_services(workspace.settings)
    said = generate.run_training(services, "cpu", None, None, None)
    assert said == "Cannot train: training the generator needs at least 4 experimental images in the workspace."
    said = explore_map.run_map_job(services, "build", "pca", 0, 5, None)
    assert said == "Cannot build the map: a map needs at least 3 images in the workspace."
    said = evaluate.run_evaluation(services, "autoencoder", None)
    assert said == "Cannot evaluate: evaluate: the workspace has no experimental frames with a pattern."
    assert workspace.store.list_runs(10) == []


def test_the_estimate_left_is_not_fooled_by_work_done_before_the_job_started():
    """An evaluation whose features were cached jumped to 41 % in a second, then crept: the bar promised ~0:02
    with 23 s left, reading the first second as the rate of the rest."""
    from scatterloop.core.progress import Eta

    t = [0.0]
    eta = Eta(now=lambda: t[0])
    for when, done in ((1.0, 41), (3.5, 53), (10.0, 70), (20.0, 90)):
        t[0] = when
        _, text = eta(done, 100, "features")
    # at 20 s, 90 %: the later half of the run went 53 → 90 % in 16.5 s, so about 4-5 s are left (not 2 s)
    assert text.endswith("~0:04 left") or text.endswith("~0:05 left"), text
    t[0] = 0.0
    eta = Eta(now=lambda: t[0])
    t[0] = 1.0
    eta(41, 100, "x")
    t[0] = 3.5  # 53 %: from the start's rate 0:03 were left; over the later half, 12 % in 2.5 s: 0:10
    assert eta(53, 100, "x")[1] == "53% · x · 0:04, ~0:10 left"


def test_an_empty_workspace_says_where_images_come_from(tmp_path, small_workspace):
    from scatterloop.callbacks import label
    from scatterloop.core.config import Settings

    fresh = make_services(Settings(workspace=tmp_path / "fresh"))
    empty = label.render_grid(fresh, label.make_filter(None, None, None, None), 0, [])
    assert empty[2].startswith("no images yet: scatterloop import")
    services = make_services(small_workspace.settings)
    none = label.render_grid(services, label.make_filter("generated", "nothing-like-this", None, None), 0, [])
    assert none[2] == "no images match"


def test_a_click_that_would_start_a_running_job_again_follows_it(small_workspace):
    from scatterloop.callbacks.job_watch import launch, resume, running_twin
    from scatterloop.dashboard import ids

    store = small_workspace.store
    services = make_services(small_workspace.settings)
    params = {"method": "pca", "epochs": 5}
    running = store.create_run("embed", params)
    store.update_run(running, status="running")
    queued = store.create_run("embed", {"method": "umap"})  # queued, perhaps for ever: never taken up
    assert launch(services, "embed", dict(params), ids.EXPLORE_PROGRESS) == running
    assert [r.id for r in store.list_runs()] == [queued, running]  # nothing new recorded
    assert running_twin(services, "embed", params).id == running and running_twin(services, "evaluate", params) is None
    assert resume(services, running, ids.EXPLORE_PROGRESS).id == running
    assert resume(services, None, "x") is None
    assert resume(services, queued, ids.EXPLORE_PROGRESS) is None  # a queued run is never taken up
    # the page asked while it ran; it ended since: taken up all the same, its outcome shows at once
    store.update_run(queued, status="done")
    assert resume(services, queued, ids.EXPLORE_PROGRESS).id == queued
    services.runner.close()


def test_the_page_load_takes_up_only_the_persons_own_running_runs_of_each_bar(small_workspace):
    """With login on, the lookup at a page's load read the name set only inside job threads: a person's own run
    was never taken up, and a run started without login (the CLI's) was, even on a viewer's page. An
    evaluation's own map build was taken up by the Explore bar."""
    from dash import no_update

    from scatterloop.callbacks.job_watch import BAR_KINDS, taken_up_at_load
    from scatterloop.dashboard import ids

    store = small_workspace.store
    services = make_services(small_workspace.settings)
    mine = store.create_run("classify", {}, started_by="ada")
    cli = store.create_run("embed", {"method": "pca"})
    nested = store.create_run("embed", {"method": "pca", "for": "evaluate"}, started_by="ada")
    evaluation = store.create_run("evaluate", {}, started_by="ada")
    for run in (mine, cli, nested, evaluation):
        store.update_run(run, status="running")
    bars = list(BAR_KINDS)
    ada = dict(zip(bars, taken_up_at_load(services, "ada")[: len(bars)], strict=True))
    assert ada[ids.TRAIN_PROGRESS] == mine and ada[ids.EVAL_PROGRESS] == evaluation
    assert ada[ids.EXPLORE_PROGRESS] is no_update  # the evaluation's map is the evaluation's
    assert set(taken_up_at_load(services, "vic")) == {no_update}  # a viewer takes up nobody's run
    nobody = dict(zip(bars, taken_up_at_load(services, None)[: len(bars)], strict=True))
    assert nobody[ids.EXPLORE_PROGRESS] == cli and nobody[ids.TRAIN_PROGRESS] is no_update
    services.runner.close()


def test_a_bar_that_takes_up_a_run_estimates_from_what_it_sees():
    """Taken up at 41 % after 60 s of a run whose earlier stage is unknown: the time shown is the run's, the
    estimate is read from the bar's own observations, not from the run's start."""
    from scatterloop.core.progress import Eta

    t = [100.0]
    eta = Eta(now=lambda: t[0], elapsed=60.0)
    assert eta(41, 100, "x")[1] == "41% · x · 1:00"  # nothing seen yet: no estimate
    t[0] = 110.0  # 10 % in 10 s from here: 49 % left, about 49 s
    assert eta(51, 100, "x")[1] == "51% · x · 1:10, ~0:49 left"


def test_the_evaluate_tabs_report_of_a_workspace_that_cannot_be_evaluated(workspace, tmp_path):
    """Real frames imported without a pattern: "Evaluate first" led to an evaluation that is refused. The report
    is written with the rest and says why there is no evaluation."""
    import numpy as np
    import tifffile

    from scatterloop.callbacks.evaluate import write_report
    from scatterloop.core.ingest import import_paths

    (tmp_path / "real").mkdir()
    for k in range(3):
        tifffile.imwrite(tmp_path / "real" / f"r{k}.tif", np.random.default_rng(k).poisson(9, (40, 40)).astype("u2"))
    import_paths(workspace, [tmp_path / "real"])
    said = write_report(make_services(workspace.settings))
    assert not isinstance(said, str), said  # a link to the file, not "Evaluate first"
    (written,) = (workspace.root / "exports").glob("report-*.html")
    assert "No evaluation of generated images" in written.read_text()
