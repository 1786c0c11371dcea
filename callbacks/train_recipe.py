"""Train tab: the recipe a round follows (blank fields take the recipe's values) and the learning curve.

Split from `train.py` to keep each module one concept; `train.register` registers these callbacks too.
"""

from __future__ import annotations

from dash import Input, Output, ctx, no_update

from scatterloop.dashboard import ids
from scatterloop.dashboard.figures_train import learning_curve_figure

from .fields import number, whole
from .services import Services

FIELDS = ("epochs", "lr", "batch", "input_size", "positive_cost")


def round_params(values: dict, weights_dir=None):
    """The tab's settings as `RoundParams`: the chosen recipe with only the fields a person filled in overridden
    (a blank field must never silently replace the recipe's value with another recipe's)."""
    from scatterloop.core.classify.recipes import default_recipe
    from scatterloop.core.classify.registry import find_local_weights
    from scatterloop.core.classify.rounds import RoundParams

    models = tuple(values.get("models") or ()) or None
    task = values.get("task") or "realism"
    sources = {}
    if task == "pattern":  # an empty choice is refused by the round ("sources: expected some of ...")
        sources["sources"] = tuple(values.get("sources") or ())
    return RoundParams(
        **sources,
        task=task,
        recipe=values.get("recipe") or default_recipe(task),
        models=models,
        epochs=whole(values.get("epochs"), "epochs"),  # blank (None): the recipe's
        lr=number(values.get("lr"), "lr"),
        batch_size=whole(values.get("batch"), "batch"),
        input_size=whole(values.get("input_size"), "input px"),
        positive_cost=number(values.get("positive_cost"), "false realistic call costs"),
        init=values.get("init") or "scratch",
        pretrained={m: str(p) for m in models or () if (p := find_local_weights(weights_dir, m)) is not None},
        device=None if values.get("device") in (None, "auto") else values["device"],
    )


def recipe_defaults(name: str | None) -> dict:
    """The recipe's models and the placeholders of the blank fields (what a blank field will use)."""
    from scatterloop.core.classify.recipes import recipe

    rec = recipe(name or "ours")
    return {
        "models": list(rec.models),
        "epochs": f"{rec.epochs}",
        "lr": f"{rec.lr:g}",
        "batch": f"{rec.batch_size}",
        "input_size": f"{rec.input_size}" if rec.input_size else "each model's own",
        "positive_cost": f"{rec.positive_cost:g}",
    }


def learning_curve(services: Services, task: str | None):
    """The learning-curve figure of the chosen task from every finished round."""
    from scatterloop.core.classify.tables import learning_curve as curve

    return learning_curve_figure(curve(services.store, task or "realism"))


def register(app, services: Services) -> None:
    app.clientside_callback(  # the realism task's decision cost means nothing to a pattern or labels round
        'function (task) { return (task || "realism") === "realism" ? {} : {display: "none"}; }',
        Output(ids.TRAIN_COST_BLOCK, "style"),
        Input(ids.TRAIN_TASK_SELECT, "value"),
    )
    app.clientside_callback(  # the sources a pattern round learns from: the other tasks choose theirs
        'function (task) { return task === "pattern" ? {} : {display: "none"}; }',
        Output(ids.TRAIN_SOURCES_BLOCK, "style"),
        Input(ids.TRAIN_TASK_SELECT, "value"),
    )

    @app.callback(
        Output(ids.TRAIN_EPOCHS_INPUT, "placeholder"),
        Output(ids.TRAIN_LR_INPUT, "placeholder"),
        Output(ids.TRAIN_BATCH_INPUT, "placeholder"),
        Output(ids.TRAIN_SIZE_INPUT, "placeholder"),
        Output(ids.TRAIN_COST_INPUT, "placeholder"),
        Output(ids.TRAIN_MODELS_CHECKLIST, "value"),
        Input(ids.TRAIN_RECIPE_SELECT, "value"),
    )
    def _recipe(name):
        d = recipe_defaults(name)
        # on page load keep the checklist as laid out; a recipe a person picks brings its models
        models = d["models"] if ctx.triggered_id == ids.TRAIN_RECIPE_SELECT else no_update
        return d["epochs"], d["lr"], d["batch"], d["input_size"], d["positive_cost"], models

    @app.callback(
        Output(ids.TRAIN_RECIPE_SELECT, "value"),
        Input(ids.TRAIN_TASK_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _task_recipe(task):
        # a task a person picks brings its default recipe (and so its models): the pattern task its network
        from scatterloop.core.classify.recipes import default_recipe

        return default_recipe(task)

    @app.callback(
        Output(ids.TRAIN_LEARNING_GRAPH, "figure"),
        Input(ids.TRAIN_TASK_SELECT, "value"),
        Input(ids.TRAIN_VERSION_STORE, "data"),
        Input(ids.tab_shown("train"), "data"),
    )
    def _curve(task, _version, _shown):
        return learning_curve(services, task)
