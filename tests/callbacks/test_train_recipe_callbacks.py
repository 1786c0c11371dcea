"""Train tab: blank fields take the chosen recipe's values, and the learning curve reads every finished round."""

from __future__ import annotations

from scatterloop.callbacks import train_recipe
from scatterloop.callbacks.services import make_services
from scatterloop.dashboard.figures_train import GRAPH_CONFIG


def _metrics(acc: float, prec: float) -> dict:
    return {"accuracy": acc, "precision": prec, "recall": 0.5, "f1": 0.5}


def _finished_round(store, task: str, labelled: int, acc: float, round_no: int = 1) -> int:
    run_id = store.create_run("classify", {"task": task})
    result = {
        "task": task,
        "round": round_no,
        "init": "scratch",
        "classes": ["a", "b"],
        "recipe": {"name": "ours"},
        "sets": {"labelled": labelled, "train": labelled - 2, "validation": 2},
        "models": {"physics": {"metrics": _metrics(acc, acc - 0.1)}, "tiny": {"metrics": _metrics(acc / 2, 0.2)}},
        "voting": {v: _metrics(acc, 0.6) for v in ("hard", "soft", "weighted")},
    }
    store.update_run(run_id, status="done", result=result)
    return run_id


def test_blank_fields_take_the_recipe_and_filled_ones_override_it():
    blank = dict(task="pattern", recipe="ours", models=None, epochs=None, lr="", batch=None, input_size=None)
    rec = train_recipe.round_params(blank).resolved()
    assert (rec.name, rec.epochs, rec.lr, rec.batch_size, rec.input_size) == ("ours", 30, 2e-3, 32, 128)
    assert rec.models == ("physics", "physics_forest")
    paper = train_recipe.round_params({**blank, "recipe": "paper"}).resolved()
    assert (paper.epochs, paper.lr, paper.input_size, paper.models) == (5, 1e-4, 64, ("resnet18",))
    filled = train_recipe.round_params({**blank, "models": ["tiny"], "epochs": 2, "lr": 0.01, "input_size": 32})
    rec = filled.resolved()
    assert (rec.epochs, rec.lr, rec.input_size, rec.models, rec.weight_decay) == (2, 0.01, 32, ("tiny",), 0.05)
    assert filled.task == "pattern" and filled.device is None
    shown = train_recipe.recipe_defaults("paper")
    assert shown["models"] == ["resnet18"] and shown["epochs"].startswith("5") and shown["lr"].startswith("0.0001")
    # no recipe chosen: the task's default (the pattern task's network; ours for realism)
    unset = train_recipe.round_params({**blank, "recipe": None}).resolved()
    assert (unset.name, unset.models, unset.input_size, unset.epochs) == ("pattern", ("tiny",), 96, 40)
    assert train_recipe.round_params({**blank, "recipe": None, "task": "realism"}).resolved().name == "ours"
    shown = train_recipe.recipe_defaults("pattern")
    assert shown["models"] == ["tiny"] and shown["input_size"] == "96" and shown["epochs"] == "40"
    assert shown["positive_cost"] == "1"  # no positive class: the arg-max
    # the price of a false realistic call: 1 in every recipe (the arg-max) unless typed in (3: precision first)
    assert train_recipe.recipe_defaults("ours")["positive_cost"] == "1"
    assert train_recipe.recipe_defaults("paper")["positive_cost"] == "1"
    assert train_recipe.round_params({**blank, "task": "realism"}).resolved().positive_cost == 1.0
    typed = train_recipe.round_params({**blank, "task": "realism", "positive_cost": "3"}).resolved()
    assert typed.positive_cost == 3.0 and typed.name == "ours"


def test_learning_curve_has_a_point_per_finished_round(workspace):
    store = workspace.store
    first = _finished_round(store, "pattern", 10, 0.6)
    second = _finished_round(store, "pattern", 30, 0.9, round_no=2)
    _finished_round(store, "realism", 50, 0.7)  # another task: not on this curve
    store.update_run(store.create_run("classify", {"task": "pattern"}), status="failed")

    from scatterloop.core.classify.tables import learning_curve

    curve = learning_curve(store, "pattern")
    names = [s["name"] for s in curve["series"]]
    assert names == ["physics", "tiny", "hard vote", "soft vote", "weighted vote"]
    physics = curve["series"][0]["points"]
    assert [(p["run_id"], p["labelled"], p["accuracy"], p["precision"]) for p in physics] == [
        (first, 10, 0.6, 0.5),
        (second, 30, 0.9, 0.8),
    ]

    fig = train_recipe.learning_curve(make_services(workspace.settings), "pattern")
    assert len(fig.data) == 2 * len(names)  # accuracy and precision panels
    assert list(fig.data[0].x) == [10, 30] and list(fig.data[0].y) == [0.6, 0.9]
    assert fig.data[-1].line.dash == "dash"  # votes dashed
    assert tuple(fig.layout.xaxis.range) == (0, 1.08 * 30)  # from no labels: one round is a point, not 29-31
    assert GRAPH_CONFIG["displaylogo"] is False and "sendDataToCloud" in GRAPH_CONFIG["modeBarButtonsToRemove"]
    empty = train_recipe.learning_curve(make_services(workspace.settings), "labels")
    assert not empty.data and any("No finished round" in a.text for a in empty.layout.annotations)
