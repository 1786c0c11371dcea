"""The wheel is the product: built from a copy of the source, installed into a fresh virtual environment (the
heavy dependencies reused from this one through a `.pth`), it serves the page and every asset, imports as
`scatterloop`, and puts nothing generic into site-packages. The package list in pyproject.toml is complete."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
ROOMS = {"core": "scatterloop.core", "dashboard": "scatterloop.dashboard", "callbacks": "scatterloop.callbacks"}


def test_every_package_folder_is_installed_under_the_namespace():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    for folder, dotted in ROOMS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([dotted, *rel.parts])
            assert name in listed, f"{init.parent} is not listed in [tool.setuptools] packages"
    assert {"scatterloop", "scatterloop.assets"} <= listed
    assert tool["package-dir"] == {
        "scatterloop": "scatterloop",
        "scatterloop.assets": "assets",
        **{dotted: folder for folder, dotted in ROOMS.items()},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the scatterloop wheel; the test venv's site-packages are reachable by `.pth`."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    for rel in listed:  # the files a fresh clone has (plus new ones not yet committed), nothing built or ignored
        if not rel.startswith(("tests/", "docs/")) and (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    wheels = tmp / "wheels"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(wheels),
        str(src),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    (wheel,) = wheels.glob("scatterloop-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # its own pip (ensurepip, offline)
    py = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True
    )
    (purelib / "zz_test_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [venv / "bin" / "python", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.skipif(os.name != "posix", reason="the venv layout and gunicorn are POSIX here")
def test_the_wheel_installs_one_namespace_and_serves_every_asset(installed, tmp_path):
    venv = installed
    where = _run(
        venv,
        "-c",
        "import scatterloop, scatterloop.core.cli as c; print(scatterloop.__file__); print(c.__file__)",
        cwd=tmp_path,
    ).split()
    assert all(str(venv) in w for w in where), where  # the installed copy, not the source tree
    shown = _run(venv, "-m", "pip", "show", "-f", "scatterloop", cwd=tmp_path)
    files = [line.strip() for line in shown.split("Files:", 1)[1].splitlines() if line.strip()]
    top = {f.split("/")[0] for f in files if "/" in f and not f.startswith("..")}
    assert not top & {"core", "dashboard", "callbacks", "assets"}, top
    assets = sorted(p.name for p in (ROOT / "assets").iterdir() if p.suffix in (".css", ".js"))
    assert all(f"scatterloop/assets/{a}" in files for a in assets), assets

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.Popen(
        [venv / "bin" / "scatterloop", "serve", "--workspace", str(tmp_path / "ws"), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, status = time.monotonic() + 180, None
        while status is None:  # wait for the server to answer, not for a fixed time
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the installed server did not answer within 180 s"
            try:
                status, page = _get(f"http://127.0.0.1:{port}/")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert status == 200 and b"scatterloop" in page
        for name in assets:
            code, body = _get(f"http://127.0.0.1:{port}/assets/{name}")
            assert code == 200 and body == (ROOT / "assets" / name).read_bytes(), name
    finally:
        proc.terminate()
        proc.wait(timeout=60)
