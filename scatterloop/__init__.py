"""scatterloop: human-in-the-loop curation of generated X-ray scattering images.

`import scatterloop as sl` is the Python API (`scatterloop.core.api`): open a workspace, simulate, import,
label, train a round, predict, pre-label, review queues, export, train the generator and sample it, pretrain an
encoder, find a beam centre, build a map, evaluate, write a report; see the README for a notebook example.

The repository keeps its rooms as top-level folders (`core/`, `dashboard/`, `callbacks/`, `assets/`); the
distribution installs them as `scatterloop.core`, `scatterloop.dashboard`, `scatterloop.callbacks` and
`scatterloop.assets` (setuptools `package-dir`), so nothing generic lands in site-packages. The API is loaded on
first use, so `import scatterloop` (and the `scatterloop` command's start-up) stays light.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scatterloop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_API = (
    "Run", "open_workspace", "run_job", "simulate", "import_files", "label", "images", "train_round", "predict",
    "build_map", "map_points", "evaluate", "report", "runs", "prelabel", "review_queue", "export",
    "train_generator", "generate", "pretrain", "polar",
)  # fmt: skip
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from scatterloop.core import api

        return getattr(api, name)
    raise AttributeError(f"module 'scatterloop' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
