#!/usr/bin/env python3
"""Run-to-run spread of each component's time per call in the interleaved scenario.

    python3 scripts/component-spread.py [--gauge system|generator] RESULTS/RUN_ID/run.json ...

For each component, one median per run over its mix turns (retried turns left out),
read three ways:

- `us (monolith)`, `us (split)`: its mean time per call in microseconds;
- `gauged (mix)`: each architecture's time per call over the gauge, read in the same
  turn: the system's CPU per request (every process of the architecture; the gate's
  gauge, and the default) or, with `--gauge generator`, the load generator's (the gate's
  gauge before stop 16); the two architectures' mix turns taken together (geometric
  mean) round by round;
- `gauged (all)`: the regression gate's figure, the same over every turn that calls the
  component (the product page's turns too, where it is called there).

Each run's median is then shown as its distance from the median of all the runs, in
percent, and the standard deviation of the medians relative to their mean: the run-level
noise that sets the gate's tolerances (`loadgen baseline`), shown per run for runs no
baseline holds. Beside it, what the rounds' own scatter within a run predicts for the
standard deviation of a median of them (1.253 sd / sqrt(rounds), for normal noise): when
the two agree, more turns per run narrow the gate, not more runs.
"""
import json
import math
import statistics
import sys


def turns_of(run, system, workload):
    interleaved = next(s for s in run["scenarios"] if s["scenario"] == "interleaved")
    turns = next(s["turns"] for s in interleaved["systems"] if s["system"] == system)
    return {
        t["round"]: t
        for t in turns
        if t["workload"] == workload and not t["measurement"]["retried"]
    }


def gauged_rounds(turns, component, workloads):
    """Per round, the geometric mean of the gauged times over both architectures and
    `workloads`; a round missing one of those turns is left out."""
    values = []
    for round_ in turns[("monolith", "mix")]:
        logs = []
        for system in ("monolith", "split"):
            for workload in workloads:
                turn = turns[(system, workload)].get(round_)
                value = turn and gauged(turn, component)
                if not value:
                    break
                logs.append(math.log(value))
        if len(logs) == 2 * len(workloads):
            values.append(math.exp(sum(logs) / len(logs)))
    return values


def per_call_us(turn, component):
    time = turn["component_times"].get(component)
    if time and time["calls"]:
        return time["seconds"] * 1e6 / time["calls"]
    return None


GAUGES = {"system": "sut_cpu_us_per_request", "generator": "generator_cpu_us_per_request"}
arguments = sys.argv[1:]
gauge = "system"
if arguments[:1] == ["--gauge"]:
    gauge = arguments[1] if len(arguments) > 1 else ""
    arguments = arguments[2:]
if gauge not in GAUGES or not arguments:
    sys.exit(__doc__)


def gauged(turn, component):
    us = per_call_us(turn, component)
    by = turn["measurement"]["cost"].get(GAUGES[gauge])
    return us / by if us and by else None


rounds = {}
for path in arguments:
    run = json.load(open(path))
    turns = {
        (system, workload): turns_of(run, system, workload)
        for system in ("monolith", "split")
        for workload in ("product-page", "mix")
    }
    mix = {system: turns[(system, "mix")] for system in ("monolith", "split")}
    components = sorted({c for t in mix["monolith"].values() for c in t["component_times"]})
    for component in components:
        for system in ("monolith", "split"):
            values = [v for t in mix[system].values() if (v := per_call_us(t, component))]
            if values:
                rounds.setdefault((component, f"us ({system})"), []).append(values)
        on_page = any(
            gauged(t, component) for t in turns[("monolith", "product-page")].values()
        )
        readings = [("gauged (mix)", ["mix"])]
        readings.append(("gauged (all)", ["product-page", "mix"] if on_page else ["mix"]))
        for reading, workloads in readings:
            values = gauged_rounds(turns, component, workloads)
            if values:
                rounds.setdefault((component, reading), []).append(values)

for (component, reading), runs in sorted(rounds.items()):
    values = [statistics.median(r) for r in runs]
    middle = statistics.median(values)
    distances = [(v / middle - 1) * 100 for v in values]
    sd = statistics.stdev(values) / statistics.mean(values) * 100 if len(values) > 1 else float("nan")
    # What the rounds' own scatter predicts for a median of them: 1.253 sd / sqrt(n).
    scatter = [statistics.stdev([math.log(v) for v in r]) for r in runs if len(r) > 1]
    n = statistics.median(len(r) for r in runs)
    expected = 1.2533 * statistics.median(scatter) / math.sqrt(n) * 100 if scatter else float("nan")
    shown = " ".join(f"{v:7.3f}" if v < 10 else f"{v:7.1f}" for v in values)
    spread = " ".join(f"{d:+5.1f}" for d in distances)
    print(f"{component:>16} {reading:14} {shown}   %: {spread}   sd {sd:4.1f}% (rounds predict {expected:4.1f}%)")
