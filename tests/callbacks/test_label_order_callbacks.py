"""Label tab: filter and sort the grid by the latest pattern round's ensemble suggestion and its confidence."""

from __future__ import annotations

from scatterloop.callbacks import label
from scatterloop.callbacks.label_order import make_view, ordered_ids, predicted_options
from scatterloop.callbacks.services import make_services


def _predicted(store, source: str, task: str, calls: tuple[str, str], confidences: tuple) -> tuple[list, dict]:
    """A finished round of `task` whose ensemble called each image of `source` calls[1] at confidence 0.7 or
    more, calls[0] below; returns (the images' ids, id → confidence)."""
    ids = [img.id for img, _ in store.list_images() if img.source == source]
    run = store.create_run("classify", {"task": task})
    store.update_run(run, status="done", result={"task": task, "classes": sorted(calls)})
    conf = dict(zip(ids, confidences, strict=True))
    for i, c in conf.items():
        store.add_labels([i], calls[1] if c >= 0.7 else calls[0], "ensemble:weighted", origin="model", confidence=c)
    return ids, conf


def test_grid_filters_and_sorts_by_predicted_pattern_and_confidence(small_workspace):
    store = small_workspace.store
    services = make_services(small_workspace.settings)
    exp, conf = _predicted(store, "experimental", "pattern", ("peaks", "rings"), (0.9, 0.55, 0.7, 0.95, 0.6, 0.8))
    store.add_labels([exp[0]], "fake", "ensemble:weighted", origin="model", confidence=0.99)  # realism: not mixed
    store.add_labels([exp[1]], "rings", "ada")  # a human label: the grid still orders by the suggestion

    assert predicted_options(services) == [
        {"label": "predicted: peaks", "value": "peaks"},
        {"label": "predicted: rings", "value": "rings"},
    ]
    flt = label.make_filter("experimental", None, None, None)
    assert ordered_ids(services, flt, make_view(None, [0, 1], "id")) is None  # nothing set: database paging
    rings = ordered_ids(services, flt, make_view("rings", None, "confidence-desc"))
    assert rings == sorted((i for i in exp if conf[i] >= 0.7), key=lambda i: -conf[i])
    unsure = ordered_ids(services, flt, make_view(None, [0.5, 0.75], "confidence-asc"))
    assert unsure == [exp[1], exp[4], exp[2]]
    everything = ordered_ids(services, label.make_filter(None, None, None, None), make_view(None, None, "predicted"))
    assert everything[:2] == [exp[4], exp[1]] and len(everything) == 12  # peaks first; unpredicted last

    store.add_labels([exp[3]], "rings", "ensemble:weighted", origin="model", confidence=0.95, domain=[2.5])
    store.add_labels([exp[5]], "rings", "ensemble:weighted", origin="model", confidence=0.8, domain=[1.2])
    far = ordered_ids(services, flt, make_view(None, None, "domain-desc"))
    assert far[:2] == [exp[3], exp[5]] and len(far) == 6  # calls with no measured distance last
    cards, _, _ = label.render_grid(services, flt, 0, [], None, make_view(None, None, "domain-desc"))
    assert "unlike training" in str(cards[0]) and "unlike training" not in str(cards[2])

    view = make_view("peaks", None, "confidence-asc")
    cards, page_ids, count = label.render_grid(services, flt, 0, [], None, view)
    assert page_ids == [exp[1], exp[4]] and count.startswith("1–2 of 2")
    assert "peaks" in str(cards[0]) and "0.55" in str(cards[0])
    assert label.page_count(services, flt, None, view) == 1
    assert label.change_page(services, ids_next(), 0, flt, None, view) == 0


def ids_next():
    from scatterloop.dashboard import ids

    return ids.LABEL_NEXT_BUTTON


def test_without_a_pattern_round_the_grid_sorts_and_filters_by_the_realism_calls_it_shows(small_workspace):
    store = small_workspace.store
    services = make_services(small_workspace.settings)
    gen, conf = _predicted(store, "generated", "realism", ("realistic", "fake"), (0.77, 0.59, 0.93, 0.51, 0.66, 0.88))
    flt = label.make_filter("generated", None, None, None)
    assert ordered_ids(services, flt, make_view(None, None, "confidence-asc")) == sorted(gen, key=conf.get)
    assert ordered_ids(services, flt, make_view(None, [0.5, 0.7], "id")) == [i for i in gen if conf[i] <= 0.7]
    cards, page_ids, _ = label.render_grid(services, flt, 0, [], None, make_view(None, None, "confidence-asc"))
    assert "0.51" in str(cards[0]) and page_ids[0] == min(gen, key=conf.get)
