"""Reproducible loss comparisons: BCE, the DMT-loss and baselines, from one pretrained state.

Usage (from the repository root; ``--help`` on each command)::

    python experiments/run.py em-vnc --data ../shared/data/em-vnc --seeds 0 1 2 --out experiments/runs/em-vnc
    python experiments/run.py vessels --seeds 0 1 2 --out experiments/runs/vessels
    python experiments/run.py sheets --seeds 0 1 2 --out experiments/runs/sheets
    python experiments/run.py report experiments/runs/em-vnc experiments/runs/vessels experiments/runs/sheets
    python experiments/run.py figures experiments/runs/vessels   # redraw from the checkpoints
    python experiments/run.py rescore experiments/runs/vessels   # metrics again, from saved likelihoods
    python experiments/run.py topomortar --data ../shared/data/topomortar --test PATH/TO/test

    python experiments/run.py em-vnc --quick            # the whole pipeline in seconds
    python experiments/run.py em-vnc --dry-run          # the resolved configuration, nothing run

An *experiment* is one TOML file, ``experiments/configs/NAME.toml`` (or any path to such
a file): the data, the shared training fields (``[train]``), the BCE pretraining
(``[pretrain]``), the fine-tuning defaults (``[finetune]``) and the *arms*
(``[arms.NAME]``), each a loss and what it changes. For every seed the runner pretrains
one network with BCE and fine-tunes a copy of that same state once per arm, with the
same patches and the same schedule, through :func:`dmtloss.study.compare_losses`; so the
arms' per-image differences are paired. ``--quick`` merges the file's ``[quick]`` tables
over it (tiny network, a few steps, a few small images); ``--set SECTION.KEY=VALUE`` and
the explicit options change single values. Everything that ran is recorded.

Arms belong to groups: ``main`` (BCE, DMT, weighted BCE, clDice), ``ablation`` (epsilon
and beta of the DMT-loss, one at a time) and ``explore`` (normalising the structure term
by the mask, per-epoch structures, the frame as a basin boundary, a rim of 1 around each
patch, a longer fine-tuning).
``--arms`` runs a subset by group or arm name; the baseline arm always runs first. An arm
may set ``steps_factor`` (its fine-tuning is that many times ``[finetune] steps``) and
``compare_to`` (the arm its paired test is against; default the baseline).

Written per seed, in ``OUT/seed-N/``: ``pretrain/`` and one folder per arm (checkpoints,
``log.csv``, ``history.json``), ``likelihoods/`` (every arm's validation and test likelihoods,
float16, for ``rescore``), ``metrics.json`` (compare_losses'), ``results.json`` (the
configuration, per arm the per-image metrics rows, training seconds and steps, the data
and the machine), ``table.txt`` (:func:`dmtloss.study.format_table`) and ``figures/``:
qualitative panels as the paper's Figure 6 (validation crops: image, truth, each main
arm) and the Betti error against epsilon and beta. A seed whose ``results.json`` holds the
same configuration is skipped (``--force`` reruns it); an interrupted seed resumes from the
checkpoints of its runs (each run that finished is not trained again, the one that was cut
off continues exactly where its last epoch ended); one that holds the same experiment
with fewer arms is extended: only the missing arms are fine-tuned, from its saved
pretrained state, and merged into its results (so ``--arms ablation`` after ``--arms
main`` adds the ablation without pretraining again).

``report`` reads the ``results.json`` of every seed under the given folders and writes,
per experiment, mean +- std over seeds and images of every metric (missing holes, extra
holes, cell-count error and adapted Rand error beside the Betti error), Wilcoxon paired
tests against the baseline over the (seed, image) pairs, the ablation, the timing, and
figures into ``docs/results.md`` between the markers ``<!-- BEGIN results:NAME -->`` and
``<!-- END results:NAME -->`` (a missing block is appended), and the figures into
``docs/figures/results/``. ``figures`` draws every seed's figures again from its
checkpoints, training nothing (after a change of the figures' code).

Downsampling of em-vnc (``[data] downsample = f``). Images are block means of f x f
pixels (area resampling). Labels must keep the walls' topology and their thinness.
Max-pooling (a pixel is membrane if any pixel of its block is) never breaks a wall but
thickens every wall by up to one output pixel (section 00 at f = 2: membrane fraction
0.192 at full resolution, 0.220 max-pooled; thick walls are where the DMT-loss was seen
to add spurious holes). A majority vote keeps the width proportional but breaks thin
walls (at f = 2 it merges up to 5 cells of a section). The rule here: start from the
block-any mask and remove from it, by parallel homotopic thinning, every pixel outside
the majority mask (at least half of its block is membrane) whose removal changes no
topology (a *simple* pixel for 4-connected walls and 8-connected cells; pixels on the
image border stay, so cells cut by the border stay apart). The result lies
between the two masks, has the any mask's topology and the majority's thickness
(section 00: 0.204). On em-vnc at f = 2, 8 of the 14 sections keep their cell count
exactly and none is more than 2 cells off (cells smaller than a block vanish, one-pixel
passages between cells close, walls one pixel apart join). The Betti numbers and cell
counts of every section before and after go into ``results.json``.

Held-out test data (``--test PATH``, a folder of the data's own layout: em-vnc's ``raw/`` and
``membranes/``, TopoMortar's ``images/`` and ``labels/``): after every arm of a seed is
trained, each arm's final checkpoint is evaluated on it once, into ``results["test"]``; the
report shows it apart from the validation tables. Nothing is chosen on it.

Data never enters the repository: the em-vnc folder is read where it lies (default
``../shared/data/em-vnc`` relative to the repository root; ``--data`` overrides).
"""

import argparse
import copy
import dataclasses
import datetime
import json
import math
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import time

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = pathlib.Path(__file__).resolve().parent / "configs"
#: Where ``report`` writes by default.
RESULTS_MD = ROOT / "docs" / "results.md"
RESULTS_FIGURES = ROOT / "docs" / "figures" / "results"
FORMAT, VERSION = "dmtloss-experiment", 1
GROUPS = ("main", "ablation", "explore")
SYNTHETIC = {"synthetic-membranes": "synthetic_membranes", "synthetic-vessels": "synthetic_vessels",
             "synthetic-tubes": "synthetic_tubes", "synthetic-sheets": "synthetic_sheets"}
#: Keys of the sections the runner reads itself (the others are TrainConfig fields).
DATA_KEYS = {"em-vnc": {"kind", "path", "downsample", "crop"},
             "topomortar": {"kind", "path", "colour", "crop"},
             "synthetic": {"kind", "train_count", "val_count", "shape", "seed", "options"}}
SECTION_KEYS = {"metrics": {"patch_size", "n_patches", "seed"}, "figures": {"crop"},
                "report": {"baseline", "dmt", "betti", "also_against"}}
TOP_KEYS = {"title", "seeds", "data", "train", "pretrain", "finetune", "arms", "metrics", "figures", "report",
            "quick"}
ARM_KEYS = {"group", "steps_factor", "compare_to"}  # runner keys of an arm; the rest are TrainConfig's
NETWORK = ("width", "depth", "norm")  # what every run must share with the pretrained network
RUNNER_SET = ("seed", "ndim")  # TrainConfig fields the runner sets itself
#: Per-image metrics shown, in order: (key, label, lower is better).
METRICS = (
    ("betti1", "Betti error b1", True),
    ("betti0", "Betti error b0", True),
    ("betti2", "Betti error b2", True),
    ("missing_holes", "missing holes", True),
    ("extra_holes", "extra holes", True),
    ("abs_cell_count_error", "abs. cell-count error", True),
    ("cell_count_error", "cell-count error (signed)", None),
    ("are", "ARE (1 - ARI)", True),
    ("voi", "VOI", True),
    ("image_betti0", "whole-image Betti-0 error", True),
    ("image_betti1", "whole-image Betti-1 error", True),
    ("image_betti2", "whole-image Betti-2 error", True),
    ("image_betti0_full", "whole-image Betti-0 error, 8-connected", True),
    ("image_betti1_full", "whole-image Betti-1 error, 8-connected", True),
    ("betti_matching", "Betti-matching error", True),
    ("betti_matching0", "Betti-matching error, dim 0", True),
    ("betti_matching1", "Betti-matching error, dim 1", True),
    ("hd95", "HD95 (px)", True),
    ("dice", "DICE", False),
    ("accuracy", "accuracy", False),
)


#: Short names of the arms in the qualitative panels (six columns leave little room for titles).
FIGURE_NAMES = {"bce": "BCE", "dmt": "DMT", "weighted-bce": "wBCE", "cldice": "clDice", "ce-dice": "CE+Dice",
                "dmt-both": "DMT both"}


class ConfigError(ValueError):
    """An experiment's configuration is invalid (the message names the key)."""


# ----------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------

def experiment_names():
    """The experiments shipped in ``experiments/configs/``."""
    return sorted(path.stem for path in CONFIGS.glob("*.toml"))


def config_path(experiment):
    """The TOML file of an experiment name (``em-vnc``) or path (``my.toml``)."""
    path = pathlib.Path(experiment)
    if path.suffix == ".toml":
        if not path.is_file():
            raise ConfigError(f"no such configuration file: {experiment!r}")
        return path
    path = CONFIGS / f"{experiment}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown experiment {experiment!r}; expected one of {experiment_names()} "
                          f"or a path to a .toml file")
    return path


