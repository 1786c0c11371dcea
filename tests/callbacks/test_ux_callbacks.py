"""What the scientist reads: relabel from the map touches candidates only unless asked, status lines name the
images, the review-queue banner, progress with elapsed time and ETA, numbers with their meaning."""

from __future__ import annotations

from scatterloop.callbacks import explore_selection, label, label_actions
from scatterloop.callbacks.services import make_services
from scatterloop.core.progress import Eta, clock, progress_text
from scatterloop.dashboard import figures
from scatterloop.dashboard.components import evaluate_view, explore_view, train_view


def test_map_relabel_touches_candidates_unless_experimental_frames_are_asked_for(small_workspace):
    services = make_services(small_workspace.settings)
    images = [img for img, _ in services.store.list_images()]
    experimental = [img.id for img in images if img.source == "experimental"]
    candidates = [img.id for img in images if img.source != "experimental"]
    selection = [images[k].id for k in range(len(images))]

    cards, count, kinds = explore_selection.gallery(services, selection, 0)
    assert count.startswith(f"{len(selection)} selected")
    assert f"{len(candidates)} candidate(s) and {len(experimental)} experimental frame(s)" in kinds
    assert "experimental" in str(cards)  # experimental frames are badged as such, not "unlabeled"

    msg, ok, _ = explore_selection.relabel(services, "fake", selection, "ada", "pattern", 2)
    labels = services.store.current_labels()
    assert ok and f"Labelled {len(candidates)} image(s) 'fake'" in msg
    assert msg.endswith(f". {len(experimental)} experimental frame(s) left as they are.")  # after the labelled ids
    assert all(labels[i].label == "fake" for i in candidates)
    assert all(i not in labels or labels[i].label is None for i in experimental)

    msg, ok, _ = explore_selection.relabel(services, "realistic", experimental, "ada", "pattern", 2)
    assert not ok and "only experimental frames" in msg
    msg, ok, _ = explore_selection.relabel(services, "realistic", experimental, "ada", "pattern", 2, True)
    assert ok and all(services.store.current_labels()[i].label == "realistic" for i in experimental)

    msg, ok, patch = explore_selection.undo(services, "ada", "pattern", 2)
    assert ok and "Undid" in msg and patch is None  # pattern colouring does not change with labels
    assert all(services.store.current_labels()[i].label is None for i in experimental)


def test_status_names_images_and_queue_banner_says_it_once():
    assert label_actions.named([3, 5]) == "#3, #5"
    assert label_actions.named(list(range(1, 12)), shown=3) == "#1, #2, #3 and 8 more"
    text, row, filters = label.queue_banner({"name": "review: uncertain (least confident first)", "ids": [1, 2]})
    assert text == "Review queue · uncertain (least confident first) · 2 images"
    assert text.lower().count("review") == 1 and "d-none" not in row and filters == "d-none"
    assert label.queue_banner(None) == ("", "d-none", "")


def test_progress_shows_elapsed_time_and_an_estimate_left():
    assert clock(42) == "0:42" and clock(3725) == "1:02:05"
    assert progress_text(0, 10, "start", 0.4) == "0% · start · 0:00"
    assert progress_text(5, 10, "epoch 5/10", 60) == "50% · epoch 5/10 · 1:00, ~1:00 left"
    long = "predicted with physics_forest (2/2 models), then the ensemble"
    assert progress_text(10, 10, long, 6) == "100% · predicted with physics_forest… · 0:06"
    t = [0.0]
    eta = Eta(now=lambda: t[0])
    t[0] = 30.0
    assert eta(3, 10, "autoencoder") == (30, "30% · autoencoder · 0:30, ~1:10 left")
    t[0] = 40.0
    eta(10, 10, "autoencoder")
    t[0] = 50.0  # a new phase (UMAP) counts its estimate from its own start
    assert eta(1, 4, "umap")[1] == "stage 2 · 25% · umap · 0:50, ~0:30 left"  # back to 25 %: a new stage


