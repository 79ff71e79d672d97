"""`dmtloss structures IMAGE` and `dmtloss explain IMAGE`: files in, mask and figures out."""

import numpy as np
import pytest
import tifffile
from PIL import Image

from dmtloss import fast
from dmtloss.cli import main
from dmtloss.synthetic import membrane_likelihood


def _rows(text):
    rows = {}
    for line in text.splitlines():
        name, _, value = line.partition("  ")
        rows.setdefault(name.strip(), []).append(value.strip())
    return rows


@pytest.fixture
def likelihood():
    return membrane_likelihood((40, 56), cells=8, seed=3)


@pytest.mark.parametrize("suffix", [".npy", ".tif", ".png"])
def test_structures_writes_the_engines_mask(suffix, likelihood, tmp_path, capsys):
    path = tmp_path / f"map{suffix}"
    if suffix == ".npy":
        np.save(path, likelihood)
        values = likelihood
    elif suffix == ".tif":
        tifffile.imwrite(path, likelihood.astype(np.float32))
        values = likelihood.astype(np.float32).astype(np.float64)
    else:
        quantised = np.round(likelihood * 255).astype(np.uint8)
        Image.fromarray(quantised).save(path)
        values = quantised / 255.0
    assert main(["structures", str(path), "--epsilon", "0.1", "-o", str(tmp_path)]) == 0
    rows = _rows(capsys.readouterr().out)
    want = fast.morse_structures(values, epsilon=0.1).mask()
    written = np.array(Image.open(tmp_path / f"map{suffix}-mask.png")) > 0
    np.testing.assert_array_equal(written, want)
    assert rows["mask"][0].startswith(f"{int(want.sum())} px")
    assert rows["overlay"] == [str(tmp_path / f"map{suffix}-overlay.png")]
    assert (tmp_path / f"map{suffix}-overlay.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*.tmp"))


def test_structures_3d_stack_writes_a_tif_mask_and_no_overlay(tmp_path, capsys):
    volume = np.random.default_rng(0).random((6, 7, 8))
    tifffile.imwrite(tmp_path / "vol.tif", volume)
    assert main(["structures", str(tmp_path / "vol.tif"), "--frame", "-o", str(tmp_path)]) == 0
    mask = tifffile.imread(tmp_path / "vol.tif-mask.tif") > 0
    np.testing.assert_array_equal(mask, fast.morse_structures(volume, frame=True).mask())
    assert not (tmp_path / "vol.tif-overlay.png").exists()
    assert "boundaries" in _rows(capsys.readouterr().out)


def test_structures_invert_and_choice_of_structures(likelihood, tmp_path):
    np.save(tmp_path / "dark.npy", 1 - likelihood)
    assert main(["structures", str(tmp_path / "dark.npy"), "--invert", "--structures", "boundaries",
                 "-o", str(tmp_path)]) == 0
    written = np.array(Image.open(tmp_path / "dark.npy-mask.png")) > 0
    np.testing.assert_array_equal(written, fast.morse_structures(likelihood).mask("boundaries"))


def test_explain_an_image_with_its_target(likelihood, tmp_path, capsys):
    np.save(tmp_path / "map.npy", likelihood)
    Image.fromarray((likelihood > 0.5).astype(np.uint8) * 255).save(tmp_path / "truth.png")
    assert main(["explain", str(tmp_path / "map.npy"), "--target", str(tmp_path / "truth.png"),
                 "-o", str(tmp_path / "fig.png")]) == 0
    rows = _rows(capsys.readouterr().out)
    s = fast.morse_structures(likelihood, epsilon=0.2)
    assert rows["image"] == [f"{tmp_path / 'map.npy'} (40 x 56)"]
    assert rows["ridges"][0].startswith(f"{int(s.ridges.sum())} px")
    assert rows["target"][0].startswith(f"{int((likelihood > 0.5).sum())} px")
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("setup, argv, words", [
    (None, ["structures", "missing.npy"], ["IMAGE", "no such file", "missing.npy"]),
    ("corrupt", ["structures", "bad.png"], ["IMAGE", "cannot read", "bad.png"]),
    ("truncated", ["structures", "cut.tif"], ["IMAGE", "cannot read", "cut.tif"]),
    ("line", ["structures", "line.npy"], ["IMAGE", "2-D image or a 3-D stack", "(5,)"]),
    ("nan", ["structures", "nan.npy"], ["IMAGE", "NaN"]),
    ("map", ["structures", "map.npy", "--structures", "bogus"], ["--structures", "bogus"]),
    ("map", ["structures", "map.npy", "--structures", "sheets"], ["--structures", "only for 3-D"]),
    ("map", ["structures", "map.npy", "-o", "small.npy"], ["--output-dir", "is a file"]),
    ("volume", ["explain", "vol.npy"], ["IMAGE", "2-D map", "(4, 5, 6)"]),
    ("map", ["explain", "map.npy", "--target", "small.npy"], ["--target", "shape"]),
    (None, ["explain", "--invert"], ["--invert", "IMAGE"]),
])
def test_bad_files_give_one_line_and_status_2(setup, argv, words, likelihood, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if setup == "corrupt":
        (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    elif setup == "truncated":
        tifffile.imwrite(tmp_path / "cut.tif", np.zeros((64, 64), np.float32))
        data = (tmp_path / "cut.tif").read_bytes()
        (tmp_path / "cut.tif").write_bytes(data[: len(data) // 3])
    elif setup == "line":
        np.save(tmp_path / "line.npy", np.zeros(5))
    elif setup == "nan":
        np.save(tmp_path / "nan.npy", np.full((4, 4), np.nan))
    elif setup == "volume":
        np.save(tmp_path / "vol.npy", np.zeros((4, 5, 6)))
    elif setup == "map":
        np.save(tmp_path / "map.npy", likelihood)
        np.save(tmp_path / "small.npy", np.zeros((3, 3)))
    before = set(tmp_path.iterdir())
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    assert set(tmp_path.iterdir()) == before