def merge(base, over):
    """`base` with the tables of `over` merged in, recursively (neither is changed)."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_value(text):
    """A ``--set`` value: TOML (``3``, ``0.5``, ``true``, ``[64, 64]``, ``"x"``), else the bare text."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_setting(config, setting):
    """Apply one ``SECTION.KEY=VALUE`` (``arms.dmt.beta=4``) to `config` in place."""
    key, equals, text = setting.partition("=")
    path = key.strip().split(".")
    if not equals or len(path) < 2 or not all(path):
        raise ConfigError(f"--set takes SECTION.KEY=VALUE (for example train.width=8); got {setting!r}")
    if path[0] not in TOP_KEYS - {"quick", "title", "seeds"}:
        raise ConfigError(f"--set {key}: unknown section {path[0]!r}; expected one of "
                          f"{sorted(TOP_KEYS - {'quick', 'title', 'seeds'})}")
    if path[0] == "arms" and path[1] not in config.get("arms", {}):
        raise ConfigError(f"--set {key}: no arm {path[1]!r}; the arms are {list(config.get('arms', {}))}")
    table = config
    for part in path[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a table")
    table[path[-1]] = parse_value(text.strip())


def load_config(experiment, *, quick=False, settings=()):
    """The configuration of `experiment`, with ``[quick]`` merged in and `settings` applied.

    Returns
    -------
    config : dict
        The resolved TOML content, ``[quick]`` removed; ``name`` and ``quick`` added.
    """
    path = config_path(experiment)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path.name}: unknown top-level keys {unknown}; expected some of {sorted(TOP_KEYS)}")
    quick_over = raw.pop("quick", {})
    if not isinstance(quick_over, dict):
        raise ConfigError(f"{path.name}: [quick] must be a table")
    unknown = sorted(set(quick_over) - (TOP_KEYS - {"quick"}))
    if unknown:
        raise ConfigError(f"{path.name}: unknown keys in [quick]: {unknown}")
    config = merge(raw, quick_over) if quick else raw
    for setting in settings:
        apply_setting(config, setting)
    config["name"] = path.stem
    config["quick"] = bool(quick)
    return config


@dataclasses.dataclass
class Plan:
    """A validated experiment: what :func:`run_seed` needs."""

    name: str
    title: str
    config: dict
    ndim: int
    pretrain: dict
    arms: dict
    groups: dict
    compare_to: dict
    metric_options: dict
    crop: int
    report: dict


def _table(config, key, required=True):
    value = config.get(key, {} if not required else None)
    if value is None:
        raise ConfigError(f"missing section [{key}]")
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table; got {type(value).__name__}")
    return value


def _positive_int(value, what, low=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{what} must be an int >= {low}; got {value!r}")
    return value


def _data_ndim(data):
    kind = data.get("kind")
    if kind in ("em-vnc", "topomortar"):
        allowed = DATA_KEYS[kind]
    elif kind in SYNTHETIC:
        allowed = DATA_KEYS["synthetic"]
    else:
        raise ConfigError(f"data.kind must be 'em-vnc', 'topomortar' or one of {sorted(SYNTHETIC)}; got {kind!r}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"[data] of kind {kind!r}: unknown keys {unknown}; expected some of {sorted(allowed)}")
    if kind in ("em-vnc", "topomortar"):
        if kind == "em-vnc":
            _positive_int(data.get("downsample", 1), "data.downsample")
        elif data.get("colour", "rgb") not in ("rgb", "luma"):
            raise ConfigError(f"data.colour must be 'rgb' or 'luma'; got {data['colour']!r}")
        _positive_int(data.get("crop", 0), "data.crop", 0)
        if not isinstance(data.get("path", ""), str):
            raise ConfigError(f"data.path must be a string; got {data['path']!r}")
        return 2
    ndim = 3 if kind in ("synthetic-tubes", "synthetic-sheets") else 2
    for key in ("train_count", "val_count"):
        _positive_int(data.get(key, 1), f"data.{key}")
    _positive_int(data.get("seed", 0), "data.seed", 0)
    shape = data.get("shape")
    if shape is not None and (not isinstance(shape, list) or len(shape) != ndim
                              or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape)):
        raise ConfigError(f"data.shape must be a list of {ndim} ints for {kind}; got {shape!r}")
    if not isinstance(data.get("options", {}), dict):
        raise ConfigError(f"data.options must be a table; got {data['options']!r}")
    return ndim


def _train_config(fields, what):
    from dmtloss.train import TrainConfig

    try:
        return TrainConfig.from_dict(fields)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{what}: {err}") from None


def make_plan(config, arms=None):
    """Validate `config` (from :func:`load_config`) and resolve its runs.

    Parameters
    ----------
    config : dict
    arms : sequence of str, optional
        Arm or group names to run (the baseline, every ``compare_to`` target and, with
        the ablation, the ``report.dmt`` arm are added); None: every arm.

    Returns
    -------
    plan : Plan

    Raises
    ------
    ConfigError
        On any invalid, unknown or inconsistent key, naming it.
    """
    ndim = _data_ndim(_table(config, "data"))
    title = config.get("title", config["name"])
    if not isinstance(title, str):
        raise ConfigError(f"title must be a string; got {title!r}")
    train = _table(config, "train")
    pretrain = _table(config, "pretrain")
    finetune = _table(config, "finetune")
    for section, table in (("train", train), ("pretrain", pretrain), ("finetune", finetune)):
        for key in RUNNER_SET:
            if key in table:
                raise ConfigError(f"[{section}] must not set {key!r}: the runner sets it (seeds: --seeds)")
    for section in ("pretrain", "finetune"):
        for key in NETWORK:
            if key in config[section] and config[section][key] != train.get(key):
                raise ConfigError(f"[{section}] must not change the network ({key}); set it in [train]")
    for section, allowed in SECTION_KEYS.items():
        unknown = sorted(set(_table(config, section, required=False)) - allowed)
        if unknown:
            raise ConfigError(f"[{section}]: unknown keys {unknown}; expected some of {sorted(allowed)}")
    if "steps" not in finetune:
        raise ConfigError("[finetune] must set steps")
    base = {**train, "ndim": ndim, "seed": 0}
    pre = _train_config({**base, **pretrain}, "[pretrain]")
    defined = _table(config, "arms")
    if not defined:
        raise ConfigError("[arms] must define at least one arm")
    report = {"baseline": "bce", "dmt": "dmt", "betti": "betti1" if ndim == 2 else "betti2",
              **_table(config, "report", required=False)}
    baseline = report["baseline"]
    if baseline not in defined:
        raise ConfigError(f"report.baseline {baseline!r} is not an arm; the arms are {list(defined)}")
    if report["betti"] not in ("betti0", "betti1", "betti2")[:ndim]:
        raise ConfigError(f"report.betti must be one of {['betti0', 'betti1', 'betti2'][:ndim]} for "
                          f"{ndim}-D data; got {report['betti']!r}")
    train_configs, groups, compare_to = {}, {}, {}
    for name, arm in defined.items():
        what = f"[arms.{name}]"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ConfigError(f"{what}: arm names are plain words (letters, digits, - and _)")
        if not isinstance(arm, dict):
            raise ConfigError(f"{what} must be a table")
        fields = {k: v for k, v in arm.items() if k not in ARM_KEYS}
        for key in RUNNER_SET:
            if key in fields:
                raise ConfigError(f"{what} must not set {key!r}: the runner sets it")
        for key in NETWORK:
            if key in fields and fields[key] != train.get(key):
                raise ConfigError(f"{what} must not change the network ({key}): every arm starts from the "
                                  f"pretrained state")
        group = arm.get("group", "main")
        if group not in GROUPS:
            raise ConfigError(f"{what} group must be one of {GROUPS}; got {group!r}")
        factor = _positive_int(arm.get("steps_factor", 1), f"{what} steps_factor")
        merged = {**base, **finetune, **fields}
        if "steps" not in fields:
            merged["steps"] = finetune["steps"] * factor
        elif "steps_factor" in arm:
            raise ConfigError(f"{what}: give steps or steps_factor, not both")
        if "steps_per_epoch" not in fields and "steps_per_epoch" in finetune:
            merged["steps_per_epoch"] = min(merged["steps"], finetune["steps_per_epoch"] * factor)
        train_configs[name] = _train_config(merged, what)
        groups[name] = group
        target = arm.get("compare_to", baseline)
        if target not in defined:
            raise ConfigError(f"{what} compare_to {target!r} is not an arm")
        compare_to[name] = target
    if report["dmt"] not in defined or train_configs[report["dmt"]].loss != "dmt":
        raise ConfigError(f"report.dmt must name an arm with loss 'dmt'; got {report['dmt']!r}")
    selected = list(defined)
    if arms:
        wanted = set()
        for item in arms:
            if item in GROUPS:
                wanted |= {n for n in defined if groups[n] == item}
            elif item in defined:
                wanted.add(item)
            else:
                raise ConfigError(f"--arms: {item!r} is neither an arm nor a group; arms {list(defined)}, "
                                  f"groups {list(GROUPS)}")
        if "ablation" in arms:  # the ablation is read against the main DMT arm
            wanted.add(report["dmt"])
        wanted |= {baseline} | {compare_to[n] for n in wanted}
        selected = [n for n in defined if n in wanted]
    selected.sort(key=lambda n: n != baseline)  # the baseline first: compare_losses tests against it
    metrics = {"patch_size": None, "n_patches": 100, "seed": 0, **_table(config, "metrics", required=False)}
    _positive_int(metrics["n_patches"], "metrics.n_patches")
    _positive_int(metrics["seed"], "metrics.seed", 0)
    if metrics["patch_size"] is not None:
        _positive_int(metrics["patch_size"], "metrics.patch_size", 2)
    crop = _positive_int(_table(config, "figures", required=False).get("crop", 128), "figures.crop", 8)
    seeds = config.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"seeds must be a non-empty list of ints; got {seeds!r}")
    for seed in seeds:
        _positive_int(seed, "seeds", 0)
    return Plan(config["name"], title, config, ndim, pre.to_dict(),
                {n: train_configs[n].to_dict() for n in selected}, {n: groups[n] for n in selected},
                {n: compare_to[n] for n in selected}, metrics, crop, report)


