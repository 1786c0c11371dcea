"""`scripts/pyfai_manifest.py` loaded as a module (it is a script, not part of the package): frames on pyFAI's
detector models, written as each vendor writes them, for the tests that need a detector not in `../shared`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pyfai_manifest.py"


def pyfai_manifest():
    spec = importlib.util.spec_from_file_location("pyfai_manifest", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