def test_numbers_carry_their_meaning():
    # the symmetry sentinel -1 (no centre) is never plotted as a score; it and "not scored yet" are told apart
    fig = figures.map_figure([1, 2, 3, 4], [[0, 0], [1, 1], [2, 2], [3, 3]], [0.7, -1.0, None, None], "symmetry")
    names = [t.name for t in fig.data]
    assert "symmetry n/a: not scored yet (open the image, or Symmetry scores) (2)" in names
    assert "symmetry n/a: no centre or no rings to score (1)" in names
    scored = [t for t in fig.data if "n/a" not in t.name][0]
    assert list(scored.marker.color) == [0.7] and (scored.marker.cmin, scored.marker.cmax) == (0.0, 1.0)
    conf = figures.map_figure([1, 2], [[0, 0], [1, 1]], [0.501, 0.51], "confidence")
    assert (conf.data[0].marker.cmin, conf.data[0].marker.cmax) == (0.0, 1.0)  # not auto-ranged to 0.501-0.51
    box = figures.symmetry_figure([{"pattern": "rings", "group": "fake", "n": 3, "values": [0.5, -1.0, 0.6]}])
    assert list(box.data[0].y) == [0.5, 0.6] and "1 n/a" in box.data[0].name
    three = figures.map_figure([1], [[0, 0, 0]], ["a"], "pattern", dims=3)
    assert three.layout.scene.xaxis.title.text == "map 1" and three.layout.scene.zaxis.title.text == "map 3"
    # empty figures say why, instead of drawing bare axes
    # empty figures say "n/a" and why, instead of drawing bare axes, and offer no toolbar (zoom, download of nothing)
    empties = [figures.loss_figure([]), figures.curves_figure({}), figures.history_figure([])]
    empties += [figures.confusion_figure([]), figures.symmetry_figure([]), figures.generators_figure([])]
    for empty in empties:
        assert len(empty.data) == 0 and empty.layout.annotations and "n/a" in empty.layout.annotations[0].text
        assert {"toImage", "zoom2d", "pan2d", "resetScale2d", "zoom3d"} <= set(empty.layout.modebar.remove)
    assert "n/a" not in figures.empty_map("Loading the map…", head=None).layout.annotations[0].text
    # KID: its meaning is on the page, and a spread that cannot exist reads n/a
    row = {"kid_mean": -84.98, "kid_std": 0.0, "kid_subset_size": 50, "n_experimental": 50, "n_generated": 50}
    assert evaluate_view.kid_text(row) == "-84.98 ± n/a (all 50 images in every subset)"
    # every subset holds all 50 generated images but a different 50 of 100 experimental ones: a spread exists
    many = {**row, "n_experimental": 100, "kid_std": 12.34}
    assert evaluate_view.kid_text(many) == "-84.98 ± 12.3"
    assert evaluate_view.kid_text({**row, "kid_subset_size": 20, "kid_std": 657.6}) == "-84.98 ± 658"
    assert "extractor" in str(evaluate_view.metrics_table([{**row, "pattern": "rings", "fid": 3.0}], False))
    assert "class 'realistic'" in train_view.metrics_meaning("realism")
    assert "macro" in train_view.metrics_meaning("pattern")
    assert "experimental frames count as realistic" in explore_view.selection_kinds(2, 3)


def test_the_polar_warp_has_its_axes(small_workspace):
    """Issue 14 polish: the detail's polar warp carries azimuth (down) and radius (across) axes, not a bare picture."""
    from scatterloop.callbacks import explore

    services = make_services(small_workspace.settings)
    img = next(img for img, _ in services.store.list_images() if img.pattern == "rings")
    tree = explore.detail(services, img.id, None)
    stack, axes = [tree], []
    while stack:
        c = stack.pop()
        if isinstance(c, (list, tuple)):
            stack.extend(c)
            continue
        if "sl-polar-axes" in (getattr(c, "className", None) or ""):
            axes.append(c)
        children = getattr(c, "children", None)
        if children is not None and not isinstance(children, (str, int, float)):
            stack.append(children)
    assert len(axes) == 1
    y, picture, x = axes[0].children
    assert [s.children for s in y.children] == ["0°", "180°", "360°"]
    assert x.children[0].children == "r 0" and x.children[1].children.endswith("px")
    assert "sl-polar" in picture.className


