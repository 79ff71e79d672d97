"""Tests of the dmtloss command line."""

import doctest
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import pyplot

import dmtloss
from dmtloss import cli, plotting, reference
from dmtloss.cli import main
from dmtloss.synthetic import membrane_likelihood


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def _summary(text):
    """The demo's summary as {name: text}."""
    rows = {}
    for line in text.splitlines():
        name, _, value = line.partition("  ")
        rows[name.strip()] = value.strip()
    return rows


def _one_line_error(err, *words):
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]
    return lines[0]


def test_explain_writes_a_png_and_a_truthful_summary(tmp_path, capsys):
    out = tmp_path / "small.png"
    status = main(["explain", "--size", "20", "--seed", "1", "--epsilon", "0.1", "--output", str(out)])
    printed, err = capsys.readouterr()
    assert status == 0, err
    assert err == ""
    width, height = _png_size(out)
    assert 1000 <= width <= 3000 and 800 <= height <= 3000
    assert pyplot.get_fignums() == []

    rows = _summary(printed)
    assert rows["figure"] == str(out)
    assert rows["epsilon"] == "0.1"
    assert rows["image"].startswith("20 x 20 synthetic membranes")
    assert re.fullmatch(r"[\d.]+ s: [\d.]+ s structures \(fast engine\), .*", rows["time"])
    # The numbers printed are those of the structures of the same map.
    likelihood = membrane_likelihood((20, 20), cells=2, seed=1)
    s = reference.morse_structures(likelihood, epsilon=0.1)
    assert rows["ridges"].startswith(f"{int(s.ridges.sum())} px")
    assert rows["boundaries"].startswith(f"{int(s.boundaries.sum())} px")
    assert rows["loss mask"].startswith(f"{int(s.mask().sum())} px")
    dims = (s.critical % 2).sum(axis=1)
    assert rows["critical cells"].startswith(f"{int((dims == 0).sum())} maxim")
    kept = (s.pairs.persistence > 0.1) & np.isfinite(s.pairs.death_value)
    assert rows["pairs > epsilon"].startswith(
        f"H0: {int((kept & (s.pairs.dim == 0)).sum())} (components), "
        f"H1: {int((kept & (s.pairs.dim == 1)).sum())} (loops), + 1 essential")


def test_explain_with_no_options_writes_the_default_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["explain"]) == 0
    rows = _summary(capsys.readouterr().out)
    assert rows["image"].startswith("48 x 48 synthetic membranes (9 cells, 3 weak walls")
    assert rows["epsilon"] == "0.2"
    assert rows["figure"] == "dmtloss-explain.png"
    _png_size(tmp_path / "dmtloss-explain.png")


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dmtloss")
    assert "explain" in out


def test_explain_help_lists_its_options(capsys):
    assert main(["explain", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--epsilon", "--size", "--seed", "--output"):
        assert option in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dmtloss {dmtloss.__version__}"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["explain", "--epsilon", "-1"], ["--epsilon", ">= 0", "-1"]),
        (["explain", "--epsilon", "nan"], ["--epsilon"]),
        (["explain", "--epsilon", "abc"], ["--epsilon", "must be a number"]),
        (["explain", "--size", "3"], ["--size", "from 8 to"]),
        (["explain", "--size", "4.5"], ["--size", "integer"]),
        (["explain", "--size", "100000"], ["--size"]),
        (["explain", "--seed", "-1"], ["--seed", ">= 0"]),
        (["explain", "--noise", "-0.5"], ["--noise"]),
        (["explain", "--cells", "1"], ["--cells"]),
        (["explain", "--cells", "500"], ["--cells", "from 2 to 144"]),
        (["explain", "--gaps", "-1"], ["--gaps"]),
        (["explain", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["frobnicate"], ["invalid choice", "frobnicate"]),
        ([], ["choose a command"]),
    ],
)
def test_bad_options_print_one_line_and_return_2(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _one_line_error(err, *words)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("output", "words"),
    [
        ("missing/demo.png", ["--output", "missing", "is not a directory"]),
        ("demo.txt", ["--output", ".txt", ".png"]),
        (".", ["--output", "is a directory"]),
    ],
)
def test_unwritable_output_returns_2(output, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["explain", "--size", "12", "--output", output]) == 2
    _one_line_error(capsys.readouterr().err, *words)


def test_output_under_a_file_returns_2(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    assert main(["explain", "--size", "12", "--output", str(tmp_path / "file" / "demo.png")]) == 2
    _one_line_error(capsys.readouterr().err, "--output")


def test_write_failure_returns_2(capsys, tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(plotting, "explain_figure", denied)
    assert main(["explain", "--size", "12", "--output", str(tmp_path / "demo.png")]) == 2
    line = _one_line_error(capsys.readouterr().err, "cannot write", "demo.png", "Permission denied")
    assert line.startswith("dmtloss explain: error:")


def test_interrupt_returns_130(capsys, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_explain", interrupted)
    assert main(["explain", "--output", str(tmp_path / "demo.png")]) == 130
    _one_line_error(capsys.readouterr().err, "interrupted")


def test_python_dash_m(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dmtloss", "--version"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"dmtloss {dmtloss.__version__}"


def test_python_dash_m_error_has_no_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dmtloss", "explain", "--epsilon", "-1"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2
    _one_line_error(run.stderr, "--epsilon")


def test_docstring_examples():
    failed, attempted = doctest.testmod(cli)
    assert attempted > 0 and failed == 0
