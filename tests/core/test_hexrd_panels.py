"""A HEXRD instrument of several panels (a Pilatus 2M's 24 modules, each 195x487): its first panel was used for any
frame, silently, putting the beam 500 px off with confidence 1.0. The panel is the one named, the only one of the
frame's shape, or the one the frame's file name names (HEXRD names a panel's frames after it); never a guess."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from scatterloop.core.cli import main
from scatterloop.core.geometry.readers import read_calibration

PANELS = {"det_0_0": 0.0, "det_0_1": 40.0, "det_0_10": 80.0, "wide": 0.0}  # x offsets (mm) of the 48x40 modules


def _instrument(path):
    text = "beam:\n  energy: 20.0\n  vector: {azimuth: 90.0, polar_angle: 90.0}\ndetectors:\n"
    for name, dx in PANELS.items():
        rows, cols = (48, 40) if name != "wide" else (60, 90)
        text += f"  {name}:\n    pixels: {{rows: {rows}, columns: {cols}, size: [0.2, 0.2]}}\n"
        text += f"    transform: {{tilt: [0.0, 0.0, 0.0], translation: [{dx}, 0.0, -500.0]}}\n"
    path.write_text(text)
    return path


def test_the_panel_is_named_fitted_by_shape_or_by_the_frames_file_name_never_guessed(tmp_path):
    inst = _instrument(tmp_path / "inst.yml")
    centre = {name: read_calibration(inst, panel=name).centre_x for name in PANELS}
    assert len(set(centre.values())) == 4  # the panels lie apart: each gives its own centre
    geo = read_calibration(inst, frame_shape=(60, 90))  # the only panel of that shape
    assert geo.panel == "wide"
    for name in ("det_0_1", "det_0_10"):  # "det_0_1" is also within "det_0_10": the longest name wins
        geo = read_calibration(inst, frame_shape=(48, 40), frame_name=f"ceria_{name}.tif")
        assert geo.panel == name and geo.centre_x == pytest.approx(centre[name])
    with pytest.raises(ValueError, match=r"3 HEXRD panels of this frame's 48x40 pixels \(det_0_0, det_0_1, det_0_10"):
        read_calibration(inst, frame_shape=(48, 40), frame_name="frame_0001.tif")
    with pytest.raises(ValueError, match=r"no panel 'nope'; it has det_0_0, det_0_1, det_0_10, wide"):
        read_calibration(inst, panel="nope")


def test_polar_names_the_panel_it_used_and_refuses_a_panel_without_a_hexrd_file(tmp_path, capsys):
    inst = _instrument(tmp_path / "inst.yml")
    frame = np.random.default_rng(0).poisson(20, (48, 40)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "scan_det_0_10.tif", frame)
    tifffile.imwrite(tmp_path / "scan.tif", frame)

    def polar(*args):
        code = main(["polar", *map(str, args), "--json"])
        return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    code, out = polar(tmp_path / "scan_det_0_10.tif", "--calibration", inst)
    assert code == 0 and out["source"] == "hexrd panel det_0_10"
    assert out["masked"] == {"gaps_dead_nonfinite": 0}  # counted as without a calibration, never left empty
    code, out = polar(tmp_path / "scan.tif", "--calibration", inst)
    assert code == 2 and "name the frame's panel (polar --panel, or a 'panel' column" in out["error"]
    code, out = polar(tmp_path / "scan.tif", "--calibration", inst, "--panel", "det_0_1")
    assert code == 0 and out["source"] == "hexrd panel det_0_1"
    code, out = polar(tmp_path / "scan.tif", "--panel", "det_0_1")
    assert code == 2 and out["error"] == "--panel: picks a panel of the --calibration file; give --calibration too"
    (tmp_path / "a.poni").write_text("Distance: 0.1\nPixel1: 1e-4\nPixel2: 1e-4\nPoni1: 0.002\nPoni2: 0.002\n")
    code, out = polar(tmp_path / "scan.tif", "--calibration", tmp_path / "a.poni", "--panel", "det_0_1")
    assert code == 2 and "--panel: picks a panel of a HEXRD instrument; a.poni is a poni calibration" in out["error"]


def test_a_panel_is_named_as_a_whole_token_and_two_named_are_refused(tmp_path):
    """Review rev11: substrings picked a panel the name does not hold (`p1` in `scan_p10`), and a file naming two
    panels got the longer one; YAML panel names that read as integers could not be used at all."""
    inst = _instrument(tmp_path / "inst.yml")
    with pytest.raises(ValueError, match=r"names 2 panels \(det_0_1, det_0_10\): name the frame's panel"):
        read_calibration(inst, frame_shape=(48, 40), frame_name="ceria_det_0_1_vs_det_0_10.tif")
    with pytest.raises(ValueError, match="3 HEXRD panels of this frame's 48x40"):
        read_calibration(inst, frame_shape=(48, 40), frame_name="scan_det_0_100.tif")  # no panel det_0_100
    assert read_calibration(inst, frame_shape=(48, 40), frame_name="DET_0_1-ceria.cbf").panel == "det_0_1"
    text = (tmp_path / "inst.yml").read_text().replace("det_0_0:", "2:").replace("det_0_1:", "10:")
    (tmp_path / "ints.yml").write_text(text)
    assert read_calibration(tmp_path / "ints.yml", panel="2").panel == "2"
    assert read_calibration(tmp_path / "ints.yml", frame_shape=(48, 40), frame_name="scan_10.tif").panel == "10"


def test_an_images_manifest_panel_reaches_the_views_and_is_passed_over_beside_a_poni(tmp_path):
    """Review rev11: the pages had no way to say which panel of a many-panel instrument a frame is, and their note
    named a CLI flag. A manifest's `panel` column is kept with the image and used by its views."""
    from scatterloop.core.config import Settings
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.qprofile import _geometry
    from scatterloop.core.workspace import Workspace

    (tmp_path / "in").mkdir()
    frame = np.random.default_rng(0).poisson(20, (48, 40)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "in" / "f.tif", frame)
    (tmp_path / "in" / "metadata.jsonl").write_text(json.dumps({"file_name": "f.tif", "panel": "det_0_10"}) + "\n")
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        import_paths(ws, [tmp_path / "in"])
        (image,) = [img for img, _ in ws.store.list_images()]
        (ws.root / "calibration").mkdir()
        _instrument(ws.root / "calibration" / "default.yml")
        geo, path, why = _geometry(ws, image)
        assert geo is not None and geo.panel == "det_0_10", why
        (ws.root / "calibration" / "default.yml").unlink()
        (ws.root / "calibration" / "default.poni").write_text(
            "Distance: 0.1\nPixelSize1: 1e-4\nPixelSize2: 1e-4\nPoni1: 0.002\nPoni2: 0.002\n"
            "Rot1: 0\nRot2: 0\nRot3: 0\n"
            "Wavelength: 1e-10\n"
        )
        geo, path, why = _geometry(ws, image)
        assert geo is not None and geo.panel is None, why  # a panel beside a .poni is passed over, not an error
    finally:
        ws.store.dispose()