def test_train_figures_fit_their_narrow_column():
    """Seen on the demo workspace at 1280x800: the confusion matrices' class names ran into the neighbouring panel's
    cells, and the empty curves' sentence was cut at both ends of the Train tab's left column."""
    panels = [(name, ["background", "peaks", "rings"], [[0, 20, 0], [0, 20, 0], [1, 9, 10]]) for name in "abcd"]
    fig = figures.confusion_figure(panels)
    shown = [fig.layout[f"yaxis{k if k > 1 else ''}"].showticklabels for k in range(1, 5)]
    assert shown == [True, False, False, False]
    text = figures.curves_figure({}).layout.annotations[0].text
    assert max(len(line) for line in text.split("<br>")[1:]) <= 45, text


def test_an_experimental_frame_with_a_human_label_is_badged_as_such():
    """Seen on the demo workspace: experimental frame #1, labelled 'fake' from the Label grid, was badged plain 'fake'
    like a candidate, though every realism round takes it as realistic."""
    from scatterloop.dashboard.components import label_view

    def badge(label, source):
        return label_view.card_body(1, "/t.png", "#1", label, source=source)[1].children[1]

    assert (badge("fake", "experimental").children, badge("fake", "generated").children) == ("exp · fake", "fake")
    assert "realistic" in badge("fake", "experimental").title and badge("fake", "generated").title is None
    assert badge(None, "experimental").children == "experimental" and badge(None, "generated").children == "unlabeled"


def test_a_call_the_costs_made_against_the_odds_says_why():
    """With ours' costs an image the models give 0.70 realistic is called fake at 0.30: the card must not read as
    "30 % sure it is fake" without a word."""
    from scatterloop.dashboard.components import label_view

    def line(suggestion):
        return label_view.card_body(1, "/t.png", "#1", None, suggestion=suggestion, source="generated")[-1]

    costly, sure = line(("fake", 0.3)), line(("fake", 0.8))
    assert costly.children == "model: fake 0.30" and "0.30" in costly.title and "sure enough" in costly.title
    assert sure.children == "model: fake 0.80" and sure.title is None
    assert line(("fake", None)).title is None


def test_a_call_made_on_an_image_unlike_the_training_frames_says_so():
    """A pattern call at 0.97 on a frame far from every training frame must not read as a sure one."""
    from scatterloop.dashboard.components import label_view

    def line(suggestion):
        return label_view.card_body(1, "/t.png", "#1", None, suggestion=suggestion, source="experimental")[-1]

    far = line(("background", 0.97, 2.4))
    assert far.children[0] == "model: background 0.97" and far.children[1].children == " · unlike training"
    assert "2.40 times beyond" in far.title and "--domain wide" in far.title
    both = line(("fake", 0.3, 1.04)).title  # a call the costs made and one outside: both reasons
    assert "sure enough" in both and "1.04 times beyond" in both
    assert line(("background", 0.97, 0.8)).children == "model: background 0.97"  # inside: as before
    assert line(("background", 0.97, None)).title is None  # no network measured it
    row = {"at": "t", "label": "background", "annotator": "ensemble:weighted", "origin": "model", "undo": False}
    table = str(label_view.history_table([{**row, "confidence": 0.97, "domain": 2.4}, {**row, "confidence": 0.9}]))
    assert table.count("unlike training") == 1 and "model 0.97 · unlike training" in table


def test_the_predict_line_reads_as_words_not_a_python_dict():
    from scatterloop.callbacks import train_review

    assert train_review._counts({"realistic": 80, "fake": 120}) == "120 fake, 80 realistic"
    assert train_review._counts({}) == "none"


def test_compare_links_zoom_only_for_frames_of_one_size():
    """A 128-px frame beside a 1043x981 one drew as a stamp in its panel's corner when the axes were shared."""
    from types import SimpleNamespace

    from scatterloop.dashboard.figures_viewer import compare_figure

    png = __import__("base64").b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
    )

    def views(*shapes):
        return [SimpleNamespace(height=h, width=w, step=1, image_id=k) for k, (h, w) in enumerate(shapes)]

    same = compare_figure([png] * 2, views((64, 64), (64, 64)), ["a", "b"], "viridis")
    mixed = compare_figure([png] * 2, views((1043, 981), (128, 128)), ["a", "b"], "viridis")
    assert same.layout.xaxis2.matches == "x" and same.layout.yaxis2.matches == "y"
    assert mixed.layout.xaxis2.matches is None and mixed.layout.yaxis2.matches is None