# ----------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------

_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _count_components(cells, touching):
    cells, count = set(cells), 0
    while cells:
        count += 1
        stack = [cells.pop()]
        while stack:
            k = stack.pop()
            for j in [j for j in cells if touching(_NEIGHBOURS[k], _NEIGHBOURS[j])]:
                cells.discard(j)
                stack.append(j)
    return count


def simple_pixel_table():
    """Which 3 x 3 neighbourhoods make their centre a simple pixel (4-connected foreground).

    Entry ``code`` (bit k set when neighbour k of N, NE, E, SE, S, SW, W, NW is
    foreground) is True when removing the centre changes no topology: Bertrand's
    topological numbers ``T4`` of the foreground (its geodesic 4-neighbourhood) and
    ``T8`` of the background are both 1.
    """
    def four(a, b):
        return abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1

    def eight(a, b):
        return max(abs(a[0] - b[0]), abs(a[1] - b[1])) == 1

    table = np.zeros(256, bool)
    for code in range(256):
        foreground = {k for k in range(8) if code >> k & 1}
        geodesic = {k for k in foreground if k % 2 == 0}
        geodesic |= {k for k in foreground
                     if k % 2 and any(four(_NEIGHBOURS[k], _NEIGHBOURS[j]) for j in geodesic)}
        background = set(range(8)) - foreground
        table[code] = (_count_components(geodesic, four) == 1
                       and _count_components(background, eight) == 1)
    return table


_SIMPLE = simple_pixel_table()


def _codes(mask):
    padded = np.pad(mask, 1, constant_values=True)  # only read for border pixels, which thin() keeps
    rows, cols = mask.shape
    code = np.zeros(mask.shape, np.uint8)
    for k, (dr, dc) in enumerate(_NEIGHBOURS):
        code |= padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols].astype(np.uint8) << k
    return code


def thin(mask, keep):
    """Remove simple pixels of `mask` outside `keep` until none is left (homotopic thinning).

    The four parity classes of pixels are processed in turn; pixels of one class are not
    8-neighbours, so removing them together is removing them one by one. Pixels on the
    image border are kept, so the neighbourhood of a removed pixel lies inside the image:
    both the cells (background components) and the Betti numbers are preserved.

    Parameters
    ----------
    mask, keep : (M, N) ndarray of bool
        `keep` is never removed.

    Returns
    -------
    thinned : (M, N) ndarray of bool
        Between ``mask & keep`` and `mask`, with the topology of `mask`.
    """
    result = mask.copy()
    removable = mask & ~keep
    # pixels on the image border stay: their neighbourhoods reach outside the image, where
    # "wall" (for the cells) and "background" (for the Betti numbers) would disagree
    removable[[0, -1], :] = removable[:, [0, -1]] = False
    rows, cols = np.indices(mask.shape)
    classes = [(rows % 2 == a) & (cols % 2 == b) for a in (0, 1) for b in (0, 1)]
    changed = True
    while changed:
        changed = False
        for parity in classes:
            candidates = result & removable & parity
            if candidates.any():
                drop = candidates & _SIMPLE[_codes(result)]
                if drop.any():
                    result[drop] = False
                    changed = True
    return result


def downsample_pair(image, target, factor):
    """Downsample an em-vnc section by an integer `factor` (see the module docstring).

    Returns
    -------
    image : ndarray of float32
        Block means.
    target : ndarray of bool
        The block-any mask thinned down towards the block-majority mask.
    """
    if factor == 1:
        return image, target
    rows, cols = image.shape[0] // factor, image.shape[1] // factor
    if not rows or not cols:
        raise ValueError(f"a {image.shape} section is smaller than data.downsample={factor}")

    def blocks(array):
        return array[:rows * factor, :cols * factor].reshape(rows, factor, cols, factor)

    small = blocks(image).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
    counts = blocks(target).sum(axis=(1, 3))
    return np.clip(small, 0, 1), thin(counts > 0, 2 * counts >= factor * factor)


def _label_topology(target):
    from dmtloss import metrics

    b0, b1 = metrics.betti_numbers(target).tolist()
    return {"b0": b0, "b1": b1, "cells": int(metrics.region_labels(target).max()),
            "membrane_fraction": round(float(target.mean()), 5)}


def load_data(config, data_path=None):
    """The training and validation sets of an experiment, and what was done to them.

    Parameters
    ----------
    config : dict
        From :func:`load_config`.
    data_path : path-like, optional
        The em-vnc folder, instead of ``data.path`` (relative to the repository root).

    Returns
    -------
    train_set, val_set : dmtloss.data.SegmentationSet
    info : dict
        Source, names, shapes and (em-vnc) the label topology before and after
        downsampling, for results.json.
    """
    from dmtloss import data as datasets
    from dmtloss.data import SegmentationSet

    spec = config["data"]
    kind = spec["kind"]
    if kind in SYNTHETIC:
        generate = getattr(datasets, SYNTHETIC[kind])
        options = dict(spec.get("options", {}))
        if spec.get("shape") is not None:
            options["shape"] = tuple(spec["shape"])
        seed = spec.get("seed", 0)
        try:
            train_set = generate(spec.get("train_count", 8), seed=seed, **options)
            val_set = generate(spec.get("val_count", 8), seed=seed + datasets.VAL_SEED_OFFSET, **options)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"[data] {kind}: {err}") from None
        info = {"kind": kind, "source": train_set.source, "validation_source": val_set.source}
    elif kind == "topomortar":
        path = ROOT / spec.get("path", "")
        if data_path is not None:
            path = pathlib.Path(data_path)
        crop = spec.get("crop", 0)
        train_set, val_set = (_crop_set(datasets.load_topomortar(path, split, colour=spec.get("colour", "rgb")), crop)
                              for split in ("train", "val"))
        info = {"kind": kind, "path": str(path), "crop": crop, "colour": spec.get("colour", "rgb"),
                "source": train_set.source}
    else:
        path = ROOT / spec.get("path", "")  # an absolute path stays as it is
        if data_path is not None:
            path = pathlib.Path(data_path)
        factor, crop = spec.get("downsample", 1), spec.get("crop", 0)
        sets, sections = {}, []
        for split in ("train", "validation"):
            loaded = datasets.load_em_vnc(path, split=split)
            images, targets = [], []
            for name, image, target in zip(loaded.names, loaded.images, loaded.targets):
                image, target = _em_vnc_crop(image, target, factor, crop)
                small_image, small_target = downsample_pair(image, target, factor)
                images.append(small_image)
                targets.append(small_target)
                sections.append({"section": name, "split": split, "shape": list(image.shape),
                                 "downsampled_shape": list(small_image.shape),
                                 "before": _label_topology(target), "after": _label_topology(small_target)})
            sets[split] = SegmentationSet(images, targets, loaded.names, loaded.regions,
                                          _em_vnc_source(loaded, factor, crop))
        train_set, val_set = sets["train"], sets["validation"]
        kept = sum(s["before"]["cells"] == s["after"]["cells"] for s in sections)
        info = {"kind": kind, "path": str(path), "downsample": factor, "crop": crop,
                "source": train_set.source, "sections": sections,
                "cells_kept": f"{kept} of {len(sections)} sections keep their cell count exactly",
                "max_cell_difference": max(abs(s["before"]["cells"] - s["after"]["cells"]) for s in sections)}
    info.update({"train": list(train_set.names), "validation": list(val_set.names),
                 "train_shapes": sorted({tuple(t.shape) for t in train_set.targets}),
                 "validation_shapes": sorted({tuple(t.shape) for t in val_set.targets}),
                 "channels": train_set.channels, "regions": val_set.regions})
    return train_set, val_set, info


def _em_vnc_crop(image, target, factor, crop):
    """The top-left part of an em-vnc section that is `crop` pixels square once downsampled (0: all)."""
    if crop:
        image, target = image[:crop * factor, :crop * factor], target[:crop * factor, :crop * factor]
    return image, target


def _em_vnc_source(loaded, factor, crop):
    return f"{loaded.source}; downsampled {factor}x" + (f", cropped to {crop}^2" if crop else "")


def _crop_set(data, crop):
    """The top-left `crop` x `crop` of every image of a 2-D set (0: the set as it is)."""
    if not crop:
        return data
    from dmtloss.data import SegmentationSet

    return SegmentationSet([image[..., :crop, :crop] for image in data.images],
                           [target[:crop, :crop] for target in data.targets], data.names, data.regions,
                           f"{data.source}; cropped to {crop}^2", data.channels)


def load_test(config, path):
    """A held-out test set of the experiment's own layout, prepared as its validation set.

    Parameters
    ----------
    config : dict
        From :func:`load_config`; its ``[data]`` says the layout and the preparation
        (em-vnc: every section of ``raw/`` and ``membranes/``, downsampled as the
        training data; TopoMortar: a folder holding ``images/`` and ``labels/``, or a
        root holding ``test/``).
    path : path-like
        The test folder.

    Returns
    -------
    test_set : dmtloss.data.SegmentationSet
    info : dict
        For results.json.
    """
    from dmtloss import data as datasets
    from dmtloss.data import SegmentationSet

    spec = config["data"]
    path = pathlib.Path(path)
    if spec["kind"] == "topomortar":
        folder = path if (path / "images").is_dir() else path / "test"
        test_set = _crop_set(datasets.load_topomortar(folder, colour=spec.get("colour", "rgb")), spec.get("crop", 0))
    elif spec["kind"] == "em-vnc":
        loaded = datasets.load_em_vnc(path)
        factor, crop = spec.get("downsample", 1), spec.get("crop", 0)
        pairs = [downsample_pair(*_em_vnc_crop(image, target, factor, crop), factor)
                 for image, target in zip(loaded.images, loaded.targets)]
        test_set = SegmentationSet([p[0] for p in pairs], [p[1] for p in pairs], loaded.names, loaded.regions,
                                   _em_vnc_source(loaded, factor, crop))
    else:
        raise ConfigError(f"--test: only experiments on data read from disk take a test folder; "
                          f"{config['name']} generates its data")
    return test_set, {"path": str(path), "source": test_set.source, "images": list(test_set.names)}


