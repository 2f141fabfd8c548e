"""Machine-readable figures: every benchmark prints its headline ratios through `emit`, so
`run_all.py` collects them from any script's output without parsing its tables.

A ratio is always "how many times faster lamina is": the other side's time over lamina's
(or lamina's throughput over the other side's), so above 1 means lamina is ahead.
"""

import json

PREFIX = "RESULT "


def emit(workload, against, speedup, **extra):
    """Prints one result line: `RESULT {"workload": ..., "against": ..., "speedup": ...}`.

    `extra` carries figures that are not ratios (peak memory in MB, seconds of a first epoch),
    kept beside the ratio in the results file."""
    record = {"workload": workload, "against": against, "speedup": round(float(speedup), 4)}
    record.update(extra)
    print(PREFIX + json.dumps(record), flush=True)


def parse(output):
    """The result records in a benchmark's printed output, in order."""
    return [json.loads(line[len(PREFIX):]) for line in output.splitlines()
            if line.startswith(PREFIX)]
