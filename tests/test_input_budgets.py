"""Sizes are checked before anything large is allocated (issue 18, items 2 and 11).

Memory is capped with ``resource.setrlimit(RLIMIT_AS)`` in a child process, a few
hundred MB above what the child has mapped once its imports are done: whatever the
machine's size, a refusal that came after a large copy would end in a MemoryError
there, not in our message.
"""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from dmtloss import DMTLoss

resource = pytest.importorskip("resource")

_CHILD = """
import os, resource, sys
import numpy as np
import torch
torch.set_num_threads(1)
from dmtloss import DMTLoss, fast, reference
from dmtloss.loss import dmt_mask
from dmtloss.reference._validation import as_batch, as_likelihood

def mapped():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))

headroom = int(sys.argv[1]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (mapped() + headroom, resource.getrlimit(resource.RLIMIT_AS)[1]))

def refused(call, *words):
    try:
        call()
    except MemoryError:
        print("MemoryError")
        return
    except ValueError as err:
        assert all(w in str(err) for w in words), str(err)
        print("refused")
        return
    print("accepted")
"""


def _capped(body, headroom_mb=300):
    """Run `body` after _CHILD in a fresh interpreter whose address space is capped."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc to measure the child's mapped memory")
    script = _CHILD + textwrap.dedent(body)
    env = dict(os.environ, MALLOC_ARENA_MAX="1", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script, str(headroom_mb)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_cap_is_real():
    # the harness itself: a 1 GB copy does fail under the cap
    assert _capped("refused(lambda: np.ones(2**27))") == ["MemoryError"]


def test_a_broadcast_view_too_large_is_refused_before_the_float64_copy():
    # 9000^2 uint8 broadcast from one byte: the old check copied it to 648 MB of float64 first
    got = _capped("""
        view = np.broadcast_to(np.uint8(3), (9000, 9000))
        refused(lambda: as_likelihood(view), "`likelihood` is too large", "(9000, 9000)", "MAX_PIXELS")
        refused(lambda: fast.morse_structures(view), "too large")
        refused(lambda: reference.morse_structures(view), "too large")
        big = np.broadcast_to(np.int64(3), (20000, 20000))
        refused(lambda: as_likelihood(big), "`likelihood` is too large", "400000000 pixels")
        refused(lambda: as_batch(np.broadcast_to(np.uint8(1), (4, 9000, 9000))), "`likelihoods[0]` is too large")
        refused(lambda: fast.morse_structures_batch(np.broadcast_to(np.float32(0.5), (2, 9000, 9000))),
                "too large")
    """)
    assert got == ["refused"] * 6


def test_a_batch_is_checked_whole_before_any_image_is_converted():
    # the last image has a NaN: refused before the others are copied (3 x 128 MB of float64)
    got = _capped("""
        values = np.zeros((3, 1, 1), np.float32); values[2] = np.nan
        batch = np.broadcast_to(values, (3, 4000, 4000))
        refused(lambda: as_batch(batch), "`likelihoods[2]` must be finite", "16000000 NaN")
        refused(lambda: fast.morse_structures_batch(batch), "`likelihoods[2]` must be finite")
    """)
    assert got == ["refused"] * 2


def test_dmtloss_on_a_map_too_large_is_refused_before_its_float64_copy():
    # the old path made a bool temporary, then 648 MB of float64, then a copy per map
    got = _capped("""
        logits = torch.zeros(1).expand(1, 1, 9000, 9000)
        target = torch.zeros(1).expand(1, 1, 9000, 9000)
        refused(lambda: DMTLoss()(logits, target), "`input` maps are too large", "(9000, 9000)", "MAX_PIXELS")
        refused(lambda: dmt_mask(torch.zeros(1).expand(2, 1, 20000, 20000)), "`input` maps are too large")
    """)
    assert got == ["refused"] * 2


def test_from_logits_warns_once_when_every_value_is_a_probability():
    loss = DMTLoss()
    probabilities = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    target = torch.zeros(2, 1, 8, 8)
    with pytest.warns(UserWarning, match=r"every value is in \[0, 1\].*from_logits=False"):
        loss(probabilities, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(probabilities, target)  # once per instance
        DMTLoss()(probabilities * 8 - 4, target)  # logits of both signs: no warning
        DMTLoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))  # a constant map says nothing
        DMTLoss(from_logits=False)(probabilities, target)
    with pytest.warns(UserWarning, match="every value is in"):
        DMTLoss()(probabilities, target)  # a new instance warns again
