"""``python -m dmtloss.conformance``: the golden runner (:mod:`dmtloss.conformance.runner`)."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