def _save_likelihoods(path, names, likelihoods):
    """Each arm's likelihoods of a set, float16 in one compressed .npz (for rescoring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, names=np.array(names), **{
        f"{arm}/{k}": np.asarray(values[k], dtype=np.float16) for arm, values in likelihoods.items()
        for k in range(len(values))})


def evaluate_test(plan, out, arms, test_set, *, log=print):
    """Each arm's final checkpoint on the held-out test set, once: per-image metric rows."""
    from dmtloss.study import _rows
    from dmtloss.train import load_checkpoint, predict

    metric_options = {k: v for k, v in plan.metric_options.items() if v is not None}
    rows, likelihoods = {}, {}
    for arm in arms:
        model = load_checkpoint(pathlib.Path(out) / arm / "last.pt")[0]
        likelihoods[arm] = [predict(model, image) for image in test_set.images]
        rows[arm] = _rows(likelihoods[arm], test_set, metric_options)
        log(f"test set: {arm} evaluated on {len(test_set)} images")
    _save_likelihoods(pathlib.Path(out) / "likelihoods" / "test.npz", test_set.names, likelihoods)
    return rows


# ----------------------------------------------------------------------------------
# one seed
# ----------------------------------------------------------------------------------

def machine():
    """The machine, software and threads a run used (for results.json)."""
    import torch

    import dmtloss

    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "dmtloss": getattr(dmtloss, "__version__", "unknown"),
            "torch_threads": torch.get_num_threads()}
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = len(os.sched_getaffinity(0))
    if torch.cuda.is_available():
        info["cuda"] = torch.cuda.get_device_name(0)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        info["git_commit"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = "unknown"
    return info


def table_metrics(ndim):
    """The rows of :func:`dmtloss.study.format_table` for `ndim`-D data (b2 in 3-D)."""
    from dmtloss.study import TABLE_METRICS

    rows = list(TABLE_METRICS)
    if ndim == 3:
        at = [key for key, _, _ in rows].index("betti0") + 1
        rows.insert(at, ("betti2", "Betti error b2", True))
    return rows


def group_tables(plan, comparison):
    """:func:`dmtloss.study.format_table` per group of arms, each against the baseline."""
    from dmtloss.study import Comparison, format_table

    baseline = plan.report["baseline"]
    parts = []
    for group in GROUPS:
        arms = [arm for arm in comparison.arms if plan.groups[arm] == group and arm != baseline]
        if not arms and group != "main":
            continue
        arms = (baseline, *arms)
        subset = Comparison(arms, {arm: comparison.rows[arm] for arm in arms}, {}, None, {}, {})
        parts.append(f"[{group}]\n" + format_table(subset, table_metrics(plan.ndim)))
    return "\n\n".join(parts)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.ndarray, tuple, set)):
        return list(value)
    if isinstance(value, pathlib.PurePath):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path, content):
    """Write `content` as indented JSON through a temporary file (never half-written)."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(content, indent=1, default=_json_default) + "\n")
    os.replace(tmp, path)


def _plan_record(plan):
    return {"name": plan.name, "title": plan.title, "config": plan.config, "ndim": plan.ndim,
            "pretrain": plan.pretrain, "arms": plan.arms, "groups": plan.groups,
            "compare_to": plan.compare_to, "metric_options": plan.metric_options,
            "crop": plan.crop, "report": plan.report}


def _comparable(record):
    """A plan record without the seed, for 'same configuration' checks.

    Training fields are filled in with :class:`dmtloss.train.TrainConfig`'s defaults, so
    a record written before a field existed equals one that has the field at its
    default.
    """
    record = json.loads(json.dumps(record, default=_json_default))
    record["pretrain"] = _filled(record["pretrain"])
    record["arms"] = {arm: _filled(fields) for arm, fields in record["arms"].items()}
    record["pretrain"].pop("seed", None)
    for fields in record["arms"].values():
        fields.pop("seed", None)
    record["config"].pop("seeds", None)
    return record


_PER_ARM = ("arms", "groups", "compare_to")  # the parts of a plan record that are per arm


def added_arms(done, wanted):
    """The arms plan record `wanted` adds to `done`, or None if they are different experiments.

    Two records are the same experiment when everything but their choice of arms agrees
    (data, pretraining, metrics, the configuration file) and every arm they share has the
    same fields, group and paired-test target; `wanted` then extends `done` by the arms
    it names that `done` lacks (an empty list when it names none).
    """
    a, b = _comparable(done), _comparable(wanted)
    for record in (a, b):  # arms defined in the file but not run do not matter; run ones are compared below
        record["config"].pop("arms", None)
    if {k: v for k, v in a.items() if k not in _PER_ARM} != {k: v for k, v in b.items() if k not in _PER_ARM}:
        return None
    for key in _PER_ARM:
        if any(a[key][arm] != b[key][arm] for arm in a[key].keys() & b[key].keys()):
            return None
    return [arm for arm in b["arms"] if arm not in a["arms"]]


def _filled(fields):
    """Training fields with :class:`dmtloss.train.TrainConfig`'s defaults for those missing
    (a record written before a field existed)."""
    from dmtloss.train import TrainConfig

    defaults = json.loads(json.dumps(TrainConfig().to_dict(), default=_json_default))
    return {**defaults, **fields}


def union_plan(records):
    """One plan record holding every arm of `records` (same experiment), in the file's order.

    Arms' training fields missing from older records take their defaults.
    """
    merged = copy.deepcopy(records[0])
    for record in records[1:]:
        for key in _PER_ARM:
            for arm, value in record[key].items():
                merged[key].setdefault(arm, value)
    merged["arms"] = {arm: _filled(fields) for arm, fields in merged["arms"].items()}
    order = list(merged["config"].get("arms", {}))
    baseline = merged["report"]["baseline"]
    names = sorted(merged["arms"], key=lambda n: (n != baseline, order.index(n) if n in order else len(order)))
    for key in _PER_ARM:
        merged[key] = {n: merged[key][n] for n in names}
    return merged


def run_seed(plan, seed, out_dir, *, data, previous=None, progress=True, log=print, figures=True, test=None,
             resume=True):
    """Pretrain with BCE and fine-tune each arm for one seed; write results, table, figures.

    Parameters
    ----------
    plan : Plan
    seed : int
        Seed of the weights and of the patches (the data do not change with it).
    out_dir : path-like
        The seed's folder.
    data : tuple
        ``(train_set, val_set, info)`` from :func:`load_data`.
    previous : dict, optional
        The seed's earlier ``results.json``, of the same experiment (:func:`added_arms`):
        only the arms of `plan` it lacks are fine-tuned, from its pretrained checkpoint
        ``out_dir/pretrain/last.pt``, and the results are merged into it (the runs
        are deterministic, so this is the run that all arms at once would have been).
    test : tuple, optional
        ``(test_set, info)`` from :func:`load_test`: every arm's final checkpoint is
        evaluated on it once, after all training, into ``results["test"]``.
    resume : bool, optional
        Take up the runs an interrupted earlier call left in `out_dir` from their
        checkpoints (:func:`dmtloss.study.compare_losses`); False trains every run again.

    Returns
    -------
    results : dict
        The content of ``results.json``.
    """
    from dmtloss.study import Comparison, compare_losses
    from dmtloss.train import TrainConfig

    train_set, val_set, data_info = data
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    wall = time.perf_counter()
    pretrain = TrainConfig.from_dict({**plan.pretrain, "seed": seed})
    todo = [name for name in plan.arms if previous is None or name not in previous["arms"]]
    arms = {name: TrainConfig.from_dict({**plan.arms[name], "seed": seed}) for name in todo}
    metric_options = {k: v for k, v in plan.metric_options.items() if v is not None}
    command = [sys.executable, *sys.argv]
    if previous is None:
        comparison = compare_losses(train_set, val_set, pretrain, arms, out_dir=out, progress=progress,
                                    metric_options=metric_options, log=log, resume=resume)
        extensions = []
    else:
        init = out / "pretrain" / "last.pt"
        if not init.is_file():
            raise ConfigError(f"{out}: results.json is there but not the pretrained state {init}; pass "
                              f"--force to rerun the seed")
        log(f"adding arm(s) {', '.join(todo)} to the {len(previous['arms'])} done, from {init}")
        added = compare_losses(train_set, val_set, None, arms, out_dir=out, init=init, progress=progress,
                               metric_options=metric_options, log=log)
        record = union_plan([previous["plan"], json.loads(json.dumps(_plan_record(plan), default=_json_default))])
        plan = dataclasses.replace(plan, arms=record["arms"], groups=record["groups"],
                                   compare_to=record["compare_to"])
        rows = {**previous["rows"], **added.rows}
        comparison = Comparison(tuple(plan.arms), {arm: rows[arm] for arm in plan.arms}, dict(added.likelihoods),
                                init, {arm: out / arm / "last.pt" for arm in plan.arms},
                                {**previous["seconds"], **added.seconds})
        (out / "metrics.json").write_text(json.dumps(
            {"images": list(val_set.names), "seconds": comparison.seconds, "rows": comparison.rows}, indent=1))
        extensions = [*previous.get("extensions", []),
                      {"arms": todo, "command": command, "started": started.isoformat(timespec="seconds"),
                       "machine": machine()}]
    table = group_tables(plan, comparison)
    steps = {"pretrain": pretrain.steps,
             **{name: (previous["steps"][name] if name not in arms else arms[name].steps) for name in plan.arms}}
    results = {
        "format": FORMAT, "version": VERSION, "experiment": plan.name, "title": plan.title, "seed": seed,
        "quick": plan.config.get("quick", False), "plan": _plan_record(plan), "data": data_info,
        "arms": list(comparison.arms), "images": list(val_set.names), "rows": comparison.rows,
        "seconds": comparison.seconds, "steps": steps,
        "seconds_per_step": {name: comparison.seconds[name] / steps[name] for name in comparison.seconds},
        "table": table, "machine": machine() if previous is None else previous["machine"],
        "command": command if previous is None else previous["command"],
        "started": started.isoformat(timespec="seconds") if previous is None else previous["started"],
    }
    if extensions:
        results["extensions"] = extensions
    if comparison.likelihoods:
        _save_likelihoods(out / "likelihoods" / f"validation-{len(extensions)}.npz", val_set.names,
                          comparison.likelihoods)
    if test is not None:
        test_set, test_info = test
        results["test"] = {**test_info, "rows": evaluate_test(plan, out, list(comparison.arms), test_set, log=log)}
    (out / "table.txt").write_text(table + "\n")
    if figures:
        results["figures"] = draw_figures(plan, comparison, val_set, out, results)
    results["wall_seconds"] = time.perf_counter() - wall + (previous or {}).get("wall_seconds", 0.0)
    write_json(out / "results.json", results)
    return results


def draw_figures(plan, comparison, val_set, out, results):
    """A seed's figures in ``out/figures``: :func:`qualitative_figures` and :func:`betti_figure`.

    Likelihoods of the arms shown that `comparison` lacks are predicted from the arms'
    checkpoints. Returns the paths written, relative to `out`, as strings.
    """
    out = pathlib.Path(out)
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    _predict_missing(plan, comparison, val_set)
    written = qualitative_figures(plan, comparison, val_set, folder, seed=results["seed"])
    betti = betti_figure([results], plan.report, folder / "betti-vs-epsilon.png")
    curves = training_figure(plan, out, comparison.arms, folder / "training.png", seed=results["seed"])
    return [str(path.relative_to(out)) for path in [*written, *([betti] if betti else []), curves]]


def training_figure(plan, out, arms, path, *, seed=0):
    """The training curves of a seed: the pretraining, then each arm from where it started."""
    from dmtloss import plotting

    histories, starts = {}, {}
    for name in ["pretrain", *arms]:
        saved = pathlib.Path(out) / name / "history.json"
        if saved.is_file():
            histories[name] = json.loads(saved.read_text())["history"]
            if name != "pretrain":
                starts[name] = plan.pretrain["steps"]
    return plotting.training_curves(histories, path, starts=starts, dpi=90,
                                    title=f"{plan.name}, seed {seed}: training loss of each run's own objective")


def redraw_figures(paths, *, log=print):
    """Draw the figures of every seed under `paths` again, from its checkpoints and results.

    For when the figures' code changed after a run: nothing is trained, the data are
    loaded as the run recorded them, and each ``results.json`` gets its new list of
    figures.

    Returns
    -------
    paths : list of pathlib.Path
        The results files whose figures were drawn.
    """
    from dmtloss.study import Comparison

    done = []
    for path in find_results(paths):
        results = _read_results_file(path)
        plan = Plan(**{field.name: results["plan"][field.name] for field in dataclasses.fields(Plan)})
        try:
            _, val_set, _ = load_data(plan.config)
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: data: {err}") from None
        out = path.parent
        missing = [arm for arm in results["arms"] if not (out / arm / "last.pt").is_file()]
        if missing:
            raise ConfigError(f"{path}: no checkpoint of arm(s) {', '.join(missing)} to draw from")
        comparison = Comparison(tuple(results["arms"]), results["rows"], {}, out / "pretrain" / "last.pt",
                                {arm: out / arm / "last.pt" for arm in results["arms"]}, results["seconds"])
        results["figures"] = draw_figures(plan, comparison, val_set, out, results)
        write_json(path, results)
        log(f"figures: {plan.name} seed {results['seed']}: {', '.join(results['figures']) or 'none'}")
        done.append(path)
    return done


def _read_likelihoods(files, names):
    """``{arm: [likelihood per image]}`` from :func:`_save_likelihoods`' files (later ones win)."""
    likelihoods = {}
    for file in files:
        with np.load(file) as saved:
            if [str(n) for n in saved["names"]] != list(names):
                raise ConfigError(f"{file}: saved for images {list(saved['names'])}, not {list(names)}")
            arms = sorted({key.split("/")[0] for key in saved.files if key != "names"})
            for arm in arms:
                likelihoods[arm] = [saved[f"{arm}/{k}"].astype(np.float64) for k in range(len(names))]
    return likelihoods


