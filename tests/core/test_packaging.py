"""The install extras, the Dockerfile and compose.yaml, checked without a Docker engine: the compose file's shape
(and `docker compose config` where the plugin exists), the Dockerfile's layer order, user and healthcheck, and
the entrypoint's first-start demo workspace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_extras_match_the_documentation():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {"server", "postgres", "celery", "test"} <= set(extras)
    assert any(r.startswith("gunicorn") and "Windows" in r for r in extras["server"])
    assert any(r.startswith("waitress") and "Windows" in r for r in extras["server"])
    assert any(r.startswith("psycopg[binary]") for r in extras["postgres"])
    assert any(r.startswith("celery[redis]") for r in extras["celery"])
    assert any(r.startswith("flask-login") for r in project["dependencies"])
    assert any(r.startswith("argon2-cffi") for r in project["dependencies"])
    readme = (ROOT / "README.md").read_text()
    for extra in ("server", "postgres", "celery", "test"):
        assert f"scatterloop[{extra}]" in readme, extra


def test_compose_has_app_workers_redis_postgres_and_a_shared_workspace():
    compose = _compose()
    services = compose["services"]
    assert {"app", "worker", "redis", "postgres"} <= set(services)
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) >= 2, name
    app, worker = services["app"], services["worker"]
    assert "workspace" in compose["volumes"] and "pgdata" in compose["volumes"]
    assert "workspace:/data" in app["volumes"] and "workspace:/data" in worker["volumes"]  # the same path
    assert worker["command"][:2] == ["scatterloop", "worker"] and "--queues" in worker["command"]
    assert worker["command"][worker["command"].index("--workspace") + 1] == "/data/ws"
    assert app["command"][:2] == ["scatterloop", "serve"]
    assert "container_name" not in worker and "ports" not in worker  # `--scale worker=N` needs both absent
    assert all(p.startswith("127.0.0.1:") for p in app["ports"])  # no login by default: host loopback only
    for service in (app, worker):
        env = service["environment"]
        assert (
            env["SCATTERLOOP_DATABASE_URL"].startswith("postgresql+psycopg://")
            and "@postgres:" in env["SCATTERLOOP_DATABASE_URL"]
        )
        assert env["SCATTERLOOP_BROKER_URL"].startswith("redis://redis:")
        assert env["SCATTERLOOP_WORKSPACE"] == "/data/ws"
    assert app["environment"]["SCATTERLOOP_DEMO"] == "1" and worker["environment"]["SCATTERLOOP_DEMO"] == "0"
    assert worker["depends_on"]["app"]["condition"] == "service_healthy"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(app["healthcheck"]["test"])


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="no `docker compose` plugin here; the YAML shape is checked above",
)
def test_docker_compose_accepts_the_file():
    res = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_dockerfile_installs_dependencies_before_the_source_and_runs_as_a_user():
    steps = _instructions()
    kinds = [k for k, _ in steps]
    copy_source = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and a.split()[0] == ".")
    deps = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "pip install -r" in a)
    torch = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "torch" in a and "download.pytorch.org" in a)
    assert torch < deps < copy_source
    assert all(a.split()[0] == "pyproject.toml" for k, a in steps[:copy_source] if k == "COPY")  # nothing else yet
    assert "${TORCH}" in steps[torch][1] and any(k == "ARG" and a.startswith("TORCH=cpu") for k, a in steps)
    users = [a for k, a in steps if k == "USER"]
    assert users and users[-1] not in ("root", "0") and kinds.index("USER") > copy_source
    assert "HEALTHCHECK" in kinds and "/healthz" in dict(steps)["HEALTHCHECK"]
    assert not any(k == "RUN" and "scatterloop demo" in a for k, a in steps)  # not baked into the image
    assert "scatterloop-entrypoint" in dict(steps)["ENTRYPOINT"]


def test_the_dockerfile_requirements_step_reads_this_pyproject(tmp_path):
    (run,) = [a for k, a in _instructions() if k == "RUN" and "tomllib" in a]
    code = re.search(r'python -c "(.*?)" >', run).group(1)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        r for e in ("server", "postgres", "celery") for r in project["optional-dependencies"][e]
    ]
    assert out.splitlines() == wanted


@pytest.mark.parametrize("demo", ["1", "0"])
def test_entrypoint_makes_the_demo_on_first_start_then_runs_the_command(tmp_path, demo):
    fake = tmp_path / "bin" / "scatterloop"  # records its arguments instead of building 600 frames
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "SCATTERLOOP_DEMO": demo}
    env["SCATTERLOOP_WORKSPACE"] = str(tmp_path / "ws")
    subprocess.run(["sh", str(ROOT / "docker" / "entrypoint.sh"), "scatterloop", "serve", "--x"], env=env, check=True)
    calls = (tmp_path / "calls").read_text().splitlines()
    expected = ([f"demo --workspace {tmp_path / 'ws'} --no-serve --quiet"] if demo == "1" else []) + ["serve --x"]
    assert calls == expected
