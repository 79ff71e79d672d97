"""dmtloss conformance suite: test any discrete-Morse / cubical-persistence implementation
against the contract of ``docs/spec.md``, with ``dmtloss.reference`` as the oracle.

Installed as ``dmtloss.conformance`` (``pip install dmtloss[conformance]``); run it with
``DMTLOSS_IMPL=<dotted path or command:CMD> python -m pytest --pyargs dmtloss.conformance``,
or check the golden corpus alone with ``python -m dmtloss.conformance --command CMD``.
See ``docs/conformance.md``.

=============================================  ==========================================
:mod:`dmtloss.conformance.impl`                loading the implementation, the adapter protocol
:mod:`dmtloss.conformance.protocol`            the JSON-lines subprocess protocol, its adapter
:mod:`dmtloss.conformance.loopback`            the reference served through that protocol
:mod:`dmtloss.conformance.assertions`          the checks, messages and reproducers
:mod:`dmtloss.conformance.strategies`          hypothesis strategies
:mod:`dmtloss.conformance.golden`              the golden corpus, its generator's cases
:mod:`dmtloss.conformance.peers`               GUDHI's and CubicalRipser's own test cases
:mod:`dmtloss.conformance.runner`              the golden runner (``python -m dmtloss.conformance``)
:mod:`dmtloss.conformance.adapters`            pass-throughs, GUDHI, CubicalRipser
:mod:`dmtloss.conformance.broken`              broken twins the suite must catch
=============================================  ==========================================
"""
