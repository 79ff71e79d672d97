"""One rank of the two-process DDP test of tests/test_train.py (run by torchrun).

Usage: ``python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py OUT_DIR``.
Every rank trains the tiny configuration of :func:`config` on :func:`dataset`; rank r
then saves its final model state to ``OUT_DIR/rank{r}.pt`` so that the test can check
that the ranks agree bit for bit and match ``OUT_DIR/run/last.pt``.
"""

import os
import sys

import numpy as np
import torch

from dmtloss.data._types import SegmentationSet
from dmtloss.train import TrainConfig, train


def dataset():
    """Two 24 x 24 images of random bright squares, the target their pixels above 0.5."""
    rng = np.random.default_rng(7)
    images = [rng.random((24, 24)).astype(np.float32) for _ in range(2)]
    return SegmentationSet(images, [image > 0.5 for image in images], ["a", "b"], "foreground", "ddp-test")


def config(batch_size=1):
    """The tiny run: group norm, so that the result does not depend on how the batch is split."""
    return TrainConfig(width=4, depth=2, norm="group", patch_size=16, batch_size=batch_size, steps=4,
                       steps_per_epoch=2, lr=1e-2, device="cpu", metric_n_patches=2, seed=3)


def main(out_dir):
    torch.set_num_threads(1)
    data = dataset()
    result = train(config(), data, data, out_dir=os.path.join(out_dir, "run"), progress=False)
    rank = int(os.environ["RANK"])
    torch.save({"model": result.model.state_dict(), "history": result.history,
                "world_size": int(os.environ["WORLD_SIZE"])}, os.path.join(out_dir, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
