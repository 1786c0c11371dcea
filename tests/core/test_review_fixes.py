"""Legitimate data and usage that the hardening checks must keep accepting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scatterloop.core.geometry.readers import read_calibration


@pytest.mark.parametrize("wavelength_m", [1.24e-8, 1.35e-8, 2.07e-8, 6.328e-7])  # Si L, EUV, Co M edge, HeNe laser
def test_soft_xray_euv_and_laser_wavelengths_are_read(tmp_path, wavelength_m):
    """Resonant scattering at soft X-ray M edges (50-100 eV), EUV scatterometry at 13.5 nm and laser speckle have
    wavelengths beyond 100 Angstrom; a pyFAI-saved .poni of such a set-up is read, and its q scale is pyFAI's."""
    pytest.importorskip("pyFAI")
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = Detector(13.5e-6, 13.5e-6, max_shape=(64, 80))
    ai = AzimuthalIntegrator(dist=0.2, poni1=32 * 13.5e-6, poni2=40 * 13.5e-6, detector=det, wavelength=wavelength_m)
    path = tmp_path / "euv.poni"
    ai.save(str(path))
    geo = read_calibration(path)
    assert geo.wavelength_m == pytest.approx(wavelength_m)
    assert (geo.centre_x, geo.centre_y) == pytest.approx((39.5, 31.5), abs=1e-6)
    q = geo.integrator().array_from_unit(shape=(64, 80), unit="q_nm^-1")
    assert np.isfinite(q).all() and q.max() == pytest.approx(float(ai.array_from_unit(unit="q_nm^-1").max()))


@pytest.mark.parametrize(("text", "value"), [("Wavelength: 135", "135 m"), ("Wavelength: 13.5", "13.5 m")])
def test_wavelength_in_angstrom_or_nm_in_a_poni_is_still_refused(tmp_path, text, value):
    path = tmp_path / "slip.poni"
    path.write_text(
        "poni_version: 2\nDetector: Detector\n"
        'Detector_config: {"pixel1": 0.0001, "pixel2": 0.0001, "max_shape": [600, 500]}\n'
        f"Distance: 0.3\nPoni1: 0.031\nPoni2: 0.025\nRot1: 0.0\nRot2: 0.0\nRot3: 0.0\n{text}\n"
    )
    with pytest.raises(ValueError, match=f"Wavelength {value} is not a physical wavelength"):
        read_calibration(path)


def test_fit2d_soft_xray_wavelength_in_angstrom_is_read(tmp_path):
    path = tmp_path / "soft.f2d"
    path.write_text(
        "X-BEAM CENTRE (PIXELS) = 100.5\nY-BEAM CENTRE (PIXELS) = 200.5\nSAMPLE TO DETECTOR DISTANCE (MM) = 150\n"
        "WAVELENGTH (ANGSTROMS) = 235\nX-PIXEL SIZE (MICRONS) = 13.5\nY-PIXEL SIZE (MICRONS) = 13.5\n"
    )
    geo = read_calibration(path, "fit2d")
    assert math.isclose(geo.wavelength_m, 2.35e-8) and (geo.centre_x, geo.centre_y) == (100.0, 200.0)