def rescore(paths, *, log=print):
    """Measure every seed under `paths` again from its saved likelihoods, training nothing.

    For a metric added after the runs (the rows of ``results.json`` and ``table.txt``
    are rewritten with :func:`dmtloss.metrics.image_metrics` as it is now; the
    validation and, where there is one, the test set's rows). An arm without saved
    likelihoods is predicted again from its checkpoint.

    Returns
    -------
    paths : list of pathlib.Path
        The results files rescored.
    """
    from dmtloss.study import Comparison, _rows
    from dmtloss.train import load_checkpoint, predict

    done = []
    for path in find_results(paths):
        results = _read_results_file(path)
        plan = Plan(**{field.name: results["plan"][field.name] for field in dataclasses.fields(Plan)})
        out = path.parent
        metric_options = {k: v for k, v in plan.metric_options.items() if v is not None}
        try:
            _, val_set, _ = load_data(plan.config)
            test = load_test(plan.config, results["test"]["path"]) if "test" in results else None
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: data: {err}") from None
        sets = [("rows", val_set, sorted((out / "likelihoods").glob("validation-*.npz")))]
        if test is not None:
            sets.append(("test", test[0], [out / "likelihoods" / "test.npz"]))
        for key, data, files in sets:
            likelihoods = _read_likelihoods([f for f in files if f.is_file()], data.names)
            rows = {}
            for arm in results["arms"]:
                if arm not in likelihoods:
                    model = load_checkpoint(out / arm / "last.pt")[0]
                    likelihoods[arm] = [predict(model, image) for image in data.images]
                rows[arm] = _rows(likelihoods[arm], data, metric_options)
            if key == "rows":
                results["rows"] = rows
                comparison = Comparison(tuple(results["arms"]), rows, {}, out / "pretrain" / "last.pt",
                                        {arm: out / arm / "last.pt" for arm in results["arms"]}, results["seconds"])
                results["table"] = group_tables(plan, comparison)
                (out / "table.txt").write_text(results["table"] + "\n")
            else:
                results["test"]["rows"] = rows
        results.setdefault("rescored", []).append({"when": datetime.datetime.now(datetime.timezone.utc)
                                                   .isoformat(timespec="seconds"), "machine": machine()})
        write_json(path, results)
        log(f"rescore: {plan.name} seed {results['seed']}: {len(results['arms'])} arm(s)")
        done.append(path)
    return done


def _predict_missing(plan, comparison, val_set):
    """Fill in, from their checkpoints, the likelihoods the figures show that were not just trained."""
    from dmtloss.train import load_checkpoint, predict

    baseline, dmt = plan.report["baseline"], plan.report["dmt"]
    needed = [baseline, dmt, *[arm for arm in comparison.arms if plan.groups.get(arm) == "main"]]
    for arm in dict.fromkeys(needed):
        if arm in comparison.arms and arm not in comparison.likelihoods:
            model = load_checkpoint(comparison.checkpoints[arm])[0]
            comparison.likelihoods[arm] = [predict(model, image) for image in val_set.images]


# ----------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------