def test_a_panel_named_by_a_later_import_reaches_frames_stored_before(tmp_path):
    """Review rev12: the frames came back as duplicates and kept no panel, so following the refusal's advice did
    nothing. A later manifest's `panel` (and `calibration`) fills what stored frames lack; a value stored is kept."""
    from scatterloop.core.config import Settings
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.qprofile import _geometry
    from scatterloop.core.workspace import Workspace

    (tmp_path / "in").mkdir()
    for k in range(2):
        tifffile.imwrite(tmp_path / "in" / f"f{k}.tif", np.random.default_rng(k).poisson(20, (48, 40)).astype("u2"))
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    try:
        import_paths(ws, [tmp_path / "in"])
        (ws.root / "calibration").mkdir()
        _instrument(ws.root / "calibration" / "default.yml")
        images = sorted((img for img, _ in ws.store.list_images()), key=lambda img: img.original_name)
        assert _geometry(ws, images[0])[0] is None  # 3 panels of its shape, its name names none: refused
        rows = [{"file_name": "f0.tif", "panel": "det_0_10"}, {"file_name": "f1.tif", "panel": "det_0_1"}]
        (tmp_path / "in" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        again = import_paths(ws, [tmp_path / "in"])
        assert again.duplicates == 2 and any("lacked: they take this manifest's" in w for w in again.warnings)
        images = sorted((img for img, _ in ws.store.list_images()), key=lambda img: img.original_name)
        assert [_geometry(ws, img)[0].panel for img in images] == ["det_0_10", "det_0_1"]
        from scatterloop.core import api as sl  # the Python API shows what a manifest recorded

        assert sorted(r["provenance"].get("panel") for r in sl.images(ws)) == ["det_0_1", "det_0_10"]
        rows[0]["panel"] = "det_0_0"  # a third import naming another panel changes none, and says which kept theirs
        (tmp_path / "in" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        third = import_paths(ws, [tmp_path / "in"])
        assert any(f"keep their calibration or panel, not the manifest's: image {images[0].id} (panel)" in w
                   for w in third.warnings), third.warnings  # fmt: skip
        assert ws.store.get_image(images[0].id).provenance["panel"] == "det_0_10"
    finally:
        ws.store.dispose()
