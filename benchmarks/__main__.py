"""`make bench`: every benchmark, or those named (`program`, `lambda`, `drill`)."""

import sys

from benchmarks import drill, failover_calls, program

BENCHMARKS = {"program": program.main, "lambda": failover_calls.main, "drill": drill.main}

chosen = sys.argv[1:] or list(BENCHMARKS)
unknown = sorted(set(chosen) - set(BENCHMARKS))
if unknown:
    sys.exit(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
for name in chosen:
    BENCHMARKS[name]()
