"""asv benchmarks of dmtloss (``asv run``; see README, section Benchmarks).

``engines``, ``loss`` and ``training`` hold the asv suites (the engines against cripser
and GUDHI; the loss against plain BCE and a small U-Net training step; the Betti error
of a short seeded training with BCE and with the DMT-loss); ``compare`` and
``compare_loss`` are plain scripts that time the same things side by side (``compare``
in a fresh process per image size) and print Markdown tables with the ratios.
"""