def test_a_new_file_or_folder_at_the_workspace_top_is_a_legitimate_out(workspace, monkeypatch):
    """`scatterloop report --workspace . --out report.html` run from inside the workspace writes a new file beside
    its folders; what the workspace holds (its folders, its database and SQLite's side files) stays refused."""
    root = workspace.root
    monkeypatch.chdir(root)
    assert workspace.check_output("report.html") == root / "report.html"
    assert workspace.check_output("my-export") == root / "my-export"
    (root / "report.html").write_text("<html>old report</html>")  # a rerun overwrites the last report
    assert workspace.check_output("report.html") == root / "report.html"
    (root / "other.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(100))
    refused = [
        "scatterloop.db",
        "scatterloop.db-wal",
        "other.sqlite",
        "x.db",
        "originals",
        "exports/../thumbs",
        "runs/1/report.html",
        "calibration",
        ".",
    ]
    for out in refused:
        with pytest.raises(ValueError, match="is inside the workspace"):
            workspace.check_output(out)
    assert workspace.check_output("exports/sub/r.html") == root / "exports" / "sub" / "r.html"


def test_export_into_a_new_folder_at_the_workspace_top_runs(small_workspace, monkeypatch, capsys):
    from scatterloop.core.cli import main

    root = small_workspace.root
    monkeypatch.chdir(root)
    assert main(["export", "--workspace", ".", "--out", "my-export", "--json"]) == 0, capsys.readouterr().err
    assert any((root / "my-export" / "train").rglob("*.png"))


def test_generate_sample_count_is_the_command_line_owners_to_choose():
    """50,000 samples (FID-50k) is a long run, not a memory risk: frames are sampled and stored batch by batch.
    A shared server still caps what one submitted job may ask for."""
    from scatterloop.core.job_limits import JobRefused, check_params

    check_params("generate", {"n": 50_000}, time_caps=False)
    with pytest.raises(JobRefused, match="generate: n = 50000 is outside"):
        check_params("generate", {"n": 50_000})
    with pytest.raises(JobRefused, match="generate: n = 0 is outside"):
        check_params("generate", {"n": 0}, time_caps=False)


def test_a_cbf_whose_pixels_hold_the_binary_mark_is_one_panel(tmp_path):
    """Byte-offset differences of 12, 26, 4 and -43 in a row are the bytes of the CBF binary-section mark; a
    single-panel frame holding them (a few percent of bright Pilatus 6M frames) was refused as multi-panel."""
    fabio = pytest.importorskip("fabio")
    from fabio.cbfimage import CbfImage

    from scatterloop.core.io import read_frames

    data = np.full((40, 48), 100, np.int32)
    data[20, 10:15] = [100, 112, 138, 142, 99]
    path = tmp_path / "frame.cbf"
    CbfImage(data=data).write(str(path))
    assert path.read_bytes().count(b"\x0c\x1a\x04\xd5") == 2
    (frame,) = read_frames(path)
    assert np.array_equal(frame.data, data) and np.array_equal(fabio.open(str(path)).data, data)
    raw = path.read_bytes()  # two sections, each with its own MIME header, are still multi-panel
    two = tmp_path / "panels.cbf"
    two.write_bytes(raw + raw[raw.index(b"--CIF-BINARY-FORMAT-SECTION--") :])
    with pytest.raises(ValueError, match="multi-panel imgCIF"):
        list(read_frames(two))


def test_nexus_lengths_in_british_or_plural_unit_spellings_are_converted(tmp_path):
    """UDUNITS (NeXus' units) reads 'micrometre', 'millimetres' and 'metres' as readily as 'um', 'mm' and 'm'."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "det.nxs"
    with h5py.File(path, "w") as f:
        det = f.create_group("entry/instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        for key, value, unit in (
            ("x_pixel_size", 75.0, "micrometre"),
            ("y_pixel_size", 75.0, "micrometres"),
            ("distance", 1500.0, "millimetres"),
            ("beam_center_x", 7.5, "millimetre"),
            ("beam_center_y", 120.0, "pixels"),
        ):
            det[key] = value
            det[key].attrs["units"] = unit
    geo = read_calibration(path)
    assert geo.pixel_m == pytest.approx((75e-6, 75e-6)) and geo.distance_m == pytest.approx(1.5)
    assert (geo.centre_x, geo.centre_y) == pytest.approx((99.5, 119.5))


def test_an_export_again_into_the_same_folder_holds_only_what_is_approved_now(small_workspace):
    """Review 2026-12-07: an image relabelled fake kept its PNG in `train/` after a second export there."""
    import json

    from scatterloop.core import api
    from scatterloop.core.export import export_imagefolder

    ws = small_workspace
    candidates = [img for img, _ in ws.store.list_images() if img.source != "experimental"][:2]
    api.label(ws, [c.id for c in candidates], "realistic", annotator="ada")
    out = ws.root.parent / "export"
    first = export_imagefolder(ws, out, include_experimental=False)
    assert first.images == 2 and len(list((out / "train").glob("*.png"))) == 2
    api.label(ws, [candidates[0].id], "fake", annotator="ada")
    second = export_imagefolder(ws, out, include_experimental=False, round=ws.store.current_round())
    pngs = sorted(p.name for p in (out / "train").glob("*.png"))
    listed = [json.loads(line)["file_name"] for line in (out / "train" / "metadata.jsonl").read_text().splitlines()]
    assert second.images == 1 and pngs == listed == [f"{candidates[1].id:06d}.png"]
    # a cancelled export leaves the last one loadable: no PNG its list does not hold; a user's PNG stays
    from scatterloop.core.jobs import Cancelled

    (out / "train" / "20240315.png").write_bytes(b"a user's file")
    api.label(ws, [candidates[0].id], "realistic", annotator="ada")
    stops = iter([False, True])  # the first image (in id order, the new one) is drawn, then a cancel
    with pytest.raises(Cancelled):
        export_imagefolder(ws, out, include_experimental=False, should_stop=lambda: next(stops))
    assert sorted(p.name for p in (out / "train").glob("0*.png")) == listed
    export_imagefolder(ws, out, include_experimental=False)
    assert (out / "train" / "20240315.png").exists() and len(list((out / "train").glob("0*.png"))) == 2
    api.label(ws, [candidates[0].id], "fake", annotator="ada")
    assert not [p for p in out.rglob(".*") if p.name != ".export.lock"]  # no temporary file left
    export_imagefolder(ws, out, include_experimental=False)
    with pytest.raises(ValueError, match="--round: round 99 does not exist"):
        export_imagefolder(ws, out, round=99)
    # a `train/` that is a link to another disk stays one (the review: a folder swap replaced the link)
    elsewhere = ws.root.parent / "big-disk" / "train"
    elsewhere.mkdir(parents=True)
    (ws.root.parent / "linked").mkdir()
    (ws.root.parent / "linked" / "train").symlink_to(elsewhere)
    for _ in range(2):
        assert export_imagefolder(ws, ws.root.parent / "linked", include_experimental=False).images == 1
    assert (ws.root.parent / "linked" / "train").is_symlink() and len(list(elsewhere.glob("*.png"))) == 1


def test_labels_prelabel_and_manifests_write_are_in_the_current_round(small_workspace, tmp_path):
    from scatterloop.core.classify.predict import prelabel

    store = small_workspace.store
    image = next(img for img, _ in store.list_images() if img.source != "experimental")
    store.add_labels([image.id], "realistic", annotator="ensemble:weighted", origin="model", confidence=0.99)
    prelabel(store, threshold=0.9, annotator="ada")
    assert image.id in store.labels_as_of(store.current_round())


def test_experimental_frames_and_other_label_sets_stay_out_of_realism_reviews(small_workspace):
    """Review 2026-12-07: the disagree queue listed speckle frames whose label is a disk count, and pre-labelling
    wrote "fake" on experimental frames a person had asked to have scored."""
    from scatterloop.core.classify.predict import prelabel, review_queue

    store = small_workspace.store
    images = [img for img, _ in store.list_images()]
    exp = next(img for img in images if img.source == "experimental")
    cand = [img for img in images if img.source != "experimental"][:2]
    for img, call in ((exp, "fake"), (cand[0], "fake"), (cand[1], "realistic")):
        store.add_labels([img.id], call, annotator="ensemble:weighted", origin="model", confidence=0.99)
    store.add_labels([cand[1].id], "17", annotator="import")  # a disk count: another task's label
    assert review_queue(store, "disagree") == []
    assert exp.id not in review_queue(store, "uncertain")
    counts = prelabel(store, threshold=0.9, annotator="ada")
    labels = store.current_labels()
    assert counts["prelabelled"] == 1 and labels[cand[0].id].label == "fake" and exp.id not in labels


def test_a_labels_task_keeps_its_calls_on_experimental_frames(small_workspace):
    """Review 2026-12-07: leaving experimental frames out of realism reviews emptied a `labels` task's queues and
    pre-labels, whose calls are on experimental frames by design."""
    from scatterloop.core.classify.predict import prelabel, review_queue

    store = small_workspace.store
    exp = [img for img, _ in store.list_images() if img.source == "experimental"][:3]
    run = store.create_run("classify", {})
    store.update_run(run, status="done", result={"task": "labels", "classes": ["1", "2"]})
    store.add_labels([exp[0].id], "1", annotator="ada")
    for img in exp:
        store.add_labels([img.id], "2", annotator="ensemble:weighted", origin="model", confidence=0.99)
    assert review_queue(store, "disagree") == [exp[0].id]
    assert set(review_queue(store, "uncertain")) == {exp[1].id, exp[2].id}
    assert prelabel(store, threshold=0.9, annotator="ada")["prelabelled"] == 2


def test_after_a_realism_round_the_labels_tasks_calls_still_reach_the_queues_and_pre_labels(small_workspace):
    """Once a realism round existed, the queues and pre-labelling read its classes only: a later labels round's
    calls (speckle disk counts) reached neither. They now read the latest labelling round's task, or the one
    asked for."""
    from scatterloop.core.classify.predict import prelabel, review_queue

    store = small_workspace.store
    images = [img for img, _ in store.list_images()]
    exp = [img for img in images if img.source == "experimental"][:2]
    cand = next(img for img in images if img.source == "generated")
    for task, classes in (("realism", ["fake", "realistic"]), ("pattern", ["peaks", "rings"]), ("labels", ["1", "2"])):
        run = store.create_run("classify", {})
        store.update_run(run, status="done", result={"task": task, "classes": classes})
    store.add_labels([cand.id], "fake", annotator="ensemble:weighted", origin="model", confidence=0.6)
    for img in exp:
        store.add_labels([img.id], "2", annotator="ensemble:weighted", origin="model", confidence=0.99)
    assert set(review_queue(store, "uncertain")) == {exp[0].id, exp[1].id}  # the latest labelling round: labels
    assert review_queue(store, "uncertain", task="realism") == [cand.id]
    with pytest.raises(ValueError, match="task: expected one of realism, labels"):
        review_queue(store, "uncertain", task="pattern")
    counts = prelabel(store, threshold=0.9, annotator="ada")
    assert counts["task"] == "labels" and counts["prelabelled"] == 2
    assert {store.current_labels()[img.id].label for img in exp} == {"2"}
    assert prelabel(store, threshold=0.5, annotator="ada", task="realism")["prelabelled"] == 1


def test_a_later_pattern_round_does_not_hide_the_realism_rounds_doubts(small_workspace, capsys):
    from scatterloop.core.classify.predict import review_queue

    store = small_workspace.store
    cand = next(img for img, _ in store.list_images() if img.source == "generated")
    store.add_labels([cand.id], "fake", annotator="ada")
    run = store.create_run("classify", {})
    doubt = [{"id": cand.id, "label": "fake", "chance": 0.02, "set": "val"}]
    result = {"task": "realism", "classes": ["fake", "realistic"], "doubted": doubt, "round": 1, "init": "scratch"}
    store.update_run(run, status="done", result=result)
    run = store.create_run("classify", {})
    result = {"task": "pattern", "classes": ["peaks", "rings"], "doubted": [], "round": 1, "init": "scratch"}
    store.update_run(run, status="done", result=result)
    assert review_queue(store, "doubted") == [cand.id]
    with pytest.raises(ValueError, match="task: expected one of realism, labels"):
        review_queue(store, "doubted", task="pattern")
    from scatterloop.core.cli import main

    store.dispose()
    root = str(small_workspace.root)
    assert main(["classify", "queue", "--workspace", root, "--queue", "doubted", "--scheme", "hard"]) == 2
    assert "--scheme: the doubted queue reads the round's doubts" in capsys.readouterr().err
    assert main(["classify", "queue", "--workspace", root, "--queue", "doubted", "--json"]) == 0
    assert f'"image_ids": [{cand.id}]' in capsys.readouterr().out
