"""Issue 11: an import nothing can fool (hostile folder, kill -9 mid-copy) and stacks read at O(1) per frame."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fabio
import h5py
import numpy as np
import pytest
import tifffile

from scatterloop.core.config import Settings
from scatterloop.core.io import detector_mask, read_frame
from scatterloop.core.originals import file_sha256, verify_originals
from scatterloop.core.workspace import Workspace
from tests.core.hostile import make_hostile_folder

ROOT = Path(__file__).resolve().parents[2]
# Peak memory of this process image: VmHWM (reset by exec). ru_maxrss is not: Linux carries the parent's
# high-water mark across fork and exec, so a child of a large pytest process would report pytest's size.
RUNNER = """
import json, resource, sys
from scatterloop.core.cli import main
rc = main(sys.argv[2:])
try:
    hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
except (OSError, IndexError):
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(sys.argv[1], "w") as fh:
    json.dump({"rc": rc, "maxrss_kb": hwm}, fh)
"""
INTERNAL = ("Traceback", "AssertionError", "object has no attribute", "KeyError", "NoneType")


def _cli(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", RUNNER, str(tmp_path / "rss.json"), *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_hostile_folder_imports_every_good_frame_and_names_every_bad_input(tmp_path):
    folder, good, bad = make_hostile_folder(tmp_path)
    assert len(bad) >= 40 and len(good) >= 5
    ws_dir = tmp_path / "ws"
    proc = _cli(tmp_path, "import", str(folder), "--workspace", str(ws_dir), "--json", "--quiet")
    out, err = proc.communicate(timeout=120)
    stats = json.loads((tmp_path / "rss.json").read_text())
    result = json.loads(out.strip().splitlines()[-1])
    assert stats["rc"] == 2 and result["imported"] == len(good) and result["failed"] == len(bad), err
    assert stats["maxrss_kb"] < 2 * 1024 * 1024, stats  # peak memory of the whole import under 2 GB
    lines = err.strip().splitlines()
    assert len(lines) == len(bad), err  # one line per problem, nothing else
    for name in bad:
        shown = f"{folder}/{name}: "
        assert sum(line.startswith(shown) for line in lines) == 1, (name, err)
    for line in lines:
        reason = line.split(": ", 1)[1]
        assert reason.strip() and not any(word in line for word in INTERNAL), line
    assert any("truncated EDF: " in line and "rows missing" in line for line in lines)
    assert any("multi-panel imgCIF (needs pycbf/dxtbx): not supported" in line for line in lines)
    assert any(line.startswith(f"{folder}/checksum.cbf: corrupt CBF: ") for line in lines), err
    assert any(line.startswith(f"{folder}/rows_lie.edf: truncated EDF: ") for line in lines), err
    ws = Workspace.open(Settings(workspace=ws_dir))
    images = [img for img, _ in ws.store.list_images()]
    assert {Path(img.original_name).name for img in images} == good  # a failed file registers nothing
    for img in images:  # every stored original is self-contained and reads back
        frame = ws.load_frame(img)
        assert frame.data.shape == (64, 64) and not frame.mask.all()
        if img.path.endswith(".h5"):
            with h5py.File(ws.root / img.path) as f:
                ds = f[img.dataset]
                assert not ds.is_virtual and not ds.external
    assert verify_originals(ws) == {} and not list((ws.originals / ".tmp").iterdir())
    ws.store.dispose()


def test_kill_during_copy_leaves_nothing_broken_and_rerun_stores_every_original(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    big = np.arange(4096 * 4096, dtype=np.float32).reshape(4096, 4096)  # 64 MB original
    np.save(src / "big.npy", big)
    ws_dir = tmp_path / "ws"
    args = ("import", str(src), "--workspace", str(ws_dir), "--json", "--quiet")
    proc = _cli(tmp_path, *args)
    tmp_dir = ws_dir / "originals" / ".tmp"
    deadline = time.monotonic() + 60
    while not (tmp_dir.is_dir() and any(tmp_dir.iterdir())):  # wait on state: the temporary copy exists
        assert proc.poll() is None and time.monotonic() < deadline, "import ended before its copy was seen"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stored = [p for p in (ws_dir / "originals").rglob("*") if p.is_file() and ".tmp" not in p.parts]
    assert all(file_sha256(p) == p.name.split(".")[0] for p in stored)  # nothing half-written under a final name
    proc = _cli(tmp_path, *args)
    out, err = proc.communicate(timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["imported"] == 1 and result["failed"] == 0, err
    ws = Workspace.open(Settings(workspace=ws_dir))
    assert verify_originals(ws) == {} and not list(tmp_dir.iterdir())
    ((img, _),) = ws.store.list_images()
    assert file_sha256(ws.root / img.path) == img.path.rsplit("/", 1)[-1].split(".")[0]
    assert np.array_equal(ws.load_frame(img).data, big)
    ws.store.dispose()


def test_corrupt_original_is_reported_then_repaired_by_reimport(tmp_path, capsys):
    from scatterloop.core.cli import main

    tifffile.imwrite(tmp_path / "a.tif", np.arange(32 * 32, dtype=np.int32).reshape(32, 32))
    args = ["import", str(tmp_path / "a.tif"), "--workspace", str(tmp_path / "ws"), "--json", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    ((img, _),) = ws.store.list_images()
    stored = ws.root / img.path
    stored.write_bytes(stored.read_bytes()[:100])  # a damaged original
    assert list(verify_originals(ws).values()) == ["stored original corrupt (its SHA-256 does not match)"]
    tifffile.imwrite(tmp_path / "b.tif", np.ones((32, 32), np.int32))
    assert main([*args[:1], str(tmp_path / "b.tif"), *args[2:]]) == 2  # another import reports it
    assert "stored original corrupt" in capsys.readouterr().err
    assert main(args) == 0  # importing its source again repairs it
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["repaired"] == 1
    assert verify_originals(ws) == {} and ws.load_frame(img).data[1, 1] == 33
    ws.store.dispose()


def _stack_files(tmp_path: Path, n: int) -> dict[str, Path]:
    stack = np.stack([np.full((16, 16), i + 1, np.int32) for i in range(n)])
    paths = {k: tmp_path / f"s.{k}" for k in ("h5", "tif", "edf", "npy", "npz")}
    with h5py.File(paths["h5"], "w") as f:
        f["data"] = stack
    tifffile.imwrite(paths["tif"], stack)
    edf = fabio.edfimage.EdfImage(data=stack[0])
    for frame in stack[1:]:
        edf.append_frame(data=frame)
    edf.write(str(paths["edf"]))
    np.save(paths["npy"], stack)
    rows = {f"{i}_{part}": v for i in range(n) for part, v in (("row", [0]), ("col", [0]), ("data", [i + 1]))}
    np.savez(paths["npz"], shape=np.array([16, 16]), nframes=np.array(n), dtype=np.array("int32"), **rows)
    return paths


@pytest.mark.parametrize("kind", ["h5", "tif", "edf", "npy", "npz"])
def test_frame_k_of_a_stack_is_read_directly(tmp_path, kind, monkeypatch):
    """Reading frame k decodes one frame, not frames 0..k (stacks are linear in their length)."""
    from scatterloop.core import io_fabio, io_hdf5, io_readers

    path = _stack_files(tmp_path, 12)[kind]
    calls: list[int] = []
    readers = (io_hdf5.Hdf5Reader, io_readers.TiffReader, io_fabio.FabioReader, io_readers.NpyReader)
    for cls in (*readers, io_readers.FrameCacheReader):
        original = cls.frame
        monkeypatch.setattr(cls, "frame", lambda self, i, _o=original: calls.append(i) or _o(self, i))
    frame = read_frame(path, 9)
    assert calls == [9] and frame.index == 9
    assert frame.data[0, 0] == 10


def test_unsigned_overload_and_circular_masks(tmp_path):
    data = np.full((32, 32), 100, np.uint16)
    data[0, 0] = 65535  # dtype maximum: overflow or gap
    data[1, 1] = 5000
    assert detector_mask(data)[0, 0] and detector_mask(data).sum() == 1
    assert detector_mask(data, overload=4000).sum() == 2  # the header's overload value
    yy, xx = np.ogrid[:32, :32]
    round_area = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2) <= 16**2
    mar = np.where(round_area, 50, 0).astype(np.uint16)
    mask = detector_mask(mar, circular=True)
    assert mask[0, 0] and not mask[16, 16] and mask.sum() == (~round_area).sum()
    assert not detector_mask(np.full((32, 32), 7, np.uint16), circular=True).any()  # square: nothing outside
    edf = tmp_path / "o.edf"
    fabio.edfimage.EdfImage(data=data, header={"Overload": "4000"}).write(str(edf))
    assert read_frame(edf).mask.sum() == 2


def test_a_round_detector_area_is_masked_from_the_data_whatever_the_format(tmp_path):
    """A MAR345 or MarCCD frame converted to EDF or TIFF no longer says it is round: the zero corners must still
    be no measurement (else the disc's edge reads as a ring). A few-count frame with zero corners is not round."""
    rng = np.random.default_rng(0)
    n = 200
    yy, xx = np.ogrid[:n, :n]
    r2 = ((yy - (n - 1) / 2) / (n / 2)) ** 2 + ((xx - (n - 1) / 2) / (n / 2)) ** 2
    inside = r2 <= 1.0
    plate = np.where(inside, rng.poisson(3.0, (n, n)) + 10, 0).astype(np.uint16)  # offset + counts, zero outside
    for path, write in (
        (tmp_path / "plate.edf", lambda f, d: fabio.edfimage.EdfImage(data=d).write(str(f))),
        (tmp_path / "plate.tif", lambda f, d: fabio.tifimage.TifImage(data=d).write(str(f))),
    ):
        write(path, plate)
        mask = read_frame(path).mask
        assert np.array_equal(mask, ~inside), path.name
    # a photon-counting frame of a few counts: zero corners by chance, nothing says the area is round
    sparse = rng.poisson(0.002, (n, n)).astype(np.int32)
    sparse[~inside] = 0
    assert not detector_mask(sparse).any()
    # a zero-suppressed spot frame: ten bright spots just inside the disc's edge, zero everywhere else (enough
    # counts there to have reached the corners, were they spread all round)
    spots = np.zeros((n, n), np.uint16)
    for angle in rng.uniform(0, 2 * np.pi, 10):
        y, x = (int(round(99.5 + 92 * np.sin(angle))), int(round(99.5 + 92 * np.cos(angle))))
        spots[y - 2 : y + 3, x - 2 : x + 3] = 500
    assert spots[~inside].sum() == 0 and not detector_mask(spots).any()
    # counts all round the edge, but too few to have reached the corners: zero corners prove nothing
    faint = np.zeros((n, n), np.uint16)
    for angle in np.linspace(0, 2 * np.pi, 40, endpoint=False):
        faint[int(round(99.5 + 95 * np.sin(angle))), int(round(99.5 + 95 * np.cos(angle)))] = 1
    assert faint[~inside].sum() == 0 and not detector_mask(faint).any()
    # near-square: within 2 % of the longer side
    for cols, round_ in ((204, True), (205, False)):
        yy2, xx2 = np.ogrid[:200, :cols]
        disc = ((yy2 - 99.5) / 100) ** 2 + ((xx2 - (cols - 1) / 2) / (cols / 2)) ** 2 <= 1.0
        frame = np.where(disc, 12, 0).astype(np.uint16)
        assert np.array_equal(detector_mask(frame), ~disc if round_ else np.zeros_like(disc)), cols
    # counts in the corners, a non-square frame, or a format that says "not round": nothing is masked
    assert not detector_mask(np.where(inside, plate, 1).astype(np.uint16)).any()
    assert not detector_mask(np.pad(plate, ((0, 0), (0, 40)))).any()
    assert not detector_mask(plate, circular=False).any()


def test_follow_outside_imports_what_leaves_the_folder_only_when_asked(tmp_path, capsys):
    from scatterloop.core.cli import main

    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    tifffile.imwrite(outside / "a.tif", np.full((16, 16), 1, np.int32))
    tifffile.imwrite(outside / "b.tif", np.full((16, 16), 2, np.int32))
    os.symlink(outside / "a.tif", inside / "a.tif")
    (inside / "list.jsonl").write_text('{"file_name": "../out/b.tif", "text": "far"}\n')
    for extra, imported, failed in (([], 0, 2), (["--follow-outside"], 2, 0)):
        ws = str(tmp_path / f"ws{len(extra)}")
        for target in (inside, inside / "list.jsonl"):
            main(["import", str(target), "--workspace", ws, "--json", "--quiet", *extra])
        res = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
        assert sum(r["imported"] for r in res) == imported and sum(r["failed"] for r in res) == failed
