"""experiments/run.py: the --quick pipeline end to end, the report, the label downsampling
and the configuration errors.

The runner is a script, not part of the package; it is imported from its path. The
quick runs use the configurations' ``[quick]`` tables (2-level U-Nets of width 2, one or
two steps), on synthetic vessels (2-D, two seeds, every arm), synthetic sheets (3-D, one
arm) and a tiny folder in em-vnc's on-disk layout written here.
"""

import importlib.util
import json
import pathlib
import shutil

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from dmtloss import metrics
from dmtloss.data import synthetic_membranes
from dmtloss.study import paired_test
from helpers import topomortar_folder

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUN = ROOT / "experiments" / "run.py"
PNG = b"\x89PNG\r\n\x1a\n"
QUIET = ["--quick", "--no-progress"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as the runner's --threads 1: far faster when the CPUs are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(f"experiments_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run():
    return _load("run", RUN)


@pytest.fixture(scope="module")
def vessels(run, tmp_path_factory):
    """Quick vessels, seeds 0 and 1, every arm: (output folder, printed text)."""
    out = tmp_path_factory.mktemp("vessels")
    assert run.main(["vessels", *QUIET, "--seeds", "0", "1", "--out", str(out)]) == 0
    return out


def _em_vnc_folder(root, side=64):
    """Sections 00-13 in em-vnc's layout: raw/NN.tif (8-bit, dark walls), membranes/NN.png (1-bit)."""
    (root / "raw").mkdir(parents=True)
    (root / "membranes").mkdir()
    data = synthetic_membranes(14, (side, side), seed=5)
    for i, (image, walls) in enumerate(zip(data.images, data.targets)):
        tifffile.imwrite(root / "raw" / f"{i:02d}.tif", np.round((1 - image) * 255).astype(np.uint8))
        Image.fromarray(walls).save(root / "membranes" / f"{i:02d}.png")
    return data


def _one_line_error(capsys, *words):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


# -- quick runs ------------------------------------------------------------------------

def test_quick_synthetic_run_writes_everything_per_seed(run, vessels):
    plan = run.make_plan(run.load_config("vessels", quick=True))
    for seed in (0, 1):
        folder = vessels / f"seed-{seed}"
        results = json.loads((folder / "results.json").read_text())
        assert results["format"] == run.FORMAT and results["seed"] == seed and results["quick"]
        assert results["arms"] == list(plan.arms) and results["arms"][0] == "bce"
        assert {"main", "ablation", "explore"} == set(results["plan"]["groups"].values())
        # per arm, one row of metrics per validation image, and the training time
        for arm in results["arms"]:
            assert len(results["rows"][arm]) == len(results["images"]) == 2
            assert {"betti0", "betti1", "missing_holes", "extra_holes", "abs_cell_count_error",
                    "are"} <= set(results["rows"][arm][0])
            assert results["seconds"][arm] > 0 and results["steps"][arm] >= 1
        assert results["steps"]["dmt-long"] == 3 * results["steps"]["dmt"], "steps_factor 3"
        assert results["plan"]["compare_to"]["dmt-long"] == "bce-long"
        # the rows are compare_losses' own, and each arm trained what the configuration says
        assert json.loads((folder / "metrics.json").read_text())["rows"] == results["rows"]
        for arm, loss, epsilon, beta in [("dmt", "dmt", 0.2, 3.0), ("dmt-eps01", "dmt", 0.1, 3.0),
                                         ("dmt-beta4", "dmt", 0.2, 4.0), ("cldice", "cldice", 0.2, 3.0)]:
            saved = torch.load(folder / arm / "last.pt", weights_only=True)
            assert (saved["config"]["loss"], saved["config"]["epsilon"], saved["config"]["beta"]) == \
                (loss, epsilon, beta)
            assert saved["config"]["seed"] == seed and saved["step"] == results["steps"][arm]
        assert torch.load(folder / "dmt-frame" / "last.pt", weights_only=True)["config"]["frame"] is True
        assert torch.load(folder / "dmt-epoch" / "last.pt",
                          weights_only=True)["config"]["structures_every"] == "epoch"
        # the table per group, and small PNG figures
        table = (folder / "table.txt").read_text()
        assert table.startswith("[main]\nmetric") and "[ablation]" in table and "[explore]" in table
        assert results["figures"] == ["figures/qualitative-dmt-best.png", "figures/qualitative-dmt-worst.png",
                                      "figures/qualitative-random.png", "figures/betti-vs-epsilon.png",
                                      "figures/training.png"]
        for name in results["figures"]:
            assert (folder / name).read_bytes()[:8] == PNG
            assert (folder / name).stat().st_size < 200_000
        assert results["machine"]["torch"] == torch.__version__


def test_quick_3d_run(run, tmp_path):
    out = tmp_path / "sheets"
    assert run.main(["sheets", *QUIET, "--arms", "dmt", "--out", str(out)]) == 0
    results = json.loads((out / "seed-0" / "results.json").read_text())
    assert results["arms"] == ["bce", "dmt"] and results["plan"]["ndim"] == 3
    assert "betti2" in results["rows"]["dmt"][0] and "Betti error b2" in results["table"]
    assert results["data"]["validation_shapes"] == [[16, 16, 16]]


def test_quick_em_vnc_layout(run, tmp_path, capsys):
    data_dir = tmp_path / "em-vnc"
    _em_vnc_folder(data_dir)
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    out = tmp_path / "runs"
    assert run.main(["em-vnc", *QUIET, "--data", str(data_dir), "--arms", "main", "--out", str(out)]) == 0
    assert "labels downsampled 2x by the thin rule" in capsys.readouterr().out
    results = json.loads((out / "seed-0" / "results.json").read_text())
    info = results["data"]
    assert info["train"] == [f"{i:02d}" for i in range(10)] and info["validation"] == ["10", "11", "12", "13"]
    assert info["train_shapes"] == [[32, 32]] and info["downsample"] == 2
    assert results["plan"]["config"]["data"]["path"] == info["path"] == str(data_dir.resolve())
    assert results["images"] == ["10", "11", "12", "13"]
    assert len(info["sections"]) == 14 and all(s["downsampled_shape"] == [32, 32] for s in info["sections"])
    assert results["arms"] == ["bce", "dmt", "weighted-bce", "cldice"]
    # the data folder is only read, and no data file is copied next to the results
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before
    assert not [p for p in out.rglob("*") if p.suffix in (".tif", ".tiff")]
    # the report keeps crops of the licensed data out of the docs' figures
    markdown, figures = tmp_path / "docs" / "results.md", tmp_path / "docs" / "figures" / "results"
    markdown.parent.mkdir()
    assert run.main(["report", str(out), "--markdown", str(markdown), "--figures", str(figures)]) == 0
    assert list((out / "seed-0" / "figures").glob("qualitative-*.png"))
    crops = {f"em-vnc-{label}.png" for label in ("dmt-best", "dmt-worst", "random")}
    assert not crops & {p.name for p in figures.glob("*")}
    assert "never enter the repository" in markdown.read_text()
    # nor any other figure of it: the plots stay with the runs too
    assert not list(figures.glob("em-vnc*")) and (out / "seed-0" / "figures" / "training.png").is_file()
    assert not [line for line in markdown.read_text().splitlines() if line.startswith("![")]
    # the Betti-vs-epsilon plot (the ablation's) is drawn beside the runs
    assert run.main(["em-vnc", *QUIET, "--data", str(data_dir), "--arms", "ablation", "--out", str(out)]) == 0
    assert run.main(["report", str(out), "--markdown", str(markdown), "--figures", str(figures)]) == 0
    assert (out / "em-vnc-betti-vs-epsilon.png").read_bytes()[:8] == PNG
    assert not list(figures.glob("em-vnc*"))


def test_a_done_seed_is_skipped_and_another_configuration_refused(run, tmp_path, capsys):
    out = tmp_path / "runs"
    argv = ["vessels", *QUIET, "--arms", "dmt", "--out", str(out)]
    assert run.main(argv) == 0
    results = out / "seed-0" / "results.json"
    stamp = results.stat().st_mtime_ns
    capsys.readouterr()
    assert run.main(argv) == 0
    assert "seed 0 is done" in capsys.readouterr().out and results.stat().st_mtime_ns == stamp
    assert run.main([*argv, "--set", "arms.dmt.beta=4"]) == 2
    _one_line_error(capsys, "another configuration", "--force")
    assert run.main([*argv, "--set", "arms.dmt.beta=4", "--force"]) == 0
    assert json.loads(results.read_text())["plan"]["arms"]["dmt"]["beta"] == 4


def test_more_arms_extend_a_done_seed_as_one_run_would(run, tmp_path, capsys):
    out, once = tmp_path / "runs", tmp_path / "once"
    assert run.main(["vessels", *QUIET, "--arms", "dmt", "--out", str(out), "--seeds", "0", "1"]) == 0
    folder = out / "seed-0"
    before = json.loads((folder / "results.json").read_text())
    kept = {name: (folder / name / "last.pt").stat().st_mtime_ns for name in ("pretrain", "bce", "dmt")}
    capsys.readouterr()
    assert run.main(["vessels", *QUIET, "--arms", "dmt-eps01", "dmt-frame", "--out", str(out)]) == 0
    assert "adding arm(s) dmt-eps01, dmt-frame" in capsys.readouterr().out
    after = json.loads((folder / "results.json").read_text())
    # nothing done is trained again; the new arms start from the saved pretrained state
    assert {name: (folder / name / "last.pt").stat().st_mtime_ns for name in kept} == kept
    assert after["arms"] == ["bce", "dmt", "dmt-eps01", "dmt-frame"]
    assert after["rows"]["bce"] == before["rows"]["bce"] and after["rows"]["dmt"] == before["rows"]["dmt"]
    assert after["seconds"]["pretrain"] == before["seconds"]["pretrain"]
    assert after["extensions"][0]["arms"] == ["dmt-eps01", "dmt-frame"]
    assert after["started"] == before["started"] and after["command"] == before["command"]
    assert json.loads((folder / "metrics.json").read_text())["rows"] == after["rows"]
    assert "[explore]" in (folder / "table.txt").read_text()
    # the same numbers as every arm in one run (training is deterministic on the CPU)
    assert run.main(["vessels", *QUIET, "--arms", "dmt", "dmt-eps01", "dmt-frame", "--out", str(once),
                     "--seeds", "0"]) == 0
    assert json.loads((once / "seed-0" / "results.json").read_text())["rows"] == after["rows"]
    # asking again is a no-op; an arm of another configuration is still refused
    capsys.readouterr()
    assert run.main(["vessels", *QUIET, "--arms", "dmt-frame", "--out", str(out)]) == 0
    assert "seed 0 is done" in capsys.readouterr().out
    assert run.main(["vessels", *QUIET, "--arms", "dmt-frame", "--set", "arms.dmt-frame.beta=5",
                     "--out", str(out)]) == 2
    _one_line_error(capsys, "another configuration")
    # the report pools each arm over the seeds that ran it (seed 1 has the main arms only)
    markdown = tmp_path / "results.md"
    markdown.write_text("# Results\n")
    assert run.main(["report", str(out), "--markdown", str(markdown), "--figures", str(tmp_path / "f")]) == 0
    block = markdown.read_text()
    assert "Arms run on some seeds only" in block and "dmt-eps01: seed(s) 0" in block
    row = next(line for line in block.splitlines() if line.startswith("| dmt-frame |"))
    assert "| 0 |" in row and "bce: " in row and "—" not in row, "paired on seed 0, where both ran"


def test_a_seed_run_before_a_new_arm_or_field_existed_is_extended(run, tmp_path, capsys):
    out = tmp_path / "runs"
    assert run.main(["vessels", *QUIET, "--arms", "dmt", "--out", str(out)]) == 0
    saved = out / "seed-0" / "results.json"
    results = json.loads(saved.read_text())
    for fields in [results["plan"]["pretrain"], *results["plan"]["arms"].values()]:
        del fields["rim"]  # as written before TrainConfig had the field
    del results["plan"]["config"]["arms"]["dmt-rim"]  # and before the file defined the arm
    saved.write_text(json.dumps(results))
    config = tmp_path / "vessels.toml"
    text = (ROOT / "experiments" / "configs" / "vessels.toml").read_text()
    config.write_text(text + '\n[arms.dmt-new]\ngroup = "explore"\nloss = "dmt"\nbeta = 1.0\n')
    capsys.readouterr()
    assert run.main([str(config), *QUIET, "--arms", "dmt-rim", "dmt-new", "--out", str(out)]) == 0
    assert "adding arm(s) dmt-rim, dmt-new" in capsys.readouterr().out
    after = json.loads(saved.read_text())
    assert after["arms"] == ["bce", "dmt", "dmt-rim", "dmt-new"]
    assert torch.load(out / "seed-0" / "dmt-rim" / "last.pt", weights_only=True)["config"]["rim"] is True


def test_figures_are_redrawn_from_the_checkpoints(run, vessels, tmp_path, capsys):
    folder = tmp_path / "seed-0"
    shutil.copytree(vessels / "seed-0", folder)
    before = json.loads((folder / "results.json").read_text())
    shutil.rmtree(folder / "figures")
    assert run.main(["figures", str(tmp_path)]) == 0
    after = json.loads((folder / "results.json").read_text())
    assert after["figures"] == before["figures"] and len(after["figures"]) == 5
    for name in after["figures"]:  # the same pictures: the checkpoints predict what the run saw
        assert (folder / name).read_bytes() == (vessels / "seed-0" / name).read_bytes(), name
    assert {k: v for k, v in after.items() if k != "figures"} == {k: v for k, v in before.items() if k != "figures"}
    (folder / "dmt" / "last.pt").unlink()
    capsys.readouterr()
    assert run.main(["figures", str(tmp_path)]) == 2
    _one_line_error(capsys, "no checkpoint", "dmt")


def test_small_holes_fills_only_small_inner_background(tmp_path):
    holes = _load("small_holes", ROOT / "experiments" / "small_holes.py")
    mask = np.ones((9, 9), bool)
    mask[2, 2] = False                    # a hole of 1 px
    mask[5:7, 5:7] = False                # a hole of 4 px
    mask[0, 7] = False                    # background touching the border: not a hole
    mask[4, 1] = mask[3, 0] = False       # 8-connected to the border through a corner: not a hole
    filled = holes.fill_small_holes(mask, 3)
    assert filled[2, 2] and not filled[5:7, 5:7].any() and not filled[0, 7] and not filled[4, 1]
    assert holes.fill_small_holes(mask, 4)[5:7, 5:7].all()
    assert np.array_equal(holes.fill_small_holes(mask, 0), mask)


def test_small_holes_report(vessels, tmp_path, capsys):
    holes = _load("small_holes", ROOT / "experiments" / "small_holes.py")
    markdown = tmp_path / "results.md"
    markdown.write_text("# Results\n")
    assert holes.main([str(vessels), "--sizes", "10", "--markdown", str(markdown)]) == 0
    block = markdown.read_text().split("<!-- BEGIN analysis:vessels-small-holes -->")[1]
    assert "**As predicted**" in block and "**After filling holes of at most 10 px**" in block
    saved = json.loads((vessels / "seed-0" / "small-holes.json").read_text())
    results = json.loads((vessels / "seed-0" / "results.json").read_text())
    assert saved["sizes"] == [0, 10] and set(saved["rows"]) == set(results["arms"])
    # as predicted: the run's own numbers, recomputed from the checkpoints
    assert [r["betti1"] for r in saved["rows"]["dmt"]["0"]] == [r["betti1"] for r in results["rows"]["dmt"]]
    bce = [r["betti1"] for seed in (0, 1)
           for r in json.loads((vessels / f"seed-{seed}" / "small-holes.json").read_text())["rows"]["bce"]["10"]]
    assert f"| bce | {np.mean(bce):.3f} ± {np.std(bce):.3f} |" in block


def test_dry_run_prints_the_resolved_plan(run, capsys):
    assert run.main(["em-vnc", "--dry-run", "--seeds", "3", "--normalize", "mask", "--no-frame",
                     "--finetune-steps", "7", "--arms", "ablation"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["seeds"] == [3] and plan["out"].endswith("experiments/runs/em-vnc")
    assert list(plan["arms"]) == ["bce", "dmt", "dmt-eps01", "dmt-eps03", "dmt-beta2", "dmt-beta4"]
    assert {a["normalize"] for a in plan["arms"].values()} == {"mask"}
    assert {a["frame"] for a in plan["arms"].values()} == {False}
    assert {a["steps"] for a in plan["arms"].values()} == {7}
    assert plan["pretrain"]["steps"] == 4000 and plan["pretrain"]["width"] == 16


# -- report ----------------------------------------------------------------------------

def test_report_fills_the_results_document(run, vessels, tmp_path):
    markdown = tmp_path / "docs" / "results.md"
    markdown.parent.mkdir()
    shutil.copyfile(ROOT / "docs" / "results.md", markdown)
    original = markdown.read_text()
    figures = tmp_path / "docs" / "figures" / "results"
    assert run.main(["report", str(vessels), "--markdown", str(markdown), "--figures", str(figures)]) == 0
    text = markdown.read_text()
    begin, end = "<!-- BEGIN results:vessels -->", "<!-- END results:vessels -->"
    block = text.split(begin)[1].split(end)[0]
    # only the vessels block changed; the other placeholders are left as they were
    assert text.split(begin)[0] == original.split(begin)[0]
    assert text.split(end)[1] == original.split(end)[1]
    assert "Not yet run" not in block and "QUICK SMOKE RUN, NOT A RESULT" in block
    assert "2 seed(s) (0, 1)" in block
    # mean +- std over seeds and images, from the results files
    rows = [json.loads((vessels / f"seed-{s}" / "results.json").read_text())["rows"] for s in (0, 1)]
    for arm in ("bce", "dmt"):
        values = [row["betti0"] for seed_rows in rows for row in seed_rows[arm]]
        assert f"{np.mean(values):.3f} ± {np.std(values):.3f}" in block
    # the paired test over the (seed, image) pairs
    bce = [row["are"] for seed_rows in rows for row in seed_rows["bce"]]
    dmt = [row["are"] for seed_rows in rows for row in seed_rows["dmt"]]
    diff, lower, higher, _ = paired_test(bce, dmt)
    paired = block.split("**Paired differences from bce**")[1].split("**Ablation")[0]
    line = next(line for line in paired.splitlines() if line.startswith("| ARE"))
    assert f"{diff:+.3f} ({lower}/{higher}, p " in line
    for heading in ("**Main comparison**", "**Paired differences from bce**", "**Ablation", "**Options explored**",
                    "**Training time**", "**Scale.**", "**Machine.**"):
        assert heading in block, heading
    assert "| dmt-long | dmt, β 3, ε 0.2, 3 steps |" in block and "bce-long: " in block
    for name in ("vessels-betti-vs-epsilon.png", "vessels-dmt-best.png", "vessels-dmt-worst.png",
                 "vessels-random.png", "vessels-training.png"):
        path = figures / name
        assert path.read_bytes()[:8] == PNG and path.stat().st_size < 200_000
        assert f"](figures/results/{name})" in block
    # a second report replaces the block instead of adding one
    assert run.main(["report", str(vessels), "--markdown", str(markdown), "--figures", str(figures)]) == 0
    assert markdown.read_text().count(begin) == 1


def test_report_appends_a_block_for_a_new_experiment_and_refuses_mixed_configurations(run, vessels, tmp_path,
                                                                                      capsys):
    markdown = tmp_path / "results.md"
    markdown.write_text("# Results\n\nintro\n")
    assert run.main(["report", str(vessels / "seed-0" / "results.json"), "--markdown", str(markdown),
                     "--figures", str(tmp_path / "figures")]) == 0
    text = markdown.read_text()
    assert text.startswith("# Results\n\nintro\n") and "## Synthetic vessels" in text
    assert "<!-- BEGIN results:vessels -->" in text and "1 seed(s) (0)" in text
    # seeds of different configurations are not averaged together
    other = tmp_path / "other" / "seed-5"
    other.mkdir(parents=True)
    results = json.loads((vessels / "seed-1" / "results.json").read_text())
    results["seed"] = 5
    results["plan"]["arms"]["dmt"]["beta"] = 9.0
    (other / "results.json").write_text(json.dumps(results))
    capsys.readouterr()
    assert run.main(["report", str(vessels), str(tmp_path / "other"), "--markdown", str(markdown)]) == 2
    _one_line_error(capsys, "another configuration")
    assert run.main(["report", str(tmp_path / "nothing-here"), "--markdown", str(markdown)]) == 2
    _one_line_error(capsys, "no such file or folder")


# -- downsampling of the em-vnc labels ---------------------------------------------------

def test_simple_pixel_table(run):
    table = run.simple_pixel_table()
    bit = {name: 1 << k for k, name in enumerate(("N", "NE", "E", "SE", "S", "SW", "W", "NW"))}
    assert not table[0], "an isolated pixel is a component of its own"
    assert not table[255], "an interior pixel: removing it opens a hole"
    assert table[bit["N"]], "the end of a line"
    assert not table[bit["N"] | bit["S"]], "the middle of a line"
    assert not table[bit["N"] | bit["E"]] and table[bit["N"] | bit["NE"] | bit["E"]], \
        "a corner is simple only when the diagonal joins its neighbours"
    assert not table[bit["NE"] | bit["SW"]], "diagonal pixels do not touch a 4-connected foreground"
    # removing a simple pixel changes neither the walls' components nor the cells
    rng = np.random.default_rng(0)
    for _ in range(300):
        image = rng.random((7, 7)) < 0.55
        i, j = rng.integers(1, 6, 2)
        if not image[i, j]:
            continue
        code = run._codes(image)[i, j]
        after = image.copy()
        after[i, j] = False
        framed = [metrics._label(np.pad(x, 1, constant_values=True), 1)[1] for x in (image, after)]
        same = framed[0] == framed[1] and metrics.region_labels(image).max() == metrics.region_labels(after).max()
        assert same or not table[code], (image.astype(int), i, j)


def test_downsampled_walls_stay_connected_and_thin(run):
    # a 4-connected staircase wall splits the square into two cells; 2 x 2 majority voting
    # keeps only the diagonal blocks, which do not touch, and the cells merge
    wall = np.zeros((16, 16), bool)
    for k in range(15):
        wall[k, k] = wall[k, k + 1] = True
    wall[15, 15] = True
    image = wall.astype(np.float32)
    small_image, small = run.downsample_pair(image, wall, 2)
    blocks = wall.reshape(8, 2, 8, 2).sum(axis=(1, 3))
    majority, anyone = 2 * blocks >= 4, blocks > 0
    assert metrics.region_labels(wall).max() == 2 and metrics.region_labels(majority).max() == 1
    assert metrics.region_labels(small).max() == 2 and metrics.betti_numbers(small)[0] == 1
    assert np.array_equal(small, anyone), "every pixel of the any mask is needed for a 4-connected wall"
    assert small_image.dtype == np.float32 and np.array_equal(small_image, blocks / 4)
    # on membranes: the any mask's topology, the majority's thickness
    walls = synthetic_membranes(1, (96, 128), gap_count=0, noise=0.0, seed=3).targets[0]
    _, small = run.downsample_pair(walls.astype(np.float32), walls, 2)
    blocks = walls.reshape(48, 2, 64, 2).sum(axis=(1, 3))
    anyone, majority = blocks > 0, 2 * blocks >= 4
    assert metrics.region_labels(small).max() == metrics.region_labels(anyone).max()
    assert metrics.betti_numbers(small).tolist() == metrics.betti_numbers(anyone).tolist()
    assert (small >= majority).all() and (small <= anyone).all()
    assert small.sum() < anyone.sum()
    # what is left beyond the majority is needed: no interior pixel of it is simple
    extra = small & ~majority
    extra[[0, -1], :] = extra[:, [0, -1]] = False  # border pixels are kept as they are
    assert extra.any() and not run.simple_pixel_table()[run._codes(small)[extra]].any()
    assert run.downsample_pair(image, wall, 1)[1] is wall


# -- configuration errors ----------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["no-such-experiment"], ["unknown experiment", "em-vnc"]),
    (["vessels", "--set", "train.width"], ["SECTION.KEY=VALUE"]),
    (["vessels", "--set", "nosuch.width=3"], ["unknown section", "'nosuch'"]),
    (["vessels", "--set", "arms.nosuch.beta=3"], ["no arm 'nosuch'"]),
    (["vessels", "--set", "arms.dmt.width=4"], ["[arms.dmt]", "network (width)"]),
    (["vessels", "--set", "finetune.depth=5"], ["[finetune]", "network (depth)"]),
    (["vessels", "--set", "train.seed=3"], ["[train]", "'seed'", "--seeds"]),
    (["vessels", "--set", "arms.dmt.loss=\"focal\""], ["[arms.dmt]", "`loss` must be one of"]),
    (["vessels", "--set", "arms.dmt.epsilon=-1"], ["[arms.dmt]", "epsilon"]),
    (["vessels", "--set", "arms.dmt.group=\"other\""], ["group must be one of"]),
    (["vessels", "--set", "arms.dmt-long.steps_factor=0"], ["steps_factor", ">= 1"]),
    (["vessels", "--set", "arms.dmt-long.compare_to=\"x\""], ["compare_to 'x' is not an arm"]),
    (["vessels", "--set", "report.baseline=\"x\""], ["report.baseline 'x'"]),
    (["vessels", "--set", "report.betti=\"betti2\""], ["report.betti"]),
    (["vessels", "--set", "report.dmt=\"bce\""], ["report.dmt", "'dmt'"]),
    (["vessels", "--set", "metrics.patches=3"], ["[metrics]", "unknown keys ['patches']"]),
    (["vessels", "--set", "data.downsample=2"], ["[data]", "unknown keys ['downsample']"]),
    (["vessels", "--set", "data.kind=\"drive\""], ["data.kind"]),
    (["em-vnc", "--set", "data.downsample=0"], ["data.downsample", ">= 1"]),
    (["sheets", "--set", "data.shape=[16, 16]"], ["data.shape", "3 ints"]),
    (["vessels", "--arms", "nosuch"], ["--arms", "'nosuch'", "groups"]),
    (["vessels", "--seeds", "1", "1"], ["--seeds", "each seed once"]),
    (["vessels", "--threads", "0"], ["--threads", ">= 1"]),
    (["vessels", "--data", "."], ["--data", "only em-vnc"]),
])
def test_configuration_errors_are_one_line_and_status_2(run, argv, words, capsys):
    assert run.main([*argv, "--dry-run"]) == 2
    _one_line_error(capsys, *words)


def test_a_missing_data_folder_is_one_line(run, tmp_path, capsys):
    assert run.main(["em-vnc", *QUIET, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "data:", "nowhere")
    assert not (tmp_path / "out").exists()


def test_configuration_file_errors(run, tmp_path, capsys):
    config = (ROOT / "experiments" / "configs" / "vessels.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text("extra = 1\n" + config)
    assert run.main([str(bad), "--dry-run"]) == 2
    _one_line_error(capsys, "unknown top-level keys ['extra']")
    bad.write_text(config.replace("[arms.dmt]\n", "[arms.dmt]\nseed = 2\n"))
    assert run.main([str(bad), "--dry-run"]) == 2
    _one_line_error(capsys, "[arms.dmt] must not set 'seed'")
    bad.write_text("title = [")
    assert run.main([str(bad), "--dry-run"]) == 2
    _one_line_error(capsys, "not valid TOML")
    assert run.main([str(tmp_path / "missing.toml"), "--dry-run"]) == 2
    _one_line_error(capsys, "no such configuration file")
    # a generator argument it does not take is caught when the data are made
    with pytest.raises(run.ConfigError, match=r"\[data\] synthetic-vessels"):
        run.load_data(run.load_config("vessels", quick=True, settings=["data.options.colour=1"]))


def test_shipped_configurations_are_valid(run):
    for name in run.experiment_names():
        for quick in (False, True):
            plan = run.make_plan(run.load_config(name, quick=quick))
            assert list(plan.arms)[0] == "bce" and plan.report["dmt"] == "dmt"
            if name in ("em-vnc", "sheets", "vessels"):  # the first studies, with their ablation
                assert {"main", "ablation", "explore"} == set(plan.groups.values())
                epsilons = sorted({fields["epsilon"] for arm, fields in plan.arms.items()
                                   if fields["loss"] == "dmt" and fields["beta"] == 3.0})
                betas = sorted({fields["beta"] for fields in plan.arms.values() if fields["loss"] == "dmt"})
                assert epsilons == [0.1, 0.2, 0.3] and betas == [2.0, 3.0, 4.0]
            else:  # the real benchmarks: the paper's DMT, the both-class DMT and the baselines
                main = {arm for arm, group in plan.groups.items() if group == "main"}
                assert main == {"bce", "ce-dice", "dmt", "dmt-both", "cldice"}
                assert plan.arms["dmt-both"]["classes"] == "both" and plan.arms["dmt"]["classes"] == "foreground"
                assert plan.arms["ce-dice"]["beta"] == 1.0
            for fields in plan.arms.values():
                assert fields["lr_schedule"] != "constant", "fine-tuning decays its learning rate"
    assert run.experiment_names() == ["em-vnc", "em-vnc-full", "sheets", "topomortar", "vessels"]


def test_quick_topomortar_with_a_test_folder_rescore_and_report(run, tmp_path, capsys):
    data_dir = tmp_path / "topomortar"
    for split in ("train", "val", "test"):
        topomortar_folder(data_dir, split, side=40)
    out = tmp_path / "runs"
    assert run.main(["topomortar", *QUIET, "--data", str(data_dir), "--arms", "main", "--out", str(out),
                     "--test", str(data_dir / "test")]) == 0
    assert "test set of 2 images" in capsys.readouterr().out
    results = json.loads((out / "seed-0" / "results.json").read_text())
    assert results["data"]["channels"] == 3 and results["data"]["train_shapes"] == [[40, 40]]
    assert results["arms"] == ["bce", "ce-dice", "dmt", "dmt-both", "cldice"]
    assert results["images"] == ["val00", "val01"] and results["test"]["images"] == ["test00", "test01"]
    assert set(results["test"]["rows"]) == set(results["arms"])
    row = results["rows"]["dmt-both"][0]
    for key in ("image_betti0", "image_betti1_full", "hd95", "betti_matching", "betti_matching1"):
        assert key in row
    with np.load(out / "seed-0" / "likelihoods" / "validation-0.npz") as saved:
        assert [str(n) for n in saved["names"]] == ["val00", "val01"] and saved["dmt/1"].shape == (40, 40)
    # rescoring from the saved likelihoods gives the rows again (float16 likelihoods: same masks here)
    rows = results["rows"]
    assert run.main(["rescore", str(out)]) == 0
    again = json.loads((out / "seed-0" / "results.json").read_text())
    assert again["rows"] == rows and again["test"]["rows"] == results["test"]["rows"] and again["rescored"]
    markdown, figures = tmp_path / "docs" / "results.md", tmp_path / "docs" / "figures"
    markdown.parent.mkdir()
    assert run.main(["report", str(out), "--markdown", str(markdown), "--figures", str(figures)]) == 0
    text = markdown.read_text()
    assert "**Paired differences from ce-dice**" in text and "**Held-out test set**" in text
    assert "3 channels" in text and "Betti-matching error" in text
    # TopoMortar's figures (MIT) may go into the docs, unlike em-vnc's
    assert (figures / "topomortar-random.png").read_bytes()[:8] == PNG
    # --test is refused for generated data
    assert run.main(["vessels", *QUIET, "--out", str(tmp_path / "v"), "--test", str(data_dir)]) == 2
