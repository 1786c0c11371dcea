"""The beam centre a detector file's header states: read per format, used where the rings fix none, and never
over a centre the rings fix."""

from __future__ import annotations

import json
import struct

import fabio
import h5py
import numpy as np
import pytest
import tifffile
from fabio.cbfimage import CbfImage

from scatterloop.core.cli import main
from scatterloop.core.io import read_frame
from scatterloop.core.polar import analyse

RNG = np.random.default_rng(7)
H, W = 240, 320


def _rings(cx: float, cy: float, radii=(50, 90, 130)) -> np.ndarray:
    y, x = np.mgrid[:H, :W]
    r = np.hypot(x - cx, y - cy)
    lam = 5 + sum(400 * np.exp(-0.5 * ((r - radius) / 2.0) ** 2) for radius in radii)
    return RNG.poisson(lam).astype(np.int32)


def _empty() -> np.ndarray:
    return RNG.poisson(5, (H, W)).astype(np.int32)


def _cbf(path, data, beam_xy: str) -> None:
    contents = f"# Detector: PILATUS 300K, S/N 3-0101\r\n# Pixel_size 172e-6 m x 172e-6 m\r\n# {beam_xy}\r\n"
    header = {"_array_data.header_convention": "PILATUS_1.2", "_array_data.header_contents": contents}
    CbfImage(data=data, header=header).write(str(path))


