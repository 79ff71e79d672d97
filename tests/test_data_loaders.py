"""Tests of dmtloss.data.loaders, on small files written here in each data set's format."""

import importlib.util
import logging
import os
import struct
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile
from skimage.segmentation import find_boundaries

from dmtloss.data import SegmentationSet, loaders
from dmtloss.data.loaders import (load_cracktree, load_cremi, load_drive, load_em_vnc, load_folder, load_isbi2012,
                                  load_isbi2013, load_roads)

LUMA = np.array([0.299, 0.587, 0.114])
RNG = np.random.default_rng(20240521)


def _stack(path, array):
    tifffile.imwrite(path, array, photometric="minisblack")


def _pages(path, array):
    """A plain multi-page tif (no shape metadata): its length is its chain of pages."""
    with tifffile.TiffWriter(path) as writer:
        for page in array:
            writer.write(page, photometric="minisblack", metadata=None)


def _truncate(path, keep):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:keep])
    return len(data)


def _page_ends(path):
    """(end of the pixels, start of the IFD) of each page but the last."""
    with tifffile.TiffFile(path) as tif:
        pages = list(tif.pages)
        return [(p.dataoffsets[-1] + p.databytecounts[-1], q.offset) for p, q in zip(pages[:-1], pages[1:])]


def _cuts(path):
    """Lengths to truncate a tif to: a sample of all, and every length near a page's ends."""
    size = path.stat().st_size
    near = {c + d for pair in _page_ends(path) for c in pair for d in range(-2, 3)}
    return sorted(set(range(0, size, 11)) | {size - 1} | {c for c in near if 0 <= c < size})