def _slices(image, ndim):
    """The 2-D plane of a validation image the figures show (the middle slice in 3-D)."""
    return image if ndim == 2 else image[image.shape[0] // 2]


def _window_errors(prediction, truth, size):
    from dmtloss.metrics import betti_numbers

    errors = {}
    step = max(1, size // 2)
    rows = sorted({*range(0, max(1, truth.shape[0] - size + 1), step), max(0, truth.shape[0] - size)})
    cols = sorted({*range(0, max(1, truth.shape[1] - size + 1), step), max(0, truth.shape[1] - size)})
    for r in rows:
        for c in cols:
            window = (slice(r, r + size), slice(c, c + size))
            errors[(r, c)] = int(np.abs(betti_numbers(prediction[window]) - betti_numbers(truth[window])).sum())
    return errors


def qualitative_figures(plan, comparison, val_set, folder, *, seed=0, dpi=90):
    """Panels as the paper's Figure 6 (image, truth, each main arm) on three validation crops.

    The crops (``figures.crop`` pixels square, of the middle slice in 3-D) are chosen by a
    stated rule, not by eye: the window where the DMT arm's Betti error (b0 + b1 of the
    crop) is lowest relative to the baseline's (``dmt-best``), where it is highest
    (``dmt-worst``), and one drawn at random with the seed (``random``).

    Returns
    -------
    paths : list of pathlib.Path
    """
    from dmtloss import fast, plotting

    baseline, dmt = plan.report["baseline"], plan.report["dmt"]
    if dmt not in comparison.likelihoods:
        return []
    shown = [baseline, *[arm for arm in comparison.arms if plan.groups.get(arm) == "main" and arm != baseline]][:4]
    size = min(plan.crop, *_slices(val_set.targets[0], plan.ndim).shape)
    candidates = []
    for k, (image, truth) in enumerate(zip(val_set.images, val_set.targets)):
        truth = _slices(truth, plan.ndim)
        if min(truth.shape) < size:
            continue
        base = _window_errors(_slices(comparison.likelihoods[baseline][k], plan.ndim) >= 0.5, truth, size)
        other = _window_errors(_slices(comparison.likelihoods[dmt][k], plan.ndim) >= 0.5, truth, size)
        candidates += [(other[w] - base[w], k, w) for w in base]
    if not candidates:
        return []
    rng = np.random.default_rng(seed)
    picks = {"dmt-best": min(candidates, key=lambda c: (c[0], c[1], c[2])),
             "dmt-worst": max(candidates, key=lambda c: (c[0], -c[1], (-c[2][0], -c[2][1]))),
             "random": candidates[int(rng.integers(len(candidates)))]}
    rules = {"dmt-best": f"the crop where {dmt} gained most on {baseline}",
             "dmt-worst": f"the crop where {dmt} lost most to {baseline}",
             "random": "a crop drawn at random"}
    paths = []
    for label, (difference, k, (r, c)) in picks.items():
        window = (slice(r, r + size), slice(c, c + size))
        image = val_set.images[k]
        if val_set.channels > 1:  # colour last, as matplotlib draws it
            image = np.moveaxis(image, 0, -1)
        image = _slices(image, plan.ndim)[window]
        truth = _slices(val_set.targets[k], plan.ndim)[window]
        likelihoods = {FIGURE_NAMES.get(arm, arm): _slices(comparison.likelihoods[arm][k], plan.ndim)[window]
                       for arm in shown}
        structures = fast.morse_structures(
            np.ascontiguousarray(_slices(comparison.likelihoods[baseline][k], plan.ndim)[window], dtype=np.float64),
            plan.arms[dmt]["epsilon"])
        where = (f"{val_set.names[k]}" + (" middle slice" if plan.ndim == 3 else "")
                 + f", rows {r}-{r + size}, columns {c}-{c + size}")
        title = (f"{plan.name}, seed {seed}: {rules[label]} ({where}; Betti error b0+b1 of the crop, "
                 f"{dmt} - {baseline}: {difference:+d})")
        path = folder / f"qualitative-{label}.png"
        plotting.comparison_figure(image, truth, likelihoods, path, structures=structures, title=title,
                                   regions=val_set.regions, dpi=dpi)
        paths.append(path)
    return paths


def _series(results, report):
    """Betti errors of the DMT arms that differ from report.dmt in epsilon or beta alone."""
    plan = union_plan([r["plan"] for r in results])
    reference = plan["arms"].get(report["dmt"])
    if reference is None:
        return {}, None
    key = report["betti"]

    def values(arm):
        return [row[key] for r in results for row in r["rows"].get(arm, [])]

    series = {"epsilon": [], "beta": []}
    for arm, fields in plan["arms"].items():
        if fields.get("loss") != "dmt":
            continue
        differing = {k for k in fields if k != "seed" and fields[k] != reference[k]}
        for parameter in series:
            if not differing or differing == {parameter}:
                found = values(arm)
                if found:
                    series[parameter].append((fields[parameter], arm, found))
    baseline = values(report["baseline"])
    return {k: sorted(v) for k, v in series.items() if len(v) > 1}, baseline


def betti_figure(results, report, path, *, dpi=100):
    """The headline Betti error of the DMT arms against epsilon (and beta), BCE as a band.

    Points are means over every (seed, image) pair with error bars of one standard error;
    the baseline's mean and standard error are the grey line and band. Drawn with
    matplotlib's object API (no pyplot). Returns the path, or None without two values of
    epsilon or beta to plot.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series, baseline = _series(results, report)
    if not series:
        return None
    label = {"betti0": "Betti error b0", "betti1": "Betti error b1", "betti2": "Betti error b2"}[report["betti"]]
    figure = Figure(figsize=(3.2 * len(series), 2.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(series), squeeze=False)[0]
    for ax, (parameter, points) in zip(axes, series.items()):
        x = [p[0] for p in points]
        means = [float(np.mean(p[2])) for p in points]
        errors = [float(np.std(p[2]) / math.sqrt(len(p[2]))) for p in points]
        if baseline:
            mean, error = float(np.mean(baseline)), float(np.std(baseline) / math.sqrt(len(baseline)))
            ax.axhspan(mean - error, mean + error, color="0.85", lw=0)
            ax.axhline(mean, color="0.4", lw=1, label=report["baseline"])
        ax.errorbar(x, means, yerr=errors, marker="o", color="#0072B2", capsize=3, lw=1.2,
                    label=f"{report['dmt']} and its variants")
        ax.set_xlabel(parameter)
        ax.set_xticks(x)
        ax.set_ylabel(label)
        ax.legend(frameon=False, fontsize=8)
    seeds = sorted({r["seed"] for r in results})
    n = len(baseline) if baseline else len(points[0][2])
    figure.suptitle(f"{results[0]['experiment']}: mean ± s.e. over {n} (seed, image) pairs, "
                    f"seeds {', '.join(map(str, seeds))}", fontsize=8)
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    os.replace(tmp, path)
    return path


# ----------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------

def find_results(paths):
    """The results.json files under `paths` (folders searched recursively, or files)."""
    found = []
    for path in map(pathlib.Path, paths):
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(path.rglob("results.json"))
        else:
            raise ConfigError(f"no such file or folder: {str(path)!r}")
    if not found:
        raise ConfigError(f"no results.json under {', '.join(map(str, paths))}")
    return found


def _read_results_file(path):
    try:
        results = json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: not a readable results file: {err}") from None
    if not isinstance(results, dict) or results.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a results file of experiments/run.py")
    if results.get("version") != VERSION:
        raise ConfigError(f"{path}: results version {results.get('version')}, this runner reads {VERSION}")
    return results


def read_results(paths):
    """Group the results files by experiment; check that the seeds of one agree.

    Returns
    -------
    experiments : dict of str to list of (pathlib.Path, dict)
        Per experiment, its seeds' results in seed order.
    """
    experiments = {}
    for path in find_results(paths):
        results = _read_results_file(path)
        experiments.setdefault(results["experiment"], []).append((path, results))
    for name, runs in experiments.items():
        runs.sort(key=lambda item: item[1]["seed"])
        first_path, first = runs[0]
        seeds = [r["seed"] for _, r in runs]
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"experiment {name!r}: seed(s) found twice: {seeds} "
                              f"({', '.join(str(p) for p, _ in runs)})")
        for path, results in runs[1:]:
            if added_arms(first["plan"], results["plan"]) is None or results["quick"] != first["quick"]:
                raise ConfigError(f"experiment {name!r}: {path} was run with another configuration than "
                                  f"{first_path}; report them separately")
    return experiments


def _pooled(runs, arm, key):
    return [row[key] for _, r in runs for row in r["rows"].get(arm, []) if key in row]


def _fmt(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "—"


def _markdown_table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _paired(runs, arm, other, key, lower):
    from dmtloss.study import paired_test

    runs = [run for run in runs if arm in run[1]["rows"] and other in run[1]["rows"]]  # the seeds with both
    a, b = _pooled(runs, other, key), _pooled(runs, arm, key)
    if not a or len(a) != len(b):
        return "—"
    diff, low, high, p = paired_test(a, b)
    better, worse = (low, high) if lower else (high, low)
    mark = "" if math.isnan(p) or p >= 0.05 or diff == 0 else (" **better**" if better > worse else " **worse**")
    p_text = "n/a" if math.isnan(p) else f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"
    return f"{diff:+.3f} ({better}/{worse}, p {p_text}){mark}"


def _paired_tables(runs, main, against, metrics, n, what=""):
    """Tables of paired differences of the main arms from each arm of `against`."""
    lines = []
    for other in against:
        arms = [arm for arm in main if arm != other]
        if other not in main or not arms:
            continue
        lines += [f"**Paired differences from {other}** ({what}as above: mean of (arm − {other}) over the "
                  f"{n} (seed, image) pairs, better/worse pairs, Wilcoxon p).", ""]
        rows = [[label] + [_paired(runs, arm, other, key, lower) for arm in arms]
                for key, label, lower in metrics if lower is not None]
        lines += [_markdown_table(["metric", *[f"{arm} − {other}" for arm in arms]], rows), ""]
    return lines


def _arm_fields(plan, arm):
    fields = plan["arms"][arm]
    bits = [fields["loss"]]
    if fields["loss"] != "bce":
        bits.append(f"β {fields['beta']:g}")
    if fields["loss"] == "dmt":
        bits.append(f"ε {fields['epsilon']:g}")
        if fields["normalize"] != "pixels":
            bits.append(f"normalize {fields['normalize']}")
        if fields["structures_every"] != "step":
            bits.append(f"structures every {fields['structures_every']}")
        if fields["frame"]:
            bits.append("frame as boundary")
        if fields.get("rim"):
            bits.append("rim of 1")
    bits.append(f"{fields['steps']} steps")
    return ", ".join(bits)


def _scale(runs):
    plan = runs[0][1]["plan"]
    results = runs[0][1]
    data, pre = results["data"], plan["pretrain"]
    finetune = plan["arms"][plan["report"]["baseline"]]
    shapes = " and ".join("×".join(map(str, s)) for s in data["train_shapes"])
    colour = f", {data['channels']} channels" if data.get("channels", 1) > 1 else ""
    text = (f"{len(data['train'])} training and {len(data['validation'])} validation images of {shapes}"
            f"{colour} ({data['source']}")
    if data.get("kind") == "em-vnc":
        text += f"; labels downsampled by the thin rule: {data['cells_kept']}, at most " \
                f"{data['max_cell_difference']} cell(s) apart"
    text += (f"). U-Net width {pre['width']}, depth {pre['depth']}, {pre['norm']} norm; "
             f"patches {'×'.join(map(str, pre['patch_size']))}, batch {pre['batch_size']}; "
             f"{pre['steps']} BCE pretraining steps (lr {pre['lr']:g}, {pre['lr_schedule']}), then "
             f"{finetune['steps']} fine-tuning steps per arm (lr {finetune['lr']:g}, {finetune['lr_schedule']}) "
             f"from the same state. Metrics: {plan['metric_options']['n_patches']} Betti patches of "
             f"{plan['metric_options']['patch_size'] or 'default'} px per image; regions for ARE, VOI and cell "
             f"counts are the {data['regions']}'s components.")
    return text


def _machine_line(runs):
    machines = [r["machine"] for _, r in runs]
    machines += [e["machine"] for _, r in runs for e in r.get("extensions", [])]  # runs that added arms
    m = machines[0]
    line = (f"{m['platform']}, {m.get('processor', '?')}, {m.get('cpus_available', m['cpu_count'])} CPUs "
            f"available, torch {m['torch']} on {m['torch_threads']} thread(s)")
    if "cuda" in m:
        line += f", GPU {m['cuda']}"
    commits = sorted({mm.get("git_commit", "unknown") for mm in machines})
    return line + f"; commit {', '.join(commits)}"


def experiment_markdown(name, runs, figure_links, *, local=False):
    """The Markdown block of one experiment (between its markers in results.md).

    `figure_links` are (caption, link) of the figures in the docs; `local` says that the
    figures stay beside the runs instead (licensed data).
    """
    first = runs[0][1]
    plan = union_plan([r["plan"] for _, r in runs])
    report = plan["report"]
    baseline = report["baseline"]
    seeds = [r["seed"] for _, r in runs]
    arms = list(plan["arms"])
    seeds_of = {arm: [r["seed"] for _, r in runs if arm in r["rows"]] for arm in arms}
    groups = plan["groups"]
    n_images = len(first["images"])
    metrics = [(k, label, lower) for k, label, lower in METRICS
               if any(k in row for _, r in runs for row in r["rows"][baseline])]
    headline = report["betti"]
    lines = [f"*Generated by `python experiments/run.py report` on "
             f"{datetime.date.today().isoformat()} from {len(runs)} seed(s) ({', '.join(map(str, seeds))})"
             + ("; QUICK SMOKE RUN, NOT A RESULT" if first["quick"] else "")
             + ". Do not edit by hand: rerun the report.*", "",
             f"**Scale.** {_scale(runs)}", "",
             f"**Machine.** {_machine_line(runs)}.", ""]
    main = [arm for arm in arms if groups[arm] == "main"]
    n = len(runs) * n_images
    lines += [f"**Main comparison** — mean ± std over {len(runs)} seed(s) × {n_images} validation images "
              f"({n} values per arm); ↓ lower is better, ↑ higher is better.", ""]
    arrows = {True: " ↓", False: " ↑", None: ""}
    rows = [[label + arrows[lower], *[_fmt(_pooled(runs, arm, key)) for arm in main]]
            for key, label, lower in metrics]
    lines += [_markdown_table(["metric", *main], rows), ""]
    partial = [arm for arm in arms if seeds_of[arm] != seeds]
    if partial:
        lines += ["Arms run on some seeds only (their means and paired tests use those seeds): "
                  + "; ".join(f"{arm}: seed(s) {', '.join(map(str, seeds_of[arm]))}" for arm in partial)
                  + ".", ""]
    others = [arm for arm in main if arm != baseline]
    if others:
        lines += [f"**Paired differences from {baseline}** — mean of (arm − {baseline}) over the {n} "
                  f"(seed, image) pairs, (better/worse pairs, two-sided Wilcoxon signed-rank p); bold: "
                  f"p < 0.05.", ""]
        rows = [[label] + [_paired(runs, arm, baseline, key, lower) for arm in others]
                for key, label, lower in metrics if lower is not None]
        lines += [_markdown_table(["metric", *[f"{arm} − {baseline}" for arm in others]], rows), ""]
    lines += _paired_tables(runs, main, report.get("also_against", []), metrics, n)
    tested = [(path, {**r, "rows": r["test"]["rows"], "images": r["test"]["images"]}) for path, r in runs
              if "test" in r]
    if tested:
        n_test = sum(len(r["images"]) for _, r in tested)
        lines += [f"**Held-out test set** — evaluated once, after all training, never used to choose "
                  f"anything; {len(tested)} seed(s) × {len(tested[0][1]['images'])} test images "
                  f"({tested[0][1]['test']['path']}).", ""]
        rows = [[label + arrows[lower], *[_fmt(_pooled(tested, arm, key)) for arm in main]]
                for key, label, lower in metrics]
        lines += [_markdown_table(["metric", *main], rows), ""]
        lines += _paired_tables(tested, main, [baseline, *report.get("also_against", [])], metrics, n_test,
                                what="test ")
    keys = [k for k in (headline, "missing_holes", "extra_holes", "abs_cell_count_error", "are")
            if any(k == m[0] for m in metrics)]
    labels = {k: label for k, label, _ in metrics}
    for group, heading in (("ablation", "Ablation: epsilon and beta of the DMT-loss, from the same pretrained "
                                        "state"), ("explore", "Options explored")):
        chosen = [arm for arm in arms if groups[arm] == group]
        if not chosen:
            continue
        reference = [report["dmt"]] if group == "ablation" and report["dmt"] in arms else []
        lines += [f"**{heading}** — mean ± std over the arm's seeds × images; last column: paired "
                  f"difference of the {labels[headline]} from the arm named there, on the seeds both ran.", ""]
        rows = []
        for arm in reference + chosen:
            target = plan["compare_to"][arm]
            rows.append([arm, _arm_fields(plan, arm), ", ".join(map(str, seeds_of[arm])),
                         *[_fmt(_pooled(runs, arm, k)) for k in keys],
                         f"{target}: {_paired(runs, arm, target, headline, True)}"])
        lines += [_markdown_table(["arm", "settings", "seeds", *[labels[k] for k in keys], "vs"], rows,
                                  ["---", "---", "---", *["---:"] * len(keys), "---"]), ""]
    timing = []
    for arm in ["pretrain", *arms]:
        seconds = [r["seconds"][arm] for _, r in runs if arm in r["seconds"]]
        steps = next(r["steps"][arm] for _, r in runs if arm in r["steps"])
        mean = float(np.mean(seconds))
        timing.append([arm, steps, f"{mean:.0f}" if mean >= 100 else f"{mean:.1f}", f"{mean / steps:.3f}"])
    lines += ["**Training time** — wall-clock seconds per seed (mean over seeds), including "
              "the per-epoch checkpoints.", "",
              _markdown_table(["run", "steps", "seconds", "seconds per step"], timing), ""]
    for caption, link in figure_links:
        lines += [f"![{caption}]({link})", "", f"*{caption}*", ""]
    if local:
        lines += ["The figures of this experiment never enter the repository: the qualitative ones show "
                  "crops of the CC BY-NC-SA 3.0 data, and the others stay with them. `python "
                  "experiments/run.py report` draws or finds them beside the runs: the Betti error against "
                  "ε and β in the output folder (`NAME-betti-vs-epsilon.png`), and per seed "
                  "`figures/training.png` (training curves) and `figures/qualitative-*.png` (validation crops "
                  "of image, truth and every arm).", ""]
    return "\n".join(lines).rstrip() + "\n"


def _check_png(path, limit=200_000):
    size = pathlib.Path(path).stat().st_size
    if size > limit:
        print(f"warning: {path} is {size // 1000} kB, over {limit // 1000} kB", file=sys.stderr)


def replace_block(text, key, block, title):
    """`text` with `block` between ``<!-- BEGIN key -->`` and ``<!-- END key -->``.

    Without those markers, the block is appended under a new heading `title`.
    """
    begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
    if begin in text and end in text and text.index(begin) < text.index(end):
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        return head + begin + "\n" + block + end + tail
    return text.rstrip() + f"\n\n## {title}\n\n{begin}\n{block}{end}\n"


def write_report(paths, markdown=RESULTS_MD, figures=RESULTS_FIGURES, *, log=print):
    """Aggregate the results under `paths` into `markdown` and `figures` (see module docstring).

    Returns
    -------
    names : list of str
        The experiments reported.
    """
    experiments = read_results(paths)
    markdown, figures = pathlib.Path(markdown), pathlib.Path(figures)
    figures.mkdir(parents=True, exist_ok=True)
    text = markdown.read_text() if markdown.exists() else "# Results\n"
    for name, runs in sorted(experiments.items()):
        all_results = [r for _, r in runs]
        first_path, first = runs[0]
        baseline = all_results[0]["plan"]["report"]["baseline"]
        # every figure of licensed data (em-vnc: CC BY-NC-SA 3.0) stays with the runs, outside
        # the repository: the crops are the data themselves, and the plots stay with them
        if first["data"]["kind"] == "em-vnc":
            betti_figure(all_results, all_results[0]["plan"]["report"],
                         first_path.parent.parent / f"{name}-betti-vs-epsilon.png")
            text = replace_block(text, f"results:{name}", experiment_markdown(name, runs, [], local=True),
                                 first["title"])
            log(f"report: {name}: {len(runs)} seed(s) -> {markdown} (figures beside the runs)")
            continue
        links = []
        relative = pathlib.Path(os.path.relpath(figures, markdown.parent))
        betti = betti_figure(all_results, all_results[0]["plan"]["report"], figures / f"{name}-betti-vs-epsilon.png")
        if betti is not None:
            _check_png(betti)
            links.append((f"{name}: Betti error of the DMT arms against epsilon and beta, {baseline} as the "
                          "grey band", (relative / betti.name).as_posix()))
        captions = {
            "training": ("training loss of the pretraining and of every arm (each its own objective; clDice's "
                         "and weighted BCE's are on other scales) and the share of pixels in the DMT mask"),
            "qualitative-dmt-best": "the validation crop where the DMT arm gained most",
            "qualitative-dmt-worst": "the validation crop where the DMT arm lost most",
            "qualitative-random": "a validation crop drawn at random"}
        for stem, caption in captions.items():
            source = first_path.parent / "figures" / f"{stem}.png"
            if source.is_file():
                target = figures / f"{name}-{stem.removeprefix('qualitative-')}.png"
                shutil.copyfile(source, target)
                _check_png(target)
                extra = "" if stem == "training" else " (missed structure in vermilion, extra in blue)"
                links.append((f"{name}, seed {first['seed']}: {caption}{extra}", (relative / target.name).as_posix()))
        text = replace_block(text, f"results:{name}", experiment_markdown(name, runs, links),
                             first["title"])
        log(f"report: {name}: {len(runs)} seed(s) -> {markdown}")
    tmp = markdown.with_name(f".{markdown.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, markdown)
    return sorted(experiments)


# ----------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------

def _run_parser():
    parser = argparse.ArgumentParser(
        prog="python experiments/run.py",
        description="Run an experiment: for each seed, pretrain with BCE and fine-tune that state once per "
                    "arm (BCE, DMT, weighted BCE, clDice, ablations); write results.json, table.txt and "
                    "figures per seed. 'python experiments/run.py report DIR...' aggregates them into "
                    "docs/results.md.",
        epilog=f"experiments: {', '.join(experiment_names())} (experiments/configs/NAME.toml), or a path "
               "to a .toml file")
    parser.add_argument("experiment", help="experiment name or .toml path")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="the em-vnc or TopoMortar folder (default: the configuration's data.path, "
                             "relative to the repository root)")
    parser.add_argument("--test", default=None, metavar="PATH",
                        help="a held-out test folder of the data's own layout: every arm's final "
                             "checkpoint is evaluated on it once, after training, and reported apart")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, metavar="S",
                        help="seeds of the weights and patches (default: the configuration's seeds)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: experiments/runs/NAME, or NAME-quick)")
    parser.add_argument("--quick", action="store_true", help="merge the [quick] tables: a smoke test in seconds")
    parser.add_argument("--arms", nargs="+", default=None, metavar="ARM",
                        help=f"arms or groups ({', '.join(GROUPS)}) to run (default: all); the baseline "
                             "always runs")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change one configuration value (repeatable), e.g. train.width=8, arms.dmt.beta=4")
    explore = parser.add_argument_group("options to explore (each is a --set of [finetune], i.e. of every arm "
                                        "that does not set it itself)")
    explore.add_argument("--normalize", choices=("pixels", "mask"), default=None,
                         help="denominator of the DMT structure term")
    explore.add_argument("--structures-every", choices=("step", "epoch"), default=None,
                         help="recompute the DMT structures each step, or per epoch on whole images")
    explore.add_argument("--frame", action=argparse.BooleanOptionalAction, default=None,
                         help="treat the patch frame as closed (a basin boundary)")
    explore.add_argument("--finetune-steps", type=int, default=None, metavar="N",
                         help="fine-tuning steps of each arm (times its steps_factor)")
    explore.add_argument("--pretrain-steps", type=int, default=None, metavar="N", help="BCE pretraining steps")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default: the configuration's)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch threads and DMT engine workers (on a shared machine, 1 per process and "
                             "one process per seed is fastest)")
    parser.add_argument("--force", action="store_true",
                        help="rerun seeds whose results.json exists, and train every run again (without it, an "
                             "interrupted seed resumes from its runs' checkpoints)")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved plan and stop")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    parser.add_argument("--no-figures", dest="figures", action="store_false", help="no figures")
    return parser


def _report_parser():
    parser = argparse.ArgumentParser(
        prog="python experiments/run.py report",
        description="Aggregate the results.json of every seed under DIR... into docs/results.md (the block "
                    "between <!-- BEGIN results:NAME --> and <!-- END results:NAME -->) and the figures into "
                    "docs/figures/results/.")
    parser.add_argument("paths", nargs="+", metavar="DIR", help="output folders of runs (or results.json files)")
    parser.add_argument("--markdown", default=str(RESULTS_MD), metavar="PATH",
                        help="the Markdown file to update (default: docs/results.md)")
    parser.add_argument("--figures", default=str(RESULTS_FIGURES), metavar="DIR",
                        help="where figures go (default: docs/figures/results)")
    return parser


def _figures_parser(command="figures"):
    descriptions = {
        "figures": "Draw the figures of every seed under DIR... again from its checkpoints (nothing is "
                   "trained); for after a change of the figures' code.",
        "rescore": "Measure every seed under DIR... again from its saved likelihoods (nothing is trained): "
                   "rewrites the per-image rows of results.json (validation and test) and table.txt with "
                   "the metrics as they are now."}
    parser = argparse.ArgumentParser(prog=f"python experiments/run.py {command}", description=descriptions[command])
    parser.add_argument("paths", nargs="+", metavar="DIR", help="output folders of runs (or results.json files)")
    return parser


def _settings(args):
    settings = list(args.settings)
    for option, key in (("normalize", "finetune.normalize"), ("structures_every", "finetune.structures_every"),
                        ("finetune_steps", "finetune.steps"), ("pretrain_steps", "pretrain.steps"),
                        ("device", "train.device")):
        value = getattr(args, option)
        if value is not None:
            settings.append(f"{key}={json.dumps(value)}")
    if args.frame is not None:
        settings.append(f"finetune.frame={'true' if args.frame else 'false'}")
    if args.threads is not None:
        settings.append(f"train.workers={args.threads}")
    return settings


def _run(args):
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be >= 1; got {args.threads}")
    config = load_config(args.experiment, quick=args.quick, settings=_settings(args))
    if args.seeds is not None:
        config["seeds"] = list(args.seeds)
    if args.data is not None:
        if config.get("data", {}).get("kind") not in ("em-vnc", "topomortar"):
            raise ConfigError(f"--data: only em-vnc and TopoMortar experiments read a folder; {config['name']} "
                              f"generates its data")
        config["data"]["path"] = str(pathlib.Path(args.data).resolve())
    plan = make_plan(config, args.arms)
    seeds = config.get("seeds", [0])
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: each seed once; got {seeds}")
    out = pathlib.Path(args.out) if args.out else ROOT / "experiments" / "runs" / (
        plan.name + ("-quick" if args.quick else ""))
    if args.dry_run:
        print(json.dumps({"out": str(out), "seeds": seeds, **_plan_record(plan)}, indent=1,
                         default=_json_default))
        return 0
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    log = print
    start = time.perf_counter()
    try:
        data = load_data(plan.config)
    except (OSError, ValueError) as err:
        raise ConfigError(f"data: {err}") from None
    train_set, val_set, info = data
    test = None
    if args.test is not None:
        try:
            test = load_test(plan.config, args.test)
        except (OSError, ValueError) as err:
            raise ConfigError(f"--test: {err}") from None
        log(f"{plan.name}: test set of {len(test[0])} images from {args.test}, evaluated once after training")
    log(f"{plan.name}: {len(train_set)} training and {len(val_set)} validation images "
        f"({', '.join('x'.join(map(str, s)) for s in info['train_shapes'])}); arms {', '.join(plan.arms)}")
    if "cells_kept" in info:
        log(f"{plan.name}: labels downsampled {info['downsample']}x by the thin rule: {info['cells_kept']}")
    for seed in seeds:
        folder = out / f"seed-{seed}"
        previous = folder / "results.json"
        if previous.is_file() and not args.force:
            try:
                done = json.loads(previous.read_text())
                added = added_arms(done["plan"], _plan_record(plan))
            except (ValueError, KeyError, TypeError, AttributeError):
                added = None
            if added is None:
                raise ConfigError(f"{previous} holds a run of another configuration; pass --force to replace "
                                  f"it or choose another --out")
            if not added:
                log(f"{plan.name}: seed {seed} is done ({previous}); --force reruns it")
                continue
        else:
            done = None
        log(f"{plan.name}: seed {seed} -> {folder}")
        results = run_seed(plan, seed, folder, data=data, previous=done, progress=args.progress,
                           figures=args.figures, test=test, resume=not args.force,
                           log=lambda text, seed=seed: log(f"{plan.name} seed {seed}: {text}"))
        log(results["table"])
    log(f"{plan.name}: done in {time.perf_counter() - start:.0f} s; "
        f"report: python experiments/run.py report {out}")
    return 0


def main(argv=None):
    """Entry point: ``run.py EXPERIMENT [options]``, or ``run.py report|figures|rescore DIR...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "report":
            args = _report_parser().parse_args(argv[1:])
            write_report(args.paths, args.markdown, args.figures)
            return 0
        if argv and argv[0] == "figures":
            args = _figures_parser().parse_args(argv[1:])
            redraw_figures(args.paths)
            return 0
        if argv and argv[0] == "rescore":
            args = _figures_parser("rescore").parse_args(argv[1:])
            rescore(args.paths)
            return 0
        return _run(_run_parser().parse_args(argv))
    except ConfigError as err:
        print(f"run.py: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
