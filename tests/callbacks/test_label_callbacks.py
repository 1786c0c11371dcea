"""Label and Jobs callbacks as plain functions against a temporary workspace."""

from __future__ import annotations

from scatterloop.callbacks import jobs, label, label_actions
from scatterloop.callbacks.services import make_services
from scatterloop.dashboard import ids


def test_grid_paging_labelling_undo_and_detail(small_workspace):
    services = make_services(small_workspace.settings.with_(page_size=5))
    flt = label.make_filter(None, None, None, None)
    cards, page_ids, count = label.render_grid(services, flt, 0, [])
    assert len(cards) == 5 and count.startswith("1–5 of 12")
    assert label.change_page(services, ids.LABEL_NEXT_BUTTON, 2, flt) == 2  # last page is 2 (0-based)
    assert label.change_page(services, ids.LABEL_PREV_BUTTON, 0, flt) == 0
    assert label.change_page(services, ids.LABEL_SOURCE_FILTER, 2, flt) == 0

    ok, msg = label_actions.apply_label(services, "fake", page_ids[:2], None)
    assert not ok and "annotator" in msg
    ok, msg = label_actions.apply_label(services, "fake", [], "ada")
    assert not ok and "Nothing selected" in msg  # no hidden "focus" stands in for a visible selection
    ok, msg = label_actions.apply_label(services, "fake", page_ids[:2], " ada ")
    assert ok and "2 image(s)" in msg and f": #{page_ids[0]}, #{page_ids[1]}." in msg  # names them
    experimental = [img.id for img, _ in services.store.list_images() if img.source == "experimental"]
    assert "2 of them experimental" in label_actions.apply_label(services, "fake", experimental[:2], "ada")[1]
    services.store.undo_last("ada")
    labels = services.store.current_labels()
    assert {labels[i].label for i in page_ids[:2]} == {"fake"} and labels[page_ids[0]].annotator == "ada"

    fake_only = label.make_filter(None, None, "fake", None)
    assert label.render_grid(services, fake_only, 0, [])[2].startswith("1–2 of 2")
    unlabeled = label.make_filter("generated", None, "__unlabeled__", "1")
    assert unlabeled.round == 1 and services.store.count_images(unlabeled) == 6

    detail = str(label.detail_panel(services, page_ids[0]))
    assert "fake" in detail and "ada" in detail
    ok, msg = label_actions.undo(services, "ada")
    assert ok and "2 image(s)" in msg
    assert all(services.store.current_labels()[i].label is None for i in page_ids[:2])
    sources, patterns, rounds = label.filter_options(services)
    assert {o["value"] for o in sources} == {"experimental", "generated"} and len(patterns) == 3


def test_runs_table_lists_runs(small_workspace):
    from scatterloop.core.jobs import run_job

    services = make_services(small_workspace.settings)
    run_job(services.store, "simulate", {"n": 1}, lambda run_id, progress, should_stop: None)
    html = str(jobs.runs_table(services))
    assert "simulate" in html and "done" in html


def test_detail_shows_how_a_candidate_was_made(workspace, tmp_path):
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset
    from scatterloop.dashboard.components.label_view import provenance_facts

    simulate_dataset("rings", 1, tmp_path / "sim", seed=3, size=32)
    prov = {"backend": "domain", "checkpoint": "runs/3/checkpoints/step-000004", "steps": 25, "guidance": 2.0}
    (image_id,) = import_paths(workspace, [tmp_path / "sim"], source="generated", provenance=prov).image_ids
    detail = str(label.detail_panel(make_services(workspace.settings), image_id))
    assert all(str(v) in detail for v in prov.values()) and "guidance" in detail
    domain = {
        "run": 7,
        "backend": "domain",
        "checkpoint": "runs/3/checkpoints/step-001200",
        "steps": 25,
        "guidance": 2.0,
        "params": {"sampler": "dpm++", "class": "rings", "prompt_source": "given", "bulky": list(range(100))},
    }
    facts = dict(provenance_facts(domain))
    assert facts == {
        "backend": "domain",
        "checkpoint": "runs/3/checkpoints/step-001200",
        "steps": 25,
        "guidance": 2.0,
        "sampler": "dpm++",
        "class": "rings",
        "prompt_source": "given",
    }
    assert provenance_facts(None) == []


def test_labelling_the_last_page_of_unlabeled_shows_the_last_page_left(small_workspace):
    services = make_services(small_workspace.settings.with_(page_size=4))
    unlabeled = label.make_filter("generated", None, "__unlabeled__", None)
    cards, page_ids, count = label.render_grid(services, unlabeled, 1, [])  # 6 unlabeled: page 2 holds 2
    assert len(cards) == 2 and count.startswith("5–6 of 6 · page 2/2")
    assert label_actions.apply_label(services, "fake", page_ids, "ada")[0]
    cards, page_ids, count = label.render_grid(services, unlabeled, 1, [])  # the page store still says page 2
    assert len(cards) == 4 and count.startswith("1–4 of 4 · page 1/1")
    assert label.change_page(services, ids.LABEL_PREV_BUTTON, 1, unlabeled) == 0  # from the page shown
    assert label.change_page(services, ids.LABEL_NEXT_BUTTON, 1, unlabeled) == 0
    services.store.add_labels(page_ids, "fake", "ada")
    cards, page_ids, count = label.render_grid(services, unlabeled, 1, [])
    assert cards == [] and page_ids == [] and count == "no images match"
