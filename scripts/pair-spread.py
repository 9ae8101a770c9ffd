#!/usr/bin/env python3
"""How far a build's turns stray from its reference's, round by round.

    python3 scripts/pair-spread.py RESULTS/RUN_ID/run.json ...

For runs of the interleaved scenario with a reference build (`loadgen run --reference`),
each round gives, per system (monolith, split) and workload (product page, mix), the
candidate's figure over the reference's of the same round: their CPU per request, and
their mean time per call of each component the turn called. This prints, for each, the
standard deviation of log(candidate / reference) over the rounds within each run, pooled
over the runs (the scatter a gate dividing one build by the other sees in one round),
and the geometric mean of the ratio. Before the duets (runs made at or before
`c505e64`) the two builds' turns came one after the other; since, at once.
"""
import json
import math
import sys
from collections import defaultdict


def turns(path):
    run = json.load(open(path))
    scenario = next(s for s in run["scenarios"] if s["scenario"] == "interleaved")
    found = {}
    for side in scenario["systems"]:
        build = side.get("build") or "candidate"
        for turn in side["turns"]:
            if turn["measurement"].get("retried"):
                continue
            key = (side["system"], turn["workload"], turn["round"])
            found.setdefault(build, {})[key] = turn
    return found


def figures(turn):
    yield "CPU per request", turn["measurement"]["cost"]["sut_cpu_us_per_request"]
    for component, time in sorted(turn["component_times"].items()):
        if time["calls"]:
            yield f"{component} time per call", time["seconds"] / time["calls"]


def main(paths):
    if not paths:
        sys.exit(__doc__)
    deviations, logs = defaultdict(list), defaultdict(list)
    for path in paths:
        builds = turns(path)
        if "reference" not in builds:
            sys.exit(f"{path}: no reference build")
        per_run = defaultdict(list)
        for key, turn in builds["candidate"].items():
            theirs = builds["reference"].get(key)
            if theirs is None:
                continue
            ours, reference = dict(figures(turn)), dict(figures(theirs))
            for name, value in ours.items():
                if reference.get(name):
                    per_run[(key[0], key[1], name)].append(math.log(value / reference[name]))
        for what, values in per_run.items():
            mean = sum(values) / len(values)
            deviations[what] += [v - mean for v in values]
            logs[what] += values
    print(f"{len(paths)} run(s)")
    print(f"{'system':9} {'workload':13} {'figure':34} {'sd of log':>9} {'ratio':>6} {'rounds':>6}")
    for what in sorted(deviations):
        devs = deviations[what]
        if len(devs) < len(paths) * 2:
            continue
        # Pooled within-run variance: each run loses one degree of freedom to its mean.
        sd = math.sqrt(sum(d * d for d in devs) / max(1, len(devs) - len(paths)))
        ratio = math.exp(sum(logs[what]) / len(logs[what]))
        print(f"{what[0]:9} {what[1]:13} {what[2]:34} {sd:9.3f} {ratio:6.3f} {len(devs):6}")


if __name__ == "__main__":
    main(sys.argv[1:])
