"""`scatterloop serve`: gunicorn by default, loopback only without --insecure, and a parser that builds without
the science stack (the literal choices it offers stay equal to their sources)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scatterloop.core.cli import main
from scatterloop.core.config import Settings
from scatterloop.core.server import check_bind, gunicorn_application, gunicorn_options, is_loopback, server_kind

ROOT = Path(__file__).resolve().parents[2]


def test_non_loopback_bind_without_insecure_exits_with_one_line(tmp_path, capsys):
    rc = main(["serve", "--workspace", str(tmp_path / "ws"), "--host", "0.0.0.0"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1
    assert "refusing to listen on 0.0.0.0" in err and "--insecure" in err
    assert not (tmp_path / "ws").exists()  # refused before anything was made


def test_bind_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")
    check_bind("127.0.0.1", insecure=False)
    check_bind("0.0.0.0", insecure=True)
    with pytest.raises(ValueError, match="no login"):
        check_bind("::", insecure=False)


@pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX only")
def test_the_default_server_is_gunicorn_with_one_worker_and_threads():
    assert server_kind() == "gunicorn" and server_kind(debug=True) == "flask"
    options = gunicorn_options(Settings(workspace=Path("ws"), port=8123))
    app = gunicorn_application(lambda: None, options)
    assert type(app).__mro__[1].__module__ == "gunicorn.app.base"
    assert app.cfg.bind == ["127.0.0.1:8123"] and app.cfg.workers == 1 and app.cfg.threads >= 2
    assert app.cfg.worker_class_str == "gthread" and not app.cfg.preload_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX only")
def test_serve_answers_from_gunicorn_with_the_security_headers(tmp_path):
    port = _free_port()
    argv = [sys.executable, "-m", "scatterloop", "serve", "--workspace", str(tmp_path / "ws"), "--port", str(port)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, resp = time.monotonic() + 180, None
        while resp is None:  # wait for the server to answer, not for a fixed time
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the server did not answer within 180 s"
            try:
                resp = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert resp.status == 200 and resp.headers["Server"].startswith("gunicorn")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'self'" in resp.headers["Content-Security-Policy"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_cli_choices_equal_their_sources():
    from scatterloop.core import cli_names
    from scatterloop.core.benchmarks import BENCHES
    from scatterloop.core.classify import REGISTRY, TASKS
    from scatterloop.core.classify.recipes import RECIPES
    from scatterloop.core.simulate import SIM_PATTERNS
    from scatterloop.core.store import SOURCES

    assert cli_names.SIM_PATTERNS == tuple(SIM_PATTERNS) and cli_names.TASKS == tuple(TASKS)
    assert cli_names.RECIPES == tuple(sorted(RECIPES)) and cli_names.MODELS == tuple(REGISTRY)
    assert cli_names.SOURCES == tuple(SOURCES) and cli_names.BENCHES == tuple(BENCHES)


def test_help_imports_no_heavy_library():
    code = "import sys; from scatterloop.core.cli import build_parser; build_parser(); print(sorted(sys.modules))"
    loaded = set(eval(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout))
    heavy = {"torch", "diffusers", "timm", "umap", "dash", "sklearn", "scipy", "numpy", "sqlalchemy"}
    assert not heavy & loaded, heavy & loaded
