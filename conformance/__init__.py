"""dmtloss conformance suite: test any discrete-Morse / cubical-persistence implementation
against the contract of ``docs/spec.md``, with ``dmtloss.reference`` as the oracle.

Run it with ``DMTLOSS_IMPL=<dotted path> python -m pytest conformance``; see
``docs/conformance.md`` for the adapter protocol, the levels and the golden corpus.
"""
