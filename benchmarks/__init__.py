"""asv benchmarks of dmtloss (``asv run``; see README, section Benchmarks).

``engines`` holds the asv suites; ``compare`` is a plain script that times the fast
engine against cripser and GUDHI in one process and prints a Markdown table.
"""
