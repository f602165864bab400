"""Run the `chemprop` CLI exactly as its console script does, timing imports and work apart.

Runs under the PEER venv's Python (benchmarks/.venv-peers/bin/python), never the project's:
    python _timed_chemprop.py TIMING_JSON train|predict [chemprop args...]
writes {"import_seconds", "run_seconds"} to TIMING_JSON. `run_seconds` is the time spent in
`chemprop.cli.main.main()` after its imports: data loading, featurization, training or
inference, and writing outputs, i.e. the CLI's work without Python start-up.
"""

import json
import sys
import time

t0 = time.perf_counter()
from chemprop.cli.main import main  # the import is what is being timed

t1 = time.perf_counter()
timing_path = sys.argv[1]
sys.argv = ["chemprop", *sys.argv[2:]]
main()
t2 = time.perf_counter()
with open(timing_path, "w") as fh:
    json.dump({"import_seconds": t1 - t0, "run_seconds": t2 - t1}, fh)
