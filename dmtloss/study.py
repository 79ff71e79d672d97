"""Compare losses the way the paper does: one pretrained network, fine-tuned once per loss.

A comparison of two losses is only fair when everything else is equal. :func:`compare_losses`
pretrains one network with BCE, then fine-tunes a copy of that same state with each loss
(same patches, same seed, same schedule), predicts the validation images with each, and
measures every metric of :mod:`dmtloss.metrics` on every image. Because all arms start
from the same weights and see the same patches, their per-image differences are paired:
:func:`format_table` reports, beside the paper's mean +- std, the mean paired
difference from the first arm, on how many images it went each way, and the two-sided
p-value of Wilcoxon's signed-rank test, so that a table cannot call noise an effect.

Complexity: the training runs, then one prediction and O(n log n) metrics per image and
arm.
"""

import dataclasses
import json
import math
import pathlib

import numpy as np

__all__ = ["Comparison", "compare_losses", "paired_test", "format_table", "TABLE_METRICS"]

#: The metrics of the table, in order: (key of :func:`dmtloss.metrics.image_metrics`,
#: label, whether lower is better).
TABLE_METRICS = (
    ("accuracy", "accuracy", False),
    ("dice", "DICE", False),
    ("are", "ARE (1 - ARI)", True),
    ("voi", "VOI", True),
    ("betti1", "Betti error b1", True),
    ("betti0", "Betti error b0", True),
    ("missing_holes", "missing holes", True),
    ("extra_holes", "extra holes", True),
    ("abs_cell_count_error", "|cell-count error|", True),
)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What :func:`compare_losses` measured.

    Attributes
    ----------
    arms : tuple of str
        The arms' names, the first being the baseline of the paired tests.
    rows : dict of str to list of dict
        Per arm, the per-image metrics (:func:`dmtloss.metrics.image_metrics`), plus
        ``"abs_cell_count_error"``.
    likelihoods : dict of str to list of ndarray
        Per arm, the predicted likelihood of each validation image.
    pretrained : pathlib.Path or None
        The checkpoint every arm started from.
    checkpoints : dict of str to pathlib.Path
        Per arm, its final checkpoint.
    seconds : dict of str to float
        Training time of the pretraining (``"pretrain"``) and of each arm.
    """

    arms: tuple
    rows: dict
    likelihoods: dict
    pretrained: object
    checkpoints: dict
    seconds: dict


def paired_test(baseline, other):
    """Paired comparison of two methods' per-image values.

    Parameters
    ----------
    baseline, other : sequence of float
        One value per image, in the same image order.

    Returns
    -------
    difference : float
        Mean of ``other - baseline``.
    better, worse : int
        Images on which `other` is lower / higher than `baseline` (ties count in
        neither).
    p_value : float
        Two-sided p-value of Wilcoxon's signed-rank test (exact for small samples,
        zero differences dropped); 1.0 when every difference is zero, NaN for fewer
        than two images.

    Raises
    ------
    ValueError
        If the sequences differ in length.

    Examples
    --------
    >>> d, lower, higher, p = paired_test([0.5, 0.6, 0.7, 0.4, 0.5, 0.6], [0.3, 0.4, 0.5, 0.3, 0.2, 0.4])
    >>> round(d, 3), lower, higher, round(p, 4)
    (-0.2, 6, 0, 0.0312)
    """
    from scipy import stats

    a = np.asarray(baseline, dtype=float)
    b = np.asarray(other, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"`baseline` and `other` must have the same length; got {a.size} and {b.size}")
    diff = b - a
    better, worse = int((diff < 0).sum()), int((diff > 0).sum())
    if a.size < 2:
        return float(diff.mean()) if a.size else math.nan, better, worse, math.nan
    if not diff.any():
        return 0.0, 0, 0, 1.0
    p_value = float(stats.wilcoxon(b, a, zero_method="wilcox").pvalue)
    return float(diff.mean()), better, worse, p_value


def _rows(likelihoods, dataset, metric_options):
    from . import metrics

    predictions = [lik >= 0.5 for lik in likelihoods]
    rows = metrics.image_metrics(predictions, list(dataset.targets), regions=dataset.regions,
                                 **metric_options)
    for row in rows:
        row["abs_cell_count_error"] = float(abs(row["cell_count_error"]))
    return rows


def _fit(training, config, train_set, folder, init, resume, progress, log, name):
    """Train one run into `folder`, or take it from its checkpoint there: (model, checkpoint, seconds, fresh)."""
    last = folder / "last.pt"
    if resume and last.is_file():
        model, saved, state = training.load_checkpoint(last)
        same = {k: v for k, v in saved.to_dict().items() if k not in training.RESUMABLE} == \
            {k: v for k, v in config.to_dict().items() if k not in training.RESUMABLE}
        if same and state["step"] >= config.steps:
            log(f"'{name}': finished earlier ({last}, step {state['step']}); not trained again")
            return model, last, float(sum(row.get("seconds", 0.0) for row in state["history"])), False
        if same:
            log(f"'{name}': resuming at step {state['step']} of {config.steps} from {last}")
            result = training.train(config, train_set, None, out_dir=folder, resume=True, progress=progress)
            return result.model, result.checkpoint, float(sum(row["seconds"] for row in result.history)), True
        log(f"'{name}': the checkpoint in {folder} is of another configuration; training again")
    result = training.train(config, train_set, None, out_dir=folder, init=init, overwrite=True, progress=progress)
    return result.model, result.checkpoint, result.seconds, True


def compare_losses(train_set, val_set, pretrain, arms, *, out_dir, init=None, progress=True,
                   predict_options=None, metric_options=None, log=None, resume=False):
    """Pretrain once with `pretrain`, fine-tune that state once per arm, measure each.

    Parameters
    ----------
    train_set, val_set : dmtloss.data.SegmentationSet
        Training and validation images.
    pretrain : dmtloss.train.TrainConfig or None
        The pretraining run (usually ``loss="bce"``); None: the arms start from `init`,
        or from scratch.
    arms : dict of str to dmtloss.train.TrainConfig
        The fine-tuning runs, in order; the first is the baseline of the paired tests.
    out_dir : str or os.PathLike
        Runs go to ``out_dir/pretrain`` and ``out_dir/<arm>``; the per-image metrics to
        ``out_dir/metrics.json``.
    init : str or os.PathLike, optional
        With ``pretrain=None``: a checkpoint every arm starts from (an earlier
        pretraining, to try more arms from the same state).
    progress : bool, optional
        Show progress bars.
    predict_options : dict, optional
        Passed to :func:`dmtloss.train.predict`.
    metric_options : dict, optional
        ``patch_size``, ``n_patches``, ``seed`` of the Betti error.
    log : callable, optional
        Called with one line of text at each stage.
    resume : bool, optional
        Take up the runs an earlier call left in `out_dir` (an interrupted process): a
        run whose ``last.pt`` holds the same configuration is resumed from it (exactly,
        see :func:`dmtloss.train.train`), or not trained again when it is finished. An
        arm is taken up only if the pretraining was finished before this call (so it
        started from this very state); otherwise every arm is trained again.

    Returns
    -------
    comparison : Comparison

    Raises
    ------
    ValueError
        If `arms` is empty or an arm's name is not a plain word.

    Examples
    --------
    >>> import tempfile
    >>> from dmtloss.data import synthetic_membranes
    >>> from dmtloss.train import TrainConfig
    >>> data = synthetic_membranes(2, (32, 32), seed=0)
    >>> config = TrainConfig(width=4, depth=2, patch_size=32, batch_size=2, steps=2, steps_per_epoch=2)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     c = compare_losses(data, data, config, {"bce": config}, out_dir=tmp, progress=False)
    >>> c.arms, len(c.rows["bce"])
    (('bce',), 2)
    """
    from . import train as training

    if not arms:
        raise ValueError("`arms` must name at least one fine-tuning run")
    for name in arms:
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"arm names must be plain words (letters, digits, - and _); got {name!r}")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda text: None)
    predict_options = dict(predict_options or {})
    metric_options = dict(metric_options or {})
    seconds, checkpoints, rows, likelihoods = {}, {}, {}, {}
    if pretrain is not None and init is not None:
        raise ValueError("`pretrain` and `init` exclude each other: give a run or a checkpoint")
    resume = bool(resume)
    if pretrain is not None:
        log(f"pretraining: {pretrain.steps} steps of {pretrain.loss}")
        _, init, seconds["pretrain"], fresh = _fit(training, pretrain, train_set, out / "pretrain", None, resume,
                                                   progress, log, "pretrain")
        resume = resume and not fresh  # arms left by an earlier call started from another state
    for name, config in arms.items():
        log(f"fine-tuning '{name}': {config.steps} steps of {config.loss}")
        model, checkpoints[name], seconds[name], _ = _fit(training, config, train_set, out / name, init, resume,
                                                          progress, log, name)
        likelihoods[name] = [training.predict(model, image, **predict_options) for image in val_set.images]
        rows[name] = _rows(likelihoods[name], val_set, metric_options)
    (out / "metrics.json").write_text(json.dumps(
        {"images": list(val_set.names), "seconds": seconds, "rows": rows}, indent=1))
    return Comparison(tuple(arms), rows, likelihoods, init, checkpoints, seconds)


def format_table(comparison, metrics=TABLE_METRICS, *, alpha=0.05):
    """The paper's table for a :class:`Comparison`, with paired tests against the first arm.

    Parameters
    ----------
    comparison : Comparison
        As returned by :func:`compare_losses`.
    metrics : sequence of (str, str, bool), optional
        (key, label, lower is better) of the rows to show.
    alpha : float, optional
        Significance level of the verdict column.

    Returns
    -------
    table : str
        One line per metric: mean +- std per arm, then for each further arm the mean
        paired difference, on how many images it was better / worse, Wilcoxon's p and
        a verdict (``better``, ``worse`` or ``no clear difference``).

    Examples
    --------
    >>> rows = {"a": [{"dice": 0.5}, {"dice": 0.6}], "b": [{"dice": 0.7}, {"dice": 0.8}]}
    >>> c = Comparison(("a", "b"), rows, {}, None, {}, {})
    >>> print(format_table(c, [("dice", "DICE", False)]))
    metric  a               b               b - a   b better/worse  p     verdict
    DICE    0.550 +- 0.050  0.750 +- 0.050  +0.200  2/0             0.50  no clear difference
    """
    arms = comparison.arms
    header = ["metric", *arms]
    for arm in arms[1:]:
        header += [f"{arm} - {arms[0]}", f"{arm} better/worse", "p", "verdict"]
    lines = [header]
    for key, label, lower in metrics:
        if key not in comparison.rows[arms[0]][0]:
            continue
        values = {arm: [row[key] for row in comparison.rows[arm]] for arm in arms}
        line = [label] + [f"{np.mean(values[arm]):.3f} +- {np.std(values[arm]):.3f}" for arm in arms]
        for arm in arms[1:]:
            diff, lower_count, higher_count, p = paired_test(values[arms[0]], values[arm])
            better, worse = (lower_count, higher_count) if lower else (higher_count, lower_count)
            if math.isnan(p) or p >= alpha or diff == 0:
                verdict = "no clear difference"
            else:
                verdict = "better" if (diff < 0) == lower else "worse"
            line += [f"{diff:+.3f}", f"{better}/{worse}", "n/a" if math.isnan(p) else f"{p:.2f}", verdict]
        lines.append(line)
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines)
