#!/usr/bin/env python3
"""Run-to-run spread of each component's time per call in the interleaved scenario.

    python3 scripts/component-spread.py RESULTS/RUN_ID/run.json ...

For each (architecture, component): the median over a run's mix turns of its mean
time per call (us), one per run, and each run's distance from the median of those, in
percent. The regression gate's tolerances come from the same kind of spread
(`loadgen baseline`); this shows it per run, for runs no baseline holds.
"""
import json
import statistics
import sys

medians = {}
for path in sys.argv[1:]:
    run = json.load(open(path))
    interleaved = next(s for s in run["scenarios"] if s["scenario"] == "interleaved")
    for system in interleaved["systems"]:
        per_call = {}
        for turn in system["turns"]:
            if turn["measurement"]["retried"] or turn["workload"] != "mix":
                continue
            for component, time in turn["component_times"].items():
                if time["calls"]:
                    per_call.setdefault(component, []).append(time["seconds"] * 1e6 / time["calls"])
        for component, values in per_call.items():
            medians.setdefault((system["system"], component), []).append(statistics.median(values))

for (system, component), values in sorted(medians.items()):
    middle = statistics.median(values)
    runs = " ".join(f"{v:6.1f}" for v in values)
    spread = " ".join(f"{(v / middle - 1) * 100:+5.1f}" for v in values)
    print(f"{component:>16} ({system:8}) {runs}   %: {spread}")