def _uint8(shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def _palette_gif(path, mask):
    image = Image.new("P", (mask.shape[1], mask.shape[0]))
    image.putpalette([0, 0, 0, 255, 255, 255] + [0, 0, 0] * 254)
    image.putdata([int(v) for v in mask.ravel()])
    image.save(path)


@pytest.fixture
def no_pixel_reads(monkeypatch):
    """Fail the test if a loader decodes pixels (checks must come from headers)."""
    def read(self):
        raise AssertionError(f"pixels of {self.path} were read")
    monkeypatch.setattr(loaders._ImageFile, "read", read)


# -- ISBI 2012 -------------------------------------------------------------------------

@pytest.fixture
def isbi2012(tmp_path):
    volume = _uint8((3, 12, 16))
    labels = np.full((3, 12, 16), 255, np.uint8)
    labels[:, 5, :] = 0
    labels[1, :, 7] = 0
    _stack(tmp_path / "train-volume.tif", volume)
    _stack(tmp_path / "train-labels.tif", labels)
    return tmp_path, volume, labels


def test_isbi2012_sections(isbi2012):
    folder, volume, labels = isbi2012
    data = load_isbi2012(folder)
    assert isinstance(data, SegmentationSet) and data.regions == "background"
    assert data.names == ("train-volume/z00", "train-volume/z01", "train-volume/z02")
    for z, (image, target) in enumerate(data):
        assert image.dtype == np.float32 and image.shape == (12, 16)
        assert np.array_equal(image, (volume[z] / 255.0).astype(np.float32))
        assert np.array_equal(target, labels[z] == 0)  # 0 = membrane
    assert str(folder) in data.source


def test_isbi2012_volume(isbi2012):
    folder, volume, labels = isbi2012
    data = load_isbi2012(folder, volume=True)
    assert data.names == ("train-volume",) and data.ndim == 3
    assert np.array_equal(data[0][1], labels == 0)
    with pytest.raises(TypeError, match="`volume` must be a bool; got int"):
        load_isbi2012(folder, volume=1)


def test_isbi2012_missing(tmp_path, isbi2012):
    with pytest.raises(FileNotFoundError, match="ISBI 2012 folder .*nowhere not found"):
        load_isbi2012(tmp_path / "nowhere")
    (tmp_path / "train-labels.tif").unlink()
    with pytest.raises(FileNotFoundError, match="label stack .*train-labels.tif not found"):
        load_isbi2012(tmp_path)
    with pytest.raises(TypeError, match="`path` must be a path"):
        load_isbi2012(3)


def test_isbi2012_mismatched_shapes_refused_from_headers(isbi2012, no_pixel_reads):
    folder, _, labels = isbi2012
    _stack(folder / "train-labels.tif", labels[:, :, :15])
    with pytest.raises(ValueError, match=r"train-labels.tif has shape \(3, 12, 15\); expected \(3, 12, 16\), "
                                         r"the shape of image stack .*train-volume.tif"):
        load_isbi2012(folder)


def test_isbi2012_not_a_stack(isbi2012):
    folder, volume, _ = isbi2012
    tifffile.imwrite(folder / "train-volume.tif", volume[0])
    with pytest.raises(ValueError, match=r"train-volume.tif must be 3-D; got shape \(12, 16\)"):
        load_isbi2012(folder)


@pytest.mark.parametrize("writer", [_stack, _pages], ids=["shaped", "plain-pages"])
def test_truncated_stacks_are_errors_at_every_cut(tmp_path, writer):
    """No cut of a stack gives a silently shorter or partly zero stack.

    Image and labels are cut alike, so that a shorter pair would pass the shape check: a
    plain multi-page tif cut just after a page is a valid shorter file to tifffile, which
    only logs a warning about the broken chain of pages.
    """
    volume = _uint8((4, 10, 12))
    writer(tmp_path / "volume", volume)
    writer(tmp_path / "labels", np.full((4, 10, 12), 255, np.uint8))
    data, labels = (tmp_path / "volume").read_bytes(), (tmp_path / "labels").read_bytes()
    assert len(data) == len(labels)
    for keep in _cuts(tmp_path / "volume"):
        (tmp_path / "train-volume.tif").write_bytes(data[:keep])
        (tmp_path / "train-labels.tif").write_bytes(labels[:keep])
        try:
            loaded = load_isbi2012(tmp_path, volume=True)
        except ValueError as err:
            assert "train-volume.tif" in str(err) or "train-labels.tif" in str(err)
        else:  # only a cut in trailing bytes that hold no pixel and no page may load
            assert np.array_equal(loaded[0][0], (volume / 255.0).astype(np.float32)), keep


def test_truncated_pages_detected_whatever_the_tifffile_log_level(tmp_path):
    logger = logging.getLogger("tifffile")
    _pages(tmp_path / "train-volume.tif", _uint8((2, 10, 12)))
    _pages(tmp_path / "train-labels.tif", np.full((2, 10, 12), 255, np.uint8))
    keep = _page_ends(tmp_path / "train-volume.tif")[0][0]  # just past the first page's pixels
    for name in ("train-volume.tif", "train-labels.tif"):
        _truncate(tmp_path / name, keep)
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with pytest.raises(ValueError, match="tifffile reports .*invalid page offset"):
            load_isbi2012(tmp_path)
        assert logger.level == logging.CRITICAL and not logger.handlers
    finally:
        logger.setLevel(old)


def test_isbi2012_corrupt(isbi2012):
    folder, _, _ = isbi2012
    (folder / "train-volume.tif").write_bytes(b"II*\x00" + b"\xff" * 40)
    with pytest.raises(ValueError, match=r"cannot read image stack .*train-volume.tif.*expected a complete"):
        load_isbi2012(folder)


def test_too_large_refused_from_header(isbi2012, monkeypatch, no_pixel_reads):
    folder, _, _ = isbi2012
    monkeypatch.setattr(loaders, "MAX_VOXELS", 3 * 12 * 16 - 1)
    with pytest.raises(ValueError, match=r"train-volume.tif has shape \(3, 12, 16\) x 1 channel\(s\), more than "
                                         r"MAX_VOXELS = 575 values; refusing"):
        load_isbi2012(folder)


# -- ISBI 2013 (SNEMI3D) ---------------------------------------------------------------

def _ids(shape):
    """Blocky neuron ids, with a few single pixels of another id."""
    ids = np.zeros(shape, np.uint32)
    z, y, x = np.indices(shape)
    ids[:] = 1 + (y // 4) * 10 + (x // 5) + 100 * (z % 2)
    ids[:, 2, 2] = 999
    return ids


def test_isbi2013_boundaries_are_find_boundaries_thick(tmp_path):
    ids = _ids((2, 11, 13))
    _stack(tmp_path / "train-input.tif", _uint8((2, 11, 13)))
    _stack(tmp_path / "train-labels.tif", ids)
    data = load_isbi2013(tmp_path)
    assert data.names == ("train-input/z00", "train-input/z01") and data.regions == "background"
    for z, (_, target) in enumerate(data):
        assert np.array_equal(target, find_boundaries(ids[z], connectivity=1, mode="thick"))
    volume = load_isbi2013(tmp_path, volume=True)
    assert volume.names == ("train-input",) and volume[0][1].shape == (2, 11, 13)
    # in-plane only: sections with all-different ids are not boundaries everywhere
    assert np.array_equal(volume[0][1], np.stack([t for _, t in data]))


def test_isbi2013_rejects_float_labels(tmp_path, no_pixel_reads):
    _stack(tmp_path / "train-input.tif", _uint8((2, 5, 5)))
    _stack(tmp_path / "train-labels.tif", np.zeros((2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"train-labels.tif has dtype float32; expected integer ids"):
        load_isbi2013(tmp_path)


def test_id_boundaries_exact_for_huge_ids():
    # find_boundaries goes through floats: 2**64 - 3 and 2**64 - 2 would be one id there
    base = np.uint64(2 ** 64 - 1000)
    small = _ids((2, 9, 10)).astype(np.uint64)
    got = loaders._id_boundaries(small + base)
    assert np.array_equal(got, loaders._id_boundaries(small))
    assert np.array_equal(got[1], find_boundaries(small[1], connectivity=1, mode="thick"))


# -- CREMI -----------------------------------------------------------------------------

def _cremi(path, raw, ids, raw_attrs=None, ids_attrs=None):
    with h5py.File(path, "w") as f:
        r = f.create_dataset("volumes/raw", data=raw)
        i = f.create_dataset("volumes/labels/neuron_ids", data=ids)
        for dataset, attrs in ((r, raw_attrs), (i, ids_attrs)):
            for key, value in (attrs or {}).items():
                dataset.attrs[key] = value


def test_cremi_file_and_background(tmp_path):
    raw = _uint8((2, 6, 8))
    small = _ids((2, 6, 8))
    small[0, 0:2, 6:8] = 0  # stands for the background below: an id of its own
    background = small == 0
    ids = small.astype(np.uint64)
    ids[background] = 0xFFFFFFFFFFFFFFFD  # CREMI's background label: not a neuron
    _cremi(tmp_path / "sample_A.hdf", raw, ids)
    data = load_cremi(tmp_path / "sample_A.hdf")
    assert data.names == ("sample_A/z00", "sample_A/z01") and data.regions == "background"
    for z, (image, target) in enumerate(data):
        assert np.array_equal(image, (raw[z] / 255.0).astype(np.float32))
        expected = find_boundaries(small[z], connectivity=1, mode="thick") | background[z]
        assert np.array_equal(target, expected)
    assert data[0][1][0:2, 6:8].all()
    # signed 64-bit ids: the same bits are -3
    _cremi(tmp_path / "signed.h5", raw, ids.view(np.int64))
    assert np.array_equal(load_cremi(tmp_path / "signed.h5", volume=True)[0][1], np.stack([t for _, t in data]))


def test_cremi_folder_and_padding(tmp_path):
    raw = _uint8((4, 10, 12))
    ids = _ids((2, 6, 8)).astype(np.uint64)
    _cremi(tmp_path / "b_padded.hdf", raw, ids, {"resolution": (40.0, 4.0, 4.0)}, {"offset": (40.0, 8.0, 8.0)})
    _cremi(tmp_path / "a.h5", raw[:2, :6, :8], ids)
    (tmp_path / "notes.txt").write_text("not data")
    data = load_cremi(tmp_path, volume=True)
    assert data.names == ("a", "b_padded")
    assert np.array_equal(data[1][0], (raw[1:3, 2:8, 2:10] / 255.0).astype(np.float32))
    assert np.array_equal(data[0][1], data[1][1])


@pytest.mark.parametrize("case, message", [
    ("no offset", r"no offset/resolution attributes"),
    ("outside", r"do not fit in /volumes/raw"),
    ("no labels", r"has no dataset /volumes/labels/neuron_ids"),
    ("float raw", r"expected uint8 raw and integer neuron ids; got float32 and uint64"),
    ("2-D", r"must be 3-D; got shapes \(6, 8\) and \(6, 8\)"),
])
def test_cremi_bad_files(tmp_path, case, message):
    file = tmp_path / "sample.hdf"
    raw, ids = _uint8((2, 6, 8)), _ids((2, 6, 8)).astype(np.uint64)
    if case == "no offset":
        _cremi(file, _uint8((3, 6, 8)), ids)
    elif case == "outside":
        _cremi(file, _uint8((3, 6, 8)), ids, {"resolution": (40, 4, 4)}, {"offset": (80, 0, 0)})
    elif case == "no labels":
        with h5py.File(file, "w") as f:
            f.create_dataset("volumes/raw", data=raw)
    elif case == "float raw":
        _cremi(file, raw.astype(np.float32), ids)
    else:
        _cremi(file, raw[0], ids[0])
    with pytest.raises(ValueError, match=message):
        load_cremi(file)


def test_cremi_truncated_corrupt_and_missing(tmp_path):
    _cremi(tmp_path / "s.hdf", _uint8((2, 64, 64)), _ids((2, 64, 64)).astype(np.uint64))
    size = _truncate(tmp_path / "s.hdf", 3000)
    assert size > 3000
    with pytest.raises(ValueError, match=r"cannot read CREMI file .*s.hdf"):
        load_cremi(tmp_path / "s.hdf")
    (tmp_path / "s.hdf").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError, match=r"cannot read CREMI file"):
        load_cremi(tmp_path / "s.hdf")
    with pytest.raises(FileNotFoundError, match=r"CREMI file .*gone.hdf not found"):
        load_cremi(tmp_path / "gone.hdf")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no CREMI file \(.hdf, .h5, .hdf5\) in .*empty"):
        load_cremi(tmp_path / "empty")


# -- em-vnc ----------------------------------------------------------------------------

@pytest.fixture
def em_vnc(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "membranes").mkdir()
    images, masks = {}, {}
    for i in range(14):
        name = f"{i:02d}"
        images[name], masks[name] = _uint8((8, 10)), RNG.random((8, 10)) < 0.3
        tifffile.imwrite(tmp_path / "raw" / f"{name}.tif", images[name])
        Image.fromarray(masks[name]).save(tmp_path / "membranes" / f"{name}.png")  # 1-bit
    return tmp_path, images, masks


def test_em_vnc_splits_and_sections(em_vnc):
    root, images, masks = em_vnc
    assert load_em_vnc(root, split="train").names == tuple(f"{i:02d}" for i in range(10))
    data = load_em_vnc(root, split="validation")
    assert data.names == ("10", "11", "12", "13") and data.regions == "background"
    for name, (image, target) in zip(data.names, data):
        assert np.array_equal(image, (images[name] / 255.0).astype(np.float32))
        assert np.array_equal(target, masks[name])
    assert load_em_vnc(root, sections=[3, "07", np.int64(12)]).names == ("03", "07", "12")
    assert len(load_em_vnc(root)) == 14


def test_em_vnc_errors(em_vnc):
    root, _, _ = em_vnc
    with pytest.raises(ValueError, match="give `sections` or `split`, not both"):
        load_em_vnc(root, sections=[1], split="train")
    with pytest.raises(ValueError, match=r"`split` must be one of \('train', 'validation'\); got 'test'"):
        load_em_vnc(root, split="test")
    with pytest.raises(TypeError, match="`sections` must be a sequence of ints or strings; got str"):
        load_em_vnc(root, sections="03")
    with pytest.raises(TypeError, match=r"`sections` must hold ints or strings; got 1.5"):
        load_em_vnc(root, sections=[1.5])
    with pytest.raises(FileNotFoundError, match=r"em-vnc raw section .*raw.20.tif not found"):
        load_em_vnc(root, sections=[20])
    (root / "membranes" / "05.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"em-vnc membranes .*05.png not found"):
        load_em_vnc(root, split="train")
    Image.fromarray(np.zeros((8, 9), bool)).save(root / "membranes" / "05.png")
    with pytest.raises(ValueError, match=r"05.png has shape \(8, 9\); expected \(8, 10\)"):
        load_em_vnc(root, sections=[5])


def _em_vnc_root():
    env = os.environ.get("DMTLOSS_EM_VNC")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "em-vnc"


@pytest.mark.skipif(not _em_vnc_root().is_dir(), reason="the em-vnc data is not here (set DMTLOSS_EM_VNC)")
def test_em_vnc_real_data():
    data = load_em_vnc(_em_vnc_root(), split="validation")
    assert data.names == ("10", "11", "12", "13")
    for image, target in data:
        assert image.shape == (1024, 1024) and image.dtype == np.float32
        assert 0.2 < image.mean() < 0.8 and image.std() > 0.05
        assert 0.05 < target.mean() < 0.4  # thin membranes, not cells
        assert image[target].mean() < image[~target].mean()  # membranes are dark in EM


# -- DRIVE -----------------------------------------------------------------------------

@pytest.fixture
def drive(tmp_path):
    root = tmp_path / "training"
    for sub in ("images", "1st_manual", "mask"):
        (root / sub).mkdir(parents=True)
    truth = {}
    for number in (21, 22):
        rgb = _uint8((9, 11, 3))
        manual = RNG.random((9, 11)) < 0.2
        field = np.ones((9, 11), bool)
        field[:, 0] = False
        tifffile.imwrite(root / "images" / f"{number}_training.tif", rgb, photometric="rgb")
        _palette_gif(root / "1st_manual" / f"{number}_manual1.gif", manual)
        Image.fromarray((field * 255).astype(np.uint8)).save(root / "mask" / f"{number}_training_mask.gif")
        truth[f"{number}_training"] = (rgb, manual, field)
    return tmp_path, truth


def test_drive_green_channel_palette_manual_and_field_of_view(drive):
    path, truth = drive
    data = load_drive(path)
    assert data.names == ("21_training", "22_training") and data.regions == "foreground"
    for name, (image, target) in zip(data.names, data):
        rgb, manual, field = truth[name]
        assert np.array_equal(image, np.where(field, rgb[..., 1] / 255.0, 0).astype(np.float32))
        assert np.array_equal(target, manual & field)
    raw = load_drive(path, fov=False)
    rgb, manual, _ = truth["21_training"]
    assert np.array_equal(raw[0][0], (rgb[..., 1] / 255.0).astype(np.float32))
    assert np.array_equal(raw[0][1], manual)


def test_drive_without_masks_and_test_split(drive):
    path, truth = drive
    for f in (path / "training" / "mask").iterdir():
        f.unlink()
    (path / "training" / "mask").rmdir()
    assert np.array_equal(load_drive(path)[1][1], truth["22_training"][1])
    (path / "test" / "images").mkdir(parents=True)
    (path / "test" / "1st_manual").mkdir()
    tifffile.imwrite(path / "test" / "images" / "01_test.tif", _uint8((9, 11, 3)), photometric="rgb")
    _palette_gif(path / "test" / "1st_manual" / "01_manual1.gif", np.eye(9, 11, dtype=bool))
    data = load_drive(path, "test")
    assert data.names == ("01_test",) and np.array_equal(data[0][1], np.eye(9, 11, dtype=bool))


def test_drive_errors(drive):
    path, _ = drive
    root = path / "training"
    with pytest.raises(ValueError, match=r"`split` must be one of \('training', 'test'\); got 'train'"):
        load_drive(path, "train")
    with pytest.raises(FileNotFoundError, match=r"DRIVE split folder .*test not found"):
        load_drive(path, "test")
    with pytest.raises(TypeError, match="`fov` must be a bool"):
        load_drive(path, fov="yes")
    (root / "mask" / "22_training_mask.gif").unlink()
    with pytest.raises(FileNotFoundError, match=r"DRIVE field-of-view mask .*22_training_mask.gif not found"):
        load_drive(path)
    (root / "1st_manual" / "21_manual1.gif").unlink()
    with pytest.raises(FileNotFoundError, match=r"DRIVE manual annotation .*21_manual1.gif not found"):
        load_drive(path)
    _palette_gif(root / "1st_manual" / "21_manual1.gif", np.zeros((9, 12), bool))
    with pytest.raises(ValueError, match=r"21_manual1.gif has shape \(9, 12\); expected \(9, 11\)"):
        load_drive(path)
    _palette_gif(root / "1st_manual" / "21_manual1.gif", np.zeros((9, 11), bool))
    tifffile.imwrite(root / "images" / "23_test.tif", _uint8((9, 11, 3)), photometric="rgb")
    with pytest.raises(ValueError, match=r"must be named NN_training.tif; got 23_test.tif"):
        load_drive(path)


def test_drive_truncated_gif(drive):
    path, _ = drive
    gif = path / "training" / "1st_manual" / "21_manual1.gif"
    _palette_gif(gif, RNG.random((9, 11)) < 0.5)
    _truncate(gif, 40)
    with pytest.raises(ValueError, match=r"cannot read DRIVE manual annotation .*21_manual1.gif"):
        load_drive(path)


# -- CrackTree -------------------------------------------------------------------------

@pytest.fixture
def cracktree(tmp_path):
    (tmp_path / "image").mkdir()
    (tmp_path / "gt").mkdir()
    crack = np.zeros((10, 12), bool)
    crack[4, 1:10] = True
    crack[2:8, 6] = True
    Image.fromarray(_uint8((10, 12, 3))).save(tmp_path / "image" / "6192.jpg", quality=95)
    Image.fromarray(np.where(crack, 0, 255).astype(np.uint8)).save(tmp_path / "gt" / "6192.bmp")  # black cracks
    Image.fromarray(_uint8((10, 12, 3))).save(tmp_path / "image" / "6193.jpg", quality=95)
    Image.fromarray(np.where(crack, 255, 0).astype(np.uint8)).save(tmp_path / "gt" / "6193.png")  # white cracks
    return tmp_path, crack


def test_cracktree_polarity(cracktree):
    root, crack = cracktree
    data = load_cracktree(root)
    assert data.names == ("6192", "6193") and data.regions == "foreground"
    assert np.array_equal(data[0][1], crack) and np.array_equal(data[1][1], crack)  # auto: the minority
    assert np.array_equal(load_cracktree(root, foreground="white")[0][1], ~crack)
    assert np.array_equal(load_cracktree(root, foreground="black")[1][1], ~crack)
    with Image.open(root / "image" / "6192.jpg") as photo:
        rgb = np.asarray(photo.convert("RGB"), dtype=np.float64)
    assert np.allclose(data[0][0], (rgb @ LUMA) / 255.0, atol=1e-6)  # luma of the decoded jpg
    with pytest.raises(ValueError, match=r"`foreground` must be one of \('auto', 'white', 'black'\)"):
        load_cracktree(root, foreground="dark")


def test_cracktree_names_must_match(cracktree):
    root, _ = cracktree
    (root / "gt" / "6192.bmp").rename(root / "gt" / "6192_gt.bmp")
    with pytest.raises(ValueError, match=r"images without a mask: \['6192'\]; masks without an image: "
                                         r"\['6192_gt'\]"):
        load_cracktree(root)
    Image.new("L", (12, 10)).save(root / "gt" / "6192.png")
    Image.new("L", (12, 10)).save(root / "gt" / "6192.bmp")
    with pytest.raises(ValueError, match=r"holds two files with the stem '6192': 6192.bmp and 6192.png"):
        load_cracktree(root)
    with pytest.raises(FileNotFoundError, match=r"CrackTree image folder .*images not found"):
        load_cracktree(root, images="images")


# -- roads -----------------------------------------------------------------------------

def test_roads(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train_labels").mkdir()
    rgb = _uint8((7, 9, 3))
    road = np.zeros((7, 9), np.uint8)
    road[:, 4] = 255
    tifffile.imwrite(tmp_path / "train" / "10078660_15.tiff", rgb, photometric="rgb")
    tifffile.imwrite(tmp_path / "train_labels" / "10078660_15.tif", road)
    data = load_roads(tmp_path)
    assert data.names == ("10078660_15",) and data.regions == "foreground"
    assert np.allclose(data[0][0], rgb @ LUMA / 255.0, atol=1e-6)
    assert np.array_equal(data[0][1], road == 255)
    tifffile.imwrite(tmp_path / "train_labels" / "10078675_15.tif", road)
    with pytest.raises(ValueError, match=r"masks without an image: \['10078675_15'\]"):
        load_roads(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"roads image folder .*valid not found"):
        load_roads(tmp_path, "valid")
    with pytest.raises(TypeError, match="`split` must be a folder name"):
        load_roads(tmp_path, 1)


# -- plain folders ---------------------------------------------------------------------

def test_folder_formats_and_conversions(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    grey, rgb = _uint8((6, 7)), _uint8((6, 7, 3))
    deep = RNG.integers(0, 65536, (6, 7), dtype=np.uint16)
    unit = RNG.random((6, 7)).astype(np.float32)
    Image.fromarray(grey).save(images / "a_grey.png")
    Image.fromarray(deep).save(images / "b_deep.PNG")
    Image.fromarray(rgb).save(images / "c_rgb.bmp")
    Image.fromarray(grey).save(images / "d_gif.gif")
    tifffile.imwrite(images / "e_float.tif", unit)
    Image.fromarray(rgb).convert("RGBA").save(images / "f_rgba.png")
    expected = {"a_grey": grey / 255.0, "b_deep": deep / 65535.0, "c_rgb": rgb @ LUMA / 255.0,
                "d_gif": grey / 255.0, "e_float": unit, "f_rgba": rgb @ LUMA / 255.0}
    mask = RNG.random((6, 7)) < 0.4
    Image.fromarray(mask).save(masks / "a_grey.png")                                  # 1-bit
    Image.fromarray(mask.astype(np.uint8)).save(masks / "b_deep.png")                 # 0/1
    Image.fromarray((mask * 255).astype(np.uint8)).save(masks / "c_rgb.tif")          # 0/255
    _palette_gif(masks / "d_gif.gif", mask)                                           # palette
    tifffile.imwrite(masks / "e_float.tif", mask.astype(np.float32))                  # float
    Image.fromarray(np.where(mask, 200, 20).astype(np.uint8)).save(masks / "f_rgba.png")
    data = load_folder(images, masks)
    assert data.names == tuple(sorted(expected)) and data.regions == "background"
    for name, (image, target) in zip(data.names, data):
        assert image.dtype == np.float32
        assert np.allclose(image, expected[name], atol=1e-6), name
        assert np.array_equal(target, mask), name
    assert load_folder(images, masks, regions="foreground").regions == "foreground"


def test_folder_threshold_and_suffix(tmp_path):
    Image.fromarray(np.zeros((2, 3), np.uint8)).save(tmp_path / "x.png")
    Image.fromarray(np.array([[100, 0, 200], [0, 0, 0]], np.uint8)).save(tmp_path / "x_mask.png")
    data = load_folder(tmp_path, tmp_path, mask_suffix="_mask")
    assert data.names == ("x",) and data[0][1].tolist() == [[False, False, True], [False] * 3]
    assert load_folder(tmp_path, tmp_path, mask_suffix="_mask", threshold=0.3)[0][1].tolist() == \
        [[True, False, True], [False] * 3]
    with pytest.raises(ValueError, match="are the same folder .*give a `mask_suffix`"):
        load_folder(tmp_path, tmp_path)
    with pytest.raises(ValueError, match=r"`threshold` must be in \[0, 1\); got 1"):
        load_folder(tmp_path, tmp_path, mask_suffix="_mask", threshold=1)
    with pytest.raises(TypeError, match="`threshold` must be a real number; got str"):
        load_folder(tmp_path, tmp_path, mask_suffix="_mask", threshold="0.5")
    with pytest.raises(ValueError, match=r"`regions` must be one of \('background', 'foreground'\)"):
        load_folder(tmp_path, tmp_path, mask_suffix="_mask", regions="cells")
    with pytest.raises(TypeError, match="`mask_suffix` must be a str"):
        load_folder(tmp_path, tmp_path, mask_suffix=1)
    with pytest.raises(TypeError, match="`images` must be a path"):
        load_folder(None, tmp_path)


def test_folder_3d_stacks(tmp_path):
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    stack, labels = _uint8((3, 5, 6)), RNG.random((3, 5, 6)) < 0.5
    _stack(tmp_path / "i" / "v.tif", stack)
    _stack(tmp_path / "m" / "v.tiff", labels.astype(np.uint8) * 255)
    data = load_folder(tmp_path / "i", tmp_path / "m")
    assert data.ndim == 3 and np.array_equal(data[0][1], labels)
    assert np.array_equal(data[0][0], (stack / 255.0).astype(np.float32))
    colour = _uint8((3, 5, 6, 3))  # a 3-D colour stack: to grey, like 2-D colour
    tifffile.imwrite(tmp_path / "i" / "v.tif", colour, photometric="rgb")
    assert np.allclose(load_folder(tmp_path / "i", tmp_path / "m")[0][0], colour @ LUMA / 255.0, atol=1e-6)


@pytest.mark.parametrize("case, error, message", [
    ("missing folder", FileNotFoundError, r"mask folder .*nothing not found"),
    ("empty folder", FileNotFoundError, r"no image file \(.png, .tif, .tiff, .jpg, .jpeg, .bmp, .gif\) in"),
    ("shape", ValueError, r"mask .*a.png has shape \(4, 5\); expected \(4, 6\), the shape of image .*a.png"),
    ("float range", ValueError, r"image .*a.tif holds floats outside \[0, 1\].*not rescaled"),
    ("signed", ValueError, r"image .*a.tif has dtype int16; expected bool, uint8, uint16 or floats in \[0, 1\]"),
    ("labels mask", ValueError, r"mask .*a.tif has dtype uint32 and values other than 0 and 1"),
    ("truncated", ValueError, r"cannot read image .*a.png: OSError: image file is truncated"),
    ("not an image", ValueError, r"cannot read image .*a.png: UnidentifiedImageError"),
    ("frames", ValueError, r"image .*a.gif holds 2 frames; expected one image"),
    ("huge header", ValueError, r"cannot read image .*a.png: DecompressionBombError|more than MAX_VOXELS"),
    ("4-D", ValueError, r"image .*a.tif must be 2-D or 3-D; got shape \(2, 3, 4, 6\)"),
])
def test_folder_errors(tmp_path, case, error, message):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    if case != "missing folder":
        masks.mkdir()
    Image.fromarray(np.zeros((4, 6), np.uint8)).save(masks / "a.png") if masks.exists() else None
    if case in ("missing folder", "shape"):
        Image.fromarray(_uint8((4, 6))).save(images / "a.png")
        if case == "missing folder":
            masks = tmp_path / "nothing"
        else:
            Image.fromarray(np.zeros((4, 5), np.uint8)).save(masks / "a.png")
    elif case == "float range":
        tifffile.imwrite(images / "a.tif", np.full((4, 6), 2.0, np.float32))
    elif case == "signed":
        tifffile.imwrite(images / "a.tif", np.zeros((4, 6), np.int16))
    elif case == "labels mask":
        tifffile.imwrite(images / "a.tif", _uint8((4, 6)))
        (masks / "a.png").unlink()
        tifffile.imwrite(masks / "a.tif", np.full((4, 6), 7, np.uint32))
    elif case == "truncated":
        Image.fromarray(_uint8((40, 60))).save(images / "a.png")
        Image.fromarray(np.zeros((40, 60), np.uint8)).save(masks / "a.png")
        _truncate(images / "a.png", 800)
    elif case == "not an image":
        (images / "a.png").write_text("hello")
    elif case == "frames":
        frames = [Image.fromarray(_uint8((4, 6))), Image.fromarray(_uint8((4, 6)))]
        frames[0].save(images / "a.gif", save_all=True, append_images=frames[1:])
    elif case == "huge header":  # a 57-byte PNG that claims 60000 x 60000 pixels
        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
        (images / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    elif case == "4-D":
        tifffile.imwrite(images / "a.tif", _uint8((2, 3, 4, 6)), photometric="minisblack")
    with pytest.raises(error, match=message):
        load_folder(images, masks)


@pytest.mark.skipif(importlib.util.find_spec("imagecodecs") is not None, reason="imagecodecs reads LZW")
def test_lzw_tiff_without_imagecodecs_is_a_clear_error(tmp_path):
    Image.fromarray(_uint8((6, 7, 3))).save(tmp_path / "a.tif", compression="tiff_lzw")
    Image.fromarray(np.zeros((6, 7), np.uint8)).save(tmp_path / "a_m.png")
    with pytest.raises(ValueError, match=r"cannot read image .*a.tif: .*requires the 'imagecodecs' package"):
        load_folder(tmp_path, tmp_path, mask_suffix="_m")


def test_huge_header_refused_before_reading(tmp_path, monkeypatch, no_pixel_reads):
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(tmp_path / "a_m.png")
    monkeypatch.setattr(loaders, "MAX_VOXELS", 2399)
    with pytest.raises(ValueError, match=r"a.png has shape \(40, 60\) x 1 channel\(s\), more than MAX_VOXELS"):
        load_folder(tmp_path, tmp_path, mask_suffix="_m")


def test_truncation_is_an_error_even_if_pillow_is_told_to_allow_it(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    Image.fromarray(_uint8((40, 60))).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(tmp_path / "a_m.png")
    _truncate(tmp_path / "a.png", 900)
    with pytest.raises(ValueError, match="image file is truncated"):
        load_folder(tmp_path, tmp_path, mask_suffix="_m")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


def test_files_are_not_modified(isbi2012):
    folder, _, _ = isbi2012
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    load_isbi2012(folder)
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before
