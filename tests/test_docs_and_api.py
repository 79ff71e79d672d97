"""Docstrings run as doctests, every public function documents itself, packaging holds."""

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import dmtloss
import dmtloss.data
import dmtloss.fast
import dmtloss.reference


def _modules():
    names = ["dmtloss"]
    for package in (dmtloss, dmtloss.data, dmtloss.reference, dmtloss.fast):
        names += [package.__name__ + "." + m.name for m in pkgutil.iter_modules(package.__path__)
                  if m.name != "__main__"]
    return sorted(set(names) | {"dmtloss.data", "dmtloss.reference", "dmtloss.fast"})


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {"np": np}
    for test in finder.find(module, name, globs=dict(globs, **vars(module))):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def _public_functions():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize("qualname, func", list(_public_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_functions_have_numpydoc_with_examples(qualname, func):
    doc = inspect.getdoc(func) or ""
    assert "Examples\n--------" in doc, f"{qualname} has no Examples section"
    if inspect.signature(func).parameters:
        assert "Parameters\n----------" in doc, f"{qualname} has no Parameters section"


def test_every_module_states_its_purpose():
    for name in MODULES:
        assert (importlib.import_module(name).__doc__ or "").strip(), f"{name} has no module docstring"


def test_reference_is_not_a_top_level_package(tmp_path):
    # run outside the checkout, where the working directory cannot shadow the install
    code = ("import importlib.util as u, dmtloss.reference as r; "
            "print(u.find_spec('reference'), u.find_spec('fast'), r.morse_structures.__module__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "None", "dmtloss.reference.structures"]


def test_wheel_maps_reference_into_the_namespace(tmp_path):
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(root)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("dmtloss-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dmtloss/reference/structures.py" in names and "dmtloss/fast/engine.py" in names
    assert not [n for n in names if n.startswith(("reference/", "fast/", "tests/"))]


def test_reference_api():
    assert sorted(dmtloss.reference.__all__) == [
        "MorseStructures", "PersistencePairs", "morse_structures", "morse_structures_batch",
        "persistence_diagram", "persistence_pairs"]
    sig = inspect.signature(dmtloss.reference.morse_structures)
    assert str(sig) == "(likelihood, epsilon=0.2, *, frame=False)"


def test_spec_examples_run():
    # docs/spec.md shows the engine's output: keep it true
    spec = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
    result = doctest.testfile(str(spec), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 20


def test_tutorial_examples_run():
    # docs/tutorial.md walks one 4 x 4 map to a training step: its sessions must stay true
    tutorial = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
    result = doctest.testfile(str(tutorial), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 20


def test_readme_python_examples_run():
    # README.md must stay true: its Python blocks run as written
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_commands_are_the_ci_commands():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    test_command = 'python -m pip install -c constraints/ci.txt -e ".[test]" && python -m pytest'
    assert test_command in readme and test_command in ci
    assert "python -m pip install -c constraints/ci.txt . && dmtloss demo" in readme


def test_no_em_vnc_file_or_figure_is_tracked():
    """The em-vnc data (CC BY-NC-SA 3.0) are read by path: none of it, nor a figure of it, is committed."""
    import hashlib
    import shutil

    repo = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    images = {".png", ".tif", ".tiff", ".gif", ".jpg", ".jpeg", ".npy", ".npz", ".h5", ".hdf5"}
    named = [p for p in tracked if "em-vnc" in p.lower() and Path(p).suffix.lower() in images]
    assert not named, named
    data = repo.parent / "shared" / "data" / "em-vnc"
    if data.is_dir():
        digest = lambda path: hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: E731
        theirs = {digest(p) for p in data.rglob("*") if p.is_file()}
        ours = [p for p in tracked if Path(p).suffix.lower() in images and digest(repo / p) in theirs]
        assert not ours, ours
