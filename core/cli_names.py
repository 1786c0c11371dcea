"""The names the command line offers as choices, as plain literals.

`scatterloop --help` must start at once, so building the parser may not import the modules that define these
names (they pull in torch, scipy and the simulators). A test keeps each tuple equal to its source of truth.
"""

from __future__ import annotations

SIM_PATTERNS = ("rings", "peaks", "background", "speckle", "speckle-poly")  # core.simulate.SIM_PATTERNS
TASKS = ("realism", "pattern", "labels")  # core.classify.TASKS
RECIPES = ("gpu", "ours", "paper", "pattern")  # sorted(core.classify.recipes.RECIPES)
MODELS = (  # core.classify.REGISTRY
    "vit_b16",
    "vit_b32",
    "resnet50",
    "alexnet",
    "vgg11",
    "squeezenet",
    "densenet121",
    "inception_v3",
    "resnet18",
    "tiny",
    "physics",
    "physics_forest",
    "zero",
)
SOURCES = ("experimental", "generated", "simulated")  # core.store.SOURCES
ROLES = ("viewer", "annotator", "admin")  # core.store.ROLES
BENCHES = (  # core.benchmarks.BENCHES
    "simulate",
    "import",
    "embed",
    "explore",
    "polar",
    "generate",
    "train",
    "loop",
    "speckle",
    "fid",
    "startup",
    "mapsep",
    "simreal",
    "jobs",
    "pretrain",
)
