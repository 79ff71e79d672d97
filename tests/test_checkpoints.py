"""Checkpoints an attacker or a crash could leave: every entry validated before anything is
built, a parameter budget, torch's advice never passed on; run folders after interruptions."""

import copy

import numpy as np
import pytest
import torch

import dmtloss.train as train_module
from dmtloss.data._types import SegmentationSet
from dmtloss.models import UNet
from dmtloss.train import MAX_PARAMETERS, TrainConfig, load_checkpoint, train, unet_parameters


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint of a tiny run (two epochs, a validation set, Adam)."""
    image = np.zeros((8, 8), np.float32)
    image[2:6, 2:6] = 1
    data = SegmentationSet([image], [image > 0.5], ["a"], "foreground", "example")
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(width=2, depth=2, patch_size=4, batch_size=2, steps=2, steps_per_epoch=1,
                         metric_n_patches=2, device="cpu")
    train(config, data, data, out_dir=out, progress=False)
    return torch.load(out / "last.pt", weights_only=True)


def _broken(saved, tmp_path, change):
    state = copy.deepcopy(saved)
    change(state)
    torch.save(state, tmp_path / "bad.pt")
    return tmp_path / "bad.pt"


def _pop(key):
    return lambda s: s.pop(key)


def _set(*path_and_value):
    *path, value = path_and_value

    def change(state):
        for key in path[:-1]:
            state = state[key]
        state[path[-1]] = value

    return change


@pytest.mark.parametrize("change, words", [
    (_pop("config"), ["no 'config' entry", "a dict of TrainConfig fields"]),
    (_pop("model_config"), ["no 'model_config' entry"]),
    (_pop("model"), ["no 'model' entry"]),
    (_pop("rng"), ["no 'rng' entry"]),
    (_pop("optimizer"), ["no 'optimizer' entry"]),
    (_set("config", "x"), ["`config` must be a dict of TrainConfig fields; got 'x'"]),
    (_set("config", "width", "2"), ["`config` is not a valid TrainConfig", "`width` must be an int"]),
    (_set("config", "loss", "evil"), ["`config` is not a valid TrainConfig", "`loss` must be one of"]),
    (_set("config", "width", 4096), ["`config`", "width` 4096", "MAX_PARAMETERS"]),
    (_set("model_config", [1, 2]), ["`model_config` must be a dict of the U-Net's arguments; got list"]),
    (_set("model_config", "width", "2"), ["`model_config['width']` must be an int >= 1; got '2'"]),
    (_set("model_config", "ndim", torch.zeros(2)), ["`model_config['ndim']` must be 2 or 3"]),
    (_set("model_config", "norm", None), ["`model_config['norm']` must be one of"]),
    (_set("model_config", "width", 3), ["`model_config` must be the network of its `config`"]),
    (_set("model", None), ["`model` must be a dict of tensors"]),
    (_set("model", "head.weight", torch.zeros(3)), ["`model['head.weight']`", "shape (1, 2, 1, 1)", "(3,)"]),
    (_set("model", "head.weight", [0.0]), ["`model['head.weight']` must be", "got list"]),
    (_set("model", "head.weight", torch.zeros(1, 2, 1, 1, dtype=torch.float64)), ["torch.float32"]),
    (_set("model", "extra", torch.zeros(1)), ["`model` must be the state dict", "unknown ['extra']"]),
    (_set("optimizer", 3), ["`optimizer` must be a dict of the keys 'param_groups' and 'state'"]),
    (_set("optimizer", "state", 0, "exp_avg", torch.zeros(7)), ["`optimizer['state'][0]['exp_avg']`", "(7,)"]),
    (_set("optimizer", "state", 99, {}), ["`optimizer['state']` must be keys from 0 to"]),
    (_set("optimizer", "param_groups", 0, "lr", "fast"), ["`optimizer['param_groups'][0]['lr']`", "'fast'"]),
    (_set("optimizer", "param_groups", 0, "betas", 0.9), ["['betas']` must be a tuple of 2 numbers"]),
    (_set("optimizer", "param_groups", 0, "params", [0]), ["parameter indices 0 to", "once each"]),
    (_set("rng", "torch", torch.zeros(3, dtype=torch.uint8)), ["`rng['torch']` must be a torch.uint8 tensor"]),
    (_set("rng", "numpy", "keys", torch.zeros(5, dtype=torch.int64)), ["`rng['numpy']['keys']`", "(624,)"]),
    (_set("rng", "numpy", "pos", 10 ** 6), ["`rng['numpy']['pos']` must be an int from 0 to 624"]),
    (_set("rng", "python", "state", [1, 2, 3]), ["`rng['python']` must be a state of Python's random"]),
    (_set("rng", "python", "state", "x"), ["`rng['python']['state']` must be a list of ints"]),
    (_set("rng", "cuda", "x"), ["`rng['cuda']` must be a list of tensors"]),
    (_set("step", -1), ["`step` must be an int from 0 to 2; got -1"]),
    (_set("step", 2.0), ["`step` must be an int"]),
    (_set("epoch", 5), ["`epoch` must be an int from 0 to 2; got 5"]),
    (_set("history", [1, 2]), ["`history[0]` must be a dict"]),
    (_set("history", []), ["`history` must be a list of 2 dicts"]),
    (_set("best", {"metric": ["dice"], "value": 1.0, "epoch": 1}), ["`best` must be None or a dict"]),
    (_set("best", "value", float("nan")), ["`best['value']` must be a finite real number"]),
    (_set("world_size", 0), ["`world_size` must be an int >= 1"]),
    (_set("version", 2), ["has checkpoint version 2", "reads version 1"]),
    (_set("version", torch.zeros(2)), ["has checkpoint version a torch.float32 tensor"]),
    (_set("format", torch.zeros(2)), ["is not a dmtloss checkpoint"]),
])
def test_hostile_checkpoints_are_refused_naming_the_entry(saved, tmp_path, change, words):
    path = _broken(saved, tmp_path, change)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"`path`: {path}") and "\n" not in message, message
    for word in words:
        assert word in message, message


def test_a_huge_network_is_refused_before_it_is_built(saved, tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(UNet, "__init__", lambda self, *a, **k: built.append(k) or torch.nn.Module.__init__(self))

    def huge(state):
        state["model_config"].update(width=4096, depth=6)
        state["config"].update(width=4096, depth=6)

    with pytest.raises(ValueError, match=r"4096 and `?depth`? 6 has at least 151,048,192 parameters; "
                                         r"at most MAX_PARAMETERS = 100,000,000"):
        load_checkpoint(_broken(saved, tmp_path, huge))
    assert built == []


def test_the_valid_checkpoint_still_loads(saved, tmp_path):
    model, config, state = load_checkpoint(_broken(saved, tmp_path, lambda s: None))
    assert config.width == 2 and state["step"] == 2
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved["model"][key]), key


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04" + b"\0" * 40])
def test_corrupt_files_never_pass_on_torchs_advice(tmp_path, content):
    (tmp_path / "junk.pt").write_bytes(content)
    with pytest.raises(ValueError, match="cannot read checkpoint") as info:
        load_checkpoint(tmp_path / "junk.pt")
    assert "weights_only" not in str(info.value) and "\n" not in str(info.value)


def test_pickled_objects_are_refused_without_torchs_advice(tmp_path):
    torch.save({"format": "dmtloss-checkpoint", "payload": SegmentationSet}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="holds Python objects other than tensors") as info:
        load_checkpoint(tmp_path / "evil.pt")
    assert "weights_only" not in str(info.value)


def test_truncated_checkpoint(saved, tmp_path):
    path = _broken(saved, tmp_path, lambda s: None)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="cannot read checkpoint .*corrupt, truncated"):
        load_checkpoint(path)


def test_oversized_files_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "_MAX_CHECKPOINT_BYTES", 10)
    (tmp_path / "big.pt").write_bytes(b"x" * 11)
    with pytest.raises(ValueError, match="has 11 bytes; a checkpoint of at most MAX_PARAMETERS"):
        load_checkpoint(tmp_path / "big.pt")


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("norm", ["batch", "instance", "group", "none"])
@pytest.mark.parametrize("up", ["transpose", "upsample"])
def test_parameter_count_is_that_of_the_built_network(ndim, norm, up):
    for width, depth, cin, cout in [(1, 1, 1, 1), (3, 2, 2, 3), (4, 3, 1, 1)]:
        net = UNet(ndim, cin, cout, width, depth, norm=norm, up=up)
        assert unet_parameters(ndim, cin, cout, width, depth, norm=norm, up=up) == \
            sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(ndim=4), ValueError, "`ndim` must be 2 or 3; got 4"),
    (dict(ndim="2"), TypeError, "`ndim` must be 2 or 3"),
    (dict(width=0), ValueError, "`width` must be >= 1"),
    (dict(depth=2.5), TypeError, "`depth`"),
    (dict(norm="layer"), ValueError, "`norm` must be one of"),
    (dict(up=None), TypeError, "`up`"),
])
def test_parameter_count_refuses_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        unet_parameters(**kwargs)


def test_parameter_budget_of_the_config():
    assert unet_parameters(2, width=64, depth=5) < MAX_PARAMETERS  # Ronneberger et al.'s U-Net fits
    with pytest.raises(ValueError, match=r"a 2-D U-Net of `width` 512 and `depth` 8 has at least .* MAX_PARAMETERS"):
        TrainConfig(width=512, depth=8)
    with pytest.raises(ValueError, match="MAX_PARAMETERS"):
        TrainConfig(width=1, depth=10 ** 9)  # answered at once, without counting a billion levels


# -- run folders after interruptions and kills -----------------------------------------------

@pytest.fixture
def data():
    image = np.zeros((8, 8), np.float32)
    image[2:6, 2:6] = 1
    return SegmentationSet([image], [image > 0.5], ["a"], "foreground", "example")


_LR = train_module._lr


def _interrupt_at_step(monkeypatch, step):
    def lr(config, s):
        if s == step:
            raise KeyboardInterrupt
        return _LR(config, s)

    monkeypatch.setattr(train_module, "_lr", lr)


def test_an_interrupted_first_epoch_leaves_no_empty_run_folder(tmp_path, monkeypatch, data):
    _interrupt_at_step(monkeypatch, 1)
    config = TrainConfig(width=2, depth=1, patch_size=4, batch_size=1, steps=4, steps_per_epoch=2, device="cpu")
    with pytest.raises(KeyboardInterrupt):
        train(config, data, out_dir=tmp_path / "new" / "run", progress=False)
    assert not (tmp_path / "new" / "run").exists()
    # a folder the user made is theirs: it stays
    (tmp_path / "mine").mkdir()
    with pytest.raises(KeyboardInterrupt):
        train(config, data, out_dir=tmp_path / "mine", progress=False)
    assert (tmp_path / "mine").is_dir()
    # after the first checkpoint, the folder and the checkpoint stay
    _interrupt_at_step(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        train(config, data, out_dir=tmp_path / "later", progress=False)
    assert load_checkpoint(tmp_path / "later" / "last.pt")[2]["step"] == 2


def test_stale_temporary_files_are_removed_on_the_next_run(tmp_path, data):
    config = TrainConfig(width=2, depth=1, patch_size=4, batch_size=1, steps=2, steps_per_epoch=1, device="cpu")
    train(config, data, out_dir=tmp_path, max_epochs=1, progress=False)
    stale = [tmp_path / ".last.pt.abc123.tmp", tmp_path / ".history.json.x.tmp", tmp_path / ".best.pt.1.tmp"]
    for path in stale:
        path.write_bytes(b"half a checkpoint")
    (tmp_path / "notes.tmp").write_text("the user's")
    train(config, data, out_dir=tmp_path, resume=True, progress=False)
    assert not any(path.exists() for path in stale)
    assert (tmp_path / "notes.tmp").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json", "last.pt", "log.csv", "notes.tmp"]


_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2 ** 30, 3 * 2 ** 30))  # 3 GiB of address space in all
from dmtloss.train import load_checkpoint
try:
    load_checkpoint(sys.argv[1])
except ValueError as err:
    print(err)
"""


def test_a_huge_network_is_refused_under_a_memory_cap(saved, tmp_path):
    import subprocess
    import sys

    def huge(state):  # a network of some 10^11 parameters, in a file of a few kB
        state["model_config"].update(width=4096, depth=6)
        state["config"].update(width=4096, depth=6)

    path = _broken(saved, tmp_path, huge)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    assert "MAX_PARAMETERS = 100,000,000" in done.stdout
