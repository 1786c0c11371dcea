"""Shared fixtures: temporary workspaces with a few simulated frames, the real-data folder, browser options."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scatterloop.core.config import Settings
from scatterloop.core.workspace import Workspace

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
SCREENSHOTS = Path(__file__).resolve().parent / "browser" / "screenshots"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(workspace=tmp_path / "ws", page_size=12)


@pytest.fixture
def workspace(settings) -> Workspace:
    ws = Workspace.open(settings)
    yield ws
    ws.store.dispose()


@pytest.fixture
def small_workspace(workspace, tmp_path) -> Workspace:
    """A workspace with 6 experimental and 6 candidate frames at 64 px."""
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    for i, pattern in enumerate(("rings", "peaks", "background")):
        simulate_dataset(pattern, 2, tmp_path / "sim" / "exp", seed=i, size=64)
        simulate_dataset(pattern, 2, tmp_path / "sim" / "cand", seed=10 + i, size=64, artifacts="0.5")
    import_paths(workspace, [tmp_path / "sim" / "exp"], source="experimental")
    import_paths(workspace, [tmp_path / "sim" / "cand"], source="generated", round=workspace.store.current_round())
    return workspace


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not (REALDATA / "MANIFEST.json").exists():
        pytest.fail(f"shared real data not found at {REALDATA} (the repo expects ../shared beside it)")
    return REALDATA


@pytest.fixture(scope="session")
def manifest(realdata) -> list[dict]:
    return json.loads((realdata / "MANIFEST.json").read_text())


def pytest_setup_options():
    """dash_duo's Chrome options: Debian chromium, headless, no sandbox (root), no background networking."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    binary = os.environ.get("SCATTERLOOP_CHROMIUM", "/usr/bin/chromium")
    if Path(binary).exists():
        options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    return options


def pytest_sessionfinish(session, exitstatus):
    """A background job forked by a test's server that is still alive now would keep pytest from exiting (its
    atexit joins every child): end it, and say so."""
    import psutil

    me = psutil.Process()
    for child in me.children(recursive=True):
        try:
            if child.cmdline() == me.cmdline():
                print(f"\nconftest: ended leftover job process {child.pid} (forked by a test's server)")
                child.kill()
        except psutil.Error:
            pass
