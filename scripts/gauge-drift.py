#!/usr/bin/env python3
"""How far each component's figure drifts between sets of runs, under each gauge.

    python3 scripts/gauge-drift.py NAME RUN_DIR... [-- NAME RUN_DIR...]...

Each set is a name and the run folders (or their run.json) made together; `--` starts
the next set. The first set is the reference. For every component and every gauge, one
median per run over its rounds (each round the geometric mean of the component's time
per call, divided by the gauge, over every turn of both architectures that calls it,
retried turns left out: the regression gate's reading), then per set the mean and the
standard deviation of those medians, in percent of the reference set's mean.

The gauges, each read in the same turn as the time per call:

- `none`: microseconds per call;
- `generator`: the load generator's CPU per request (on the other core);
- `system`: the system's CPU per request, every process of the architecture together
  (on the same core as the calls: the gate's gauge);
- `others`: the geometric mean of the other components' times per call.

A gauge that takes out what moves the machine keeps every clean set near 0 and moves a
slowed set by the slowdown; the gate's tolerance has to hold the clean sets' spread and
drift, and stay under the slowed sets' change.
"""
import json
import math
import pathlib
import statistics
import sys

COMPONENTS = ["catalog", "inventory", "cart", "payments", "orders", "recommendations"]
GAUGES = ["none", "generator", "system", "others"]


def standing_turns(run):
    interleaved = next(s for s in run["scenarios"] if s["scenario"] == "interleaved")
    for system in interleaved["systems"]:
        if system["system"] == "ceiling":
            continue
        for turn in system["turns"]:
            if not turn["measurement"]["retried"]:
                yield turn


def per_call_us(turn, component):
    time = turn["component_times"].get(component)
    if time and time["calls"]:
        return time["seconds"] * 1e6 / time["calls"]
    return None


def gauge(kind, turn, component):
    cost = turn["measurement"]["cost"]
    if kind == "none":
        return 1.0
    if kind == "generator":
        return cost.get("generator_cpu_us_per_request")
    if kind == "system":
        return cost.get("sut_cpu_us_per_request")
    others = [per_call_us(turn, c) for c in COMPONENTS if c != component]
    others = [o for o in others if o]
    return math.exp(sum(map(math.log, others)) / len(others)) if others else None


def run_median(run, component, kind):
    """The median over rounds of the round's geometric mean over its turns."""
    logs_by_round = {}
    for turn in standing_turns(run):
        us, by = per_call_us(turn, component), gauge(kind, turn, component)
        if us and by:
            logs_by_round.setdefault(turn["round"], []).append(math.log(us / by))
    values = [math.exp(sum(logs) / len(logs)) for logs in logs_by_round.values()]
    return statistics.median(values) if values else None


def read_sets(args):
    sets, name, runs = [], None, []
    for arg in args + ["--"]:
        if arg == "--":
            if name is not None:
                sets.append((name, runs))
            name, runs = None, []
        elif name is None:
            name = arg
        else:
            path = pathlib.Path(arg)
            path = path / "run.json" if path.is_dir() else path
            runs.append(json.loads(path.read_text()))
    return sets


def main():
    sets = read_sets(sys.argv[1:])
    if not sets or not all(runs for _, runs in sets):
        sys.exit(__doc__)
    header = "| component | gauge | " + " | ".join(
        f"{name} ({len(runs)})" for name, runs in sets
    ) + " |"
    print(header)
    print("| --- | --- |" + " ---: |" * len(sets))
    for component in COMPONENTS:
        for kind in GAUGES:
            medians = [
                [m for m in (run_median(r, component, kind) for r in runs) if m]
                for _, runs in sets
            ]
            if not medians[0]:
                continue
            reference = statistics.mean(medians[0])
            cells = []
            for values in medians:
                relative = [100 * (v / reference - 1) for v in values]
                spread = statistics.stdev(relative) if len(relative) > 1 else 0.0
                cells.append(f"{statistics.mean(relative):+.1f} ± {spread:.1f}")
            print(f"| {component} | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
