"""``python -m bench``: every benchmark in one run (see bench/suite.py, docs/benchmarks.md)."""

import sys

from bench.suite import main

sys.exit(main())
