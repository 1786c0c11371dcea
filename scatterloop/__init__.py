"""scatterloop: human-in-the-loop curation of generated X-ray scattering images.

The repository keeps its rooms as top-level folders (`core/`, `dashboard/`, `callbacks/`, `assets/`); the
distribution installs them as `scatterloop.core`, `scatterloop.dashboard`, `scatterloop.callbacks` and
`scatterloop.assets` (setuptools `package-dir`), so nothing generic lands in site-packages.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scatterloop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
