#!/usr/bin/env python3
"""Run-to-run spread of each component's time per call in the interleaved scenario.

    python3 scripts/component-spread.py RESULTS/RUN_ID/run.json ...

For each component, one median per run over its mix turns (retried turns left out),
read three ways:

- `us (monolith)`, `us (split)`: its mean time per call in microseconds;
- `gauged (both)`: the regression gate's figure, each architecture's time per call over
  the load generator's CPU per request in the same turn, the two architectures' values
  taken together (geometric mean) round by round.

Each run's median is then shown as its distance from the median of all the runs, in
percent, and the standard deviation of the medians relative to their mean: the run-level
noise that sets the gate's tolerances (`loadgen baseline`), shown per run for runs no
baseline holds.
"""
import json
import math
import statistics
import sys


def mix_turns(run, system):
    interleaved = next(s for s in run["scenarios"] if s["scenario"] == "interleaved")
    turns = next(s["turns"] for s in interleaved["systems"] if s["system"] == system)
    return {
        t["round"]: t
        for t in turns
        if t["workload"] == "mix" and not t["measurement"]["retried"]
    }


def per_call_us(turn, component):
    time = turn["component_times"].get(component)
    if time and time["calls"]:
        return time["seconds"] * 1e6 / time["calls"]
    return None


def gauged(turn, component):
    us = per_call_us(turn, component)
    generator = turn["measurement"]["cost"].get("generator_cpu_us_per_request")
    return us / generator if us and generator else None


medians = {}
for path in sys.argv[1:]:
    run = json.load(open(path))
    turns = {system: mix_turns(run, system) for system in ("monolith", "split")}
    components = sorted({c for t in turns["monolith"].values() for c in t["component_times"]})
    for component in components:
        for system in ("monolith", "split"):
            values = [v for t in turns[system].values() if (v := per_call_us(t, component))]
            if values:
                medians.setdefault((component, f"us ({system})"), []).append(statistics.median(values))
        both = []
        for round_, mono in turns["monolith"].items():
            split = turns["split"].get(round_)
            m, s = gauged(mono, component), split and gauged(split, component)
            if m and s:
                both.append(math.sqrt(m * s))
        if both:
            medians.setdefault((component, "gauged (both)"), []).append(statistics.median(both))

for (component, reading), values in sorted(medians.items()):
    middle = statistics.median(values)
    distances = [(v / middle - 1) * 100 for v in values]
    sd = statistics.stdev(values) / statistics.mean(values) * 100 if len(values) > 1 else float("nan")
    runs = " ".join(f"{v:7.3f}" if v < 10 else f"{v:7.1f}" for v in values)
    spread = " ".join(f"{d:+5.1f}" for d in distances)
    print(f"{component:>16} {reading:14} {runs}   %: {spread}   sd {sd:4.1f}%")