def test_each_format_header_gives_the_centre_in_array_pixels(tmp_path):
    """Every convention counts from the first pixel's outer corner; ADSC's X runs along the rows (Mosflm)."""
    data = _empty()
    _cbf(tmp_path / "a.cbf", data, "Beam_xy (160.50, 120.25) pixels")
    edf = {"Center_1": "160.5", "Center_2": "120.25"}
    fabio.edfimage.EdfImage(data=data, header=edf).write(str(tmp_path / "a.edf"))
    header = {"BEAM_CENTER_X": "12.025", "BEAM_CENTER_Y": "16.05", "PIXEL_SIZE": "0.1", "DISTANCE": "200"}
    fabio.adscimage.AdscImage(data=data.astype(np.uint16), header=header).write(str(tmp_path / "a.img"))
    description = "# Detector: PILATUS 300K\r\n# Beam_xy (160.50, 120.25) pixels\r\n# Exposure_time 1.0 s\r\n"
    tifffile.imwrite(tmp_path / "p.tif", data, description=description)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        det = entry.create_group("instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        det["data"] = data[None]
        det["beam_center_x"] = 160.5 * 0.075  # a length: converted with the pixel size
        det["beam_center_x"].attrs["units"] = "mm"
        det["beam_center_y"] = 120.25
        det["beam_center_y"].attrs["units"] = "pixel"
        det["x_pixel_size"] = 75e-6
        det["x_pixel_size"].attrs["units"] = "m"
    for name, key in (("a.cbf", "Beam_xy"), ("a.edf", "Center_1/2"), ("a.img", "BEAM_CENTER_X/Y"),
                      ("p.tif", "Beam_xy"), ("a.h5", "beam_center_x/y")):  # fmt: skip
        beam = read_frame(tmp_path / name).meta.get("header_centre")
        assert beam is not None, name
        assert (beam["x"], beam["y"], beam["key"]) == (pytest.approx(160.0), pytest.approx(119.75), key), name


def _marccd(data: np.ndarray, beam_x: int, beam_y: int) -> bytes:
    """A MarCCD file as the detector writes it: a TIFF whose pixels start at 4096, the MarCCD header at 1024."""
    h, w = data.shape
    tags = [(256, 3, w), (257, 3, h), (258, 3, 16), (259, 3, 1), (262, 3, 1), (273, 4, 4096), (277, 3, 1),
            (278, 3, h), (279, 4, data.nbytes)]  # fmt: skip
    head = bytearray(4096)
    head[:8] = b"II" + struct.pack("<HI", 42, 8)
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", t, k, 1, v) for t, k, v in tags)
    head[8 : 8 + len(ifd) + 4] = ifd + struct.pack("<I", 0)
    struct.pack_into("<III", head, 1024 + 80, w, h, 2)  # width, height, depth (bytes) repeated in the header
    struct.pack_into("<ii", head, 1668, beam_x, beam_y)  # beam_x, beam_y in thousandths of a pixel
    return bytes(head) + data.astype("<u2").tobytes()


def test_marccd_header_is_read_whatever_the_suffix(tmp_path):
    data = RNG.integers(0, 60_000, (64, 64)).astype(np.uint16)
    for name in ("a.mccd", "b.tif"):
        (tmp_path / name).write_bytes(_marccd(data, 30_500, 20_250))
        frame = read_frame(tmp_path / name)
        assert np.array_equal(frame.data, data), name
        beam = frame.meta["header_centre"]
        assert (beam["x"], beam["y"]) == (pytest.approx(30.0), pytest.approx(19.75)), name
    tifffile.imwrite(tmp_path / "plain.tif", data)  # any other TIFF: bytes 1104-1111 are pixels, not its shape
    assert "header_centre" not in read_frame(tmp_path / "plain.tif").meta
    turned = bytearray(_marccd(data, 30_500, 20_250))
    struct.pack_into("<I", turned, 1024 + 120, 1)  # another orientation of the fast axis: the centre would mirror
    for name in ("t.mccd", "t.tif"):
        (tmp_path / name).write_bytes(bytes(turned))
        assert "header_centre" not in read_frame(tmp_path / name).meta, name


UNUSABLE = ["Beam_xy (0.00, 0.00) pixels", "Beam_xy (nan, 3.0) pixels", "Beam_xy (99999.0, 50.0) pixels"]


@pytest.mark.parametrize("beam_xy", UNUSABLE + ["Beam_xy ? ?", "Flux n/a", "Comment"])
def test_an_unset_or_impossible_header_centre_is_not_taken(tmp_path, beam_xy):
    """Nor does a miniheader value fabio cannot parse (or a one-word line) fail the frame: it was refused whole."""
    data = _empty()
    _cbf(tmp_path / "a.cbf", data, beam_xy)
    frame = read_frame(tmp_path / "a.cbf")
    assert np.array_equal(frame.data, data) and "header_centre" not in frame.meta


def test_rings_that_fix_a_centre_win_over_the_header_and_the_disagreement_is_said(tmp_path):
    data = _rings(170.3, 110.7)
    _cbf(tmp_path / "near.cbf", data, "Beam_xy (171.80, 111.20) pixels")  # 1.6 px off: agrees, nothing said
    _cbf(tmp_path / "far.cbf", data, "Beam_xy (60.00, 40.00) pixels")  # a default left in the header
    near, far = read_frame(tmp_path / "near.cbf"), read_frame(tmp_path / "far.cbf")
    res = analyse(near.data, near.mask, header=near.meta["header_centre"])
    assert res.source == "search" and not res.warnings
    assert (res.centre_x, res.centre_y) == (pytest.approx(170.3, abs=0.5), pytest.approx(110.7, abs=0.5))
    res = analyse(far.data, far.mask, header=far.meta["header_centre"])
    assert res.source == "search" and res.centre_x == pytest.approx(170.3, abs=0.5)
    assert len(res.warnings) == 1 and "(Beam_xy) puts the beam at (59.5, 39.5), 132 px from" in res.warnings[0]


def test_where_the_rings_fix_no_centre_the_header_gives_it(tmp_path, capsys):
    _cbf(tmp_path / "empty.cbf", _empty(), "Beam_xy (150.50, 100.50) pixels")
    frame = read_frame(tmp_path / "empty.cbf")
    searched = analyse(frame.data, frame.mask)
    assert searched.status == "no centre"
    res = analyse(frame.data, frame.mask, header=frame.meta["header_centre"])
    assert (res.status, res.source, res.centre_x, res.centre_y) == ("found", "header Beam_xy", 150.0, 100.0)
    assert "rings do not fix a centre" in res.warnings[0]

    assert main(["polar", str(tmp_path / "empty.cbf"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["status"], out["source"], out["centre_x"]) == ("found", "header Beam_xy", 150.0)
    assert out["header_centre"] == [150.0, 100.0, "Beam_xy"]
    assert (out["confidence"], out["score"]) == (None, None)  # nothing measured it; no rings to score
    assert main(["polar", str(tmp_path / "empty.cbf"), "--json", "--no-header"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["status"], out["header_centre"]) == ("no centre", None)


def test_the_polar_view_of_an_imported_frame_uses_its_header_and_a_master_copy_keeps_it(workspace, tmp_path):
    from scatterloop.core.explore import polar_view
    from scatterloop.core.ingest import import_paths

    # an Eiger-style master whose frames live in a data file: the stored copy keeps the detector's beam centre
    with h5py.File(tmp_path / "scan_data_000001.h5", "w") as f:
        f["entry/data/data"] = _empty()[None]
    with h5py.File(tmp_path / "scan_master.h5", "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        det = entry.create_group("instrument/detector")
        det.attrs["NX_class"] = "NXdetector"
        for key, value in (("beam_center_x", 140.5), ("beam_center_y", 90.5)):
            det[key] = value
            det[key].attrs["units"] = "pixel"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        data["data_000001"] = h5py.ExternalLink("scan_data_000001.h5", "entry/data/data")
    summary = import_paths(workspace, [tmp_path / "scan_master.h5"], source="experimental")
    assert summary.imported == 1, summary.errors
    image = workspace.store.get_images(summary.image_ids)[0]
    assert workspace.load_frame(image).meta["header_centre"]["x"] == pytest.approx(140.0)
    view = polar_view(workspace, image.id)
    assert (view.status, view.source, view.centre_x, view.centre_y) == ("found", "header beam_center_x/y", 140.0, 90.0)
    assert view.symmetry == -1.0  # an empty frame: the header gives its centre, but there are no rings to score
    assert len(view.notes) == 1 and "rings do not fix a centre" in view.notes[0]
    from scatterloop.dashboard.components.explore_detail import polar_caption

    text = "".join(str(part) for part in polar_caption(view.__dict__))
    assert "symmetry n/a (no ring structure to score)" in text
    assert "centre x=140.0, y=90.0 (from the file's header, beam_center_x/y)" in text
    assert "the file's header's (beam_center_x/y) is used" in text  # the note, in the Explore panel too


def test_polar_on_a_master_copies_only_the_frames_up_to_the_one_asked_for(tmp_path, capsys, monkeypatch):
    """`polar` on one frame of an Eiger series had copied every data file of the series first."""
    from scatterloop.core import io_hdf5_copy

    stacks = [RNG.poisson(5, (2, 60, 70)).astype(np.int32) for _ in range(3)]
    for k, stack in enumerate(stacks, 1):
        with h5py.File(tmp_path / f"scan_data_00000{k}.h5", "w") as f:
            f["entry/data/data"] = stack
    with h5py.File(tmp_path / "scan_master.h5", "w") as f:
        for k in range(1, 4):
            f[f"entry/data/data_00000{k}"] = h5py.ExternalLink(f"scan_data_00000{k}.h5", "entry/data/data")
    copied = []
    real = io_hdf5_copy._source_dataset

    def counted(src, name, *args):
        copied.append(name.rpartition("/")[2])
        return real(src, name, *args)

    monkeypatch.setattr(io_hdf5_copy, "_source_dataset", counted)
    assert main(["polar", str(tmp_path / "scan_master.h5"), "--frame", "2", "--json"]) == 0
    capsys.readouterr()
    assert copied == ["data_000001", "data_000002"]  # frame 2 is the first of the second data file
    copy = tmp_path / "copy.h5"
    name = io_hdf5_copy.materialise(tmp_path / "scan_master.h5", copy, None, None, 10**8, upto=3)
    with h5py.File(copy) as f:
        assert np.array_equal(f[name][()], np.concatenate(stacks)[:3])


@pytest.mark.parametrize(
    "text",
    [
        "# Beam_xy (32.5 ,, 20.5)",  # one number split in two, or a stray separator
        "# Beam_xy (1,2,3) pixels",
        "Sample with Beam_xy 100 and 200 mm",  # prose
        "# Comment Beam_xy (5, 5) pixels were wrong",  # not a line of its own
        "# Beam_xy (32.5, 20.5) mm",  # not pixels
        "# Beam_xy (32.5, 20.5",
    ],
)
def test_only_a_miniheader_line_of_its_own_gives_beam_xy(text):
    from scatterloop.core.geometry.header import beam_xy

    assert beam_xy(text, (H, W)) is None
    assert beam_xy(text + "\n# Beam_xy (32.50, 20.50) pixels\r", (H, W)) == {"x": 32.0, "y": 20.0, "key": "Beam_xy"}


def test_hostile_header_numbers_are_not_a_centre(tmp_path):
    """Found by a fuzzing review: a two-frame EDF skipped the distance check (1e300 became the centre, 1.7e308
    crashed the polar view), `3_2` read as 32, an unreadable offset as 0, and `SIZE1 nan` raised."""
    from scatterloop.core.geometry.header import from_fabio

    data = _empty()
    edf = fabio.edfimage.EdfImage(data=data, header={"Center_1": "1e300", "Center_2": "20"})
    edf.append_frame(data=data, header={"Center_1": "1e300", "Center_2": "20"})
    edf.write(str(tmp_path / "two.edf"))
    assert "header_centre" not in read_frame(tmp_path / "two.edf").meta
    assert from_fabio("EdfImage", {"Center_1": "3_2", "Center_2": "20"}, (H, W)) is None
    assert from_fabio("EdfImage", {"Center_1": "32", "Center_2": "20", "Offset_1": "abc"}, (H, W)) is None
    smv = {"BEAM_CENTER_X": "2", "BEAM_CENTER_Y": "3", "PIXEL_SIZE": "0.1", "SIZE1": "nan", "SIZE2": "inf"}
    assert from_fabio("DtrekImage", smv, None) == {"x": 29.5, "y": 19.5, "key": "BEAM_CENTER_X/Y"}
    far = {"x": 1e7, "y": 5.0, "key": "Beam_xy"}  # given to analyse directly: still not used, and said so
    res = analyse(data, None, header=far)
    assert res.source == "search" and "far off this 240x320 frame: not used" in res.warnings[0]


def test_nexus_beam_centre_is_one_value_in_the_file_and_a_bad_one_costs_the_mask_nothing(workspace, tmp_path):
    """A `beam_center_x` behind an external link, an array of them, or a soft link to itself is no centre; the
    last had made the import's copy of a master lose its pixel mask too."""
    from scatterloop.core.ingest import import_paths

    with h5py.File(tmp_path / "outside.h5", "w") as f:
        f["bc"] = 30.0
    for case in ("external", "array", "loop"):
        frames = RNG.poisson(5, (1, 60, 70)).astype(np.int32)
        frames[0, 10, 10] = 60_000  # a hot pixel the detector's mask flags
        folder = tmp_path / case
        folder.mkdir()
        with h5py.File(folder / "scan_data_000001.h5", "w") as f:
            f["entry/data/data"] = frames
        with h5py.File(folder / "scan_master.h5", "w") as f:
            det = f.create_group("entry/instrument/detector")
            det.attrs["NX_class"] = "NXdetector"
            mask = np.zeros((60, 70), np.uint32)
            mask[10, 10] = 1
            det["detectorSpecific/pixel_mask"] = mask
            det["beam_center_y"] = 20.5
            if case == "external":
                det["beam_center_x"] = h5py.ExternalLink(str(tmp_path / "outside.h5"), "bc")
            elif case == "array":
                det["beam_center_x"] = np.full(5, 30.5)
            else:
                det["beam_center_x"] = h5py.SoftLink("/entry/instrument/detector/beam_center_x")
            f["entry/data/data_000001"] = h5py.ExternalLink("scan_data_000001.h5", "entry/data/data")
        summary = import_paths(workspace, [folder], source="experimental")  # the master first, then its data
        assert [(r.imported, r.duplicates) for r in summary.files] == [(1, 0), (0, 1)], case
        frame = workspace.load_frame(workspace.store.get_images(summary.image_ids)[0])
        assert "header_centre" not in frame.meta, case
        assert frame.mask[10, 10], case  # the master's pixel mask is in the stored copy


def test_an_8bit_render_keeps_its_grey_levels_in_the_thumbnail(workspace, tmp_path):
    """A browser review saw ALS renders (8-bit PNG) almost white: their grey levels went through the log meant
    for counts. The frame says it is a picture for eyes, and its thumbnail maps its grey levels linearly."""
    import io as _io

    from PIL import Image

    from scatterloop.core.io import downsample, thumbnail_png

    y, x = np.mgrid[:128, :128]
    grey = (60 + 120 * np.exp(-((x - 64) ** 2 + (y - 64) ** 2) / 800.0)).astype(np.uint8)  # a halo on mid-grey
    Image.fromarray(grey).save(tmp_path / "render.png")
    frame = read_frame(tmp_path / "render.png")
    assert frame.meta.get("display_image") is True
    small = downsample(frame.data.astype(np.float32), 64).ravel()

    def worst_misfit(png: bytes) -> float:  # of a straight line through (input, thumbnail) grey levels
        out = np.asarray(Image.open(_io.BytesIO(png)), np.float64).ravel()
        inside = (out > 0) & (out < 255)  # the percentile clip saturates a few
        slope, offset = np.polyfit(small[inside], out[inside], 1)
        return float(np.abs(out[inside] - (slope * small[inside] + offset)).max())

    assert worst_misfit(thumbnail_png(frame.data, frame.mask, 64, log=False)) <= 1.0  # rounding only
    assert worst_misfit(thumbnail_png(frame.data, frame.mask, 64)) > 5.0  # the log bends it
    from scatterloop.core.ingest import import_paths

    summary = import_paths(workspace, [tmp_path / "render.png"])
    image = workspace.store.get_images(summary.image_ids)[0]
    stored = workspace.thumb_path(image.sha256).read_bytes()
    assert stored == thumbnail_png(frame.data, frame.mask, workspace.settings.thumb_size, log=False)


def test_each_block_of_a_multi_frame_edf_has_its_own_header(tmp_path):
    """Only the first block's header was read: a later frame's `Dummy` pixels stayed unmasked (2,000 of them here)
    and its `Center_1/2` was the first frame's."""
    from scatterloop.core.io import read_frames

    yy, xx = np.mgrid[:120, :140]
    first = (50 * np.exp(-(((np.hypot(yy - 60, xx - 70) - 30) / 2) ** 2)) + 5).astype(np.float32)
    second = first.copy()
    second[:10, :] = 7.0  # the detector's dead pixels, as the block's header says
    edf = fabio.edfimage.EdfImage(data=first, header={"Center_1": "70.5", "Center_2": "60.5"})
    edf.append_frame(data=second, header={"Dummy": "7", "DDummy": "0.01", "Center_1": "40.5", "Center_2": "30.5"})
    edf.write(str(tmp_path / "stack.edf"))
    frames = list(read_frames(tmp_path / "stack.edf"))
    assert [int(f.mask.sum()) if f.mask is not None else 0 for f in frames] == [0, 1400]  # True: masked
    assert [(f.meta["header_centre"]["x"], f.meta["header_centre"]["y"]) for f in frames] == [(70, 60), (40, 30)]
