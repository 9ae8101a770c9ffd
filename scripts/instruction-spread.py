#!/usr/bin/env python3
"""How much the hot paths' instruction counts move between runs of one build.

Runs `monolith/benches/instructions.rs` (gungraun, under Callgrind) RUNS times and prints,
for each path, the median count, the count per call and how far the lowest and highest
run lie from the median. The spread comes from hash tables seeded at random; the
tolerance in `scripts/instructions.sh` is set from it.

    scripts/instruction-spread.py [RUNS]        (default 10; gungraun-runner on PATH,
                                                 as scripts/instructions.sh installs it)
"""

import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CALLS = 100  # per benchmark, as `CALLS` in the bench


def main() -> int:
    try:
        runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    except ValueError:
        runs = 0
    if runs < 2 or len(sys.argv) > 2:
        print("usage: scripts/instruction-spread.py [RUNS]  (a whole number, 2 or more)",
              file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as home:
        for run in range(1, runs + 1):
            print(f"run {run} of {runs}", file=sys.stderr)
            subprocess.run(
                ["cargo", "bench", "--locked", "-q", "-p", "monolith", "--bench", "instructions",
                 "--", f"--home={home}", f"--save-baseline=run{run}"],
                cwd=root, check=True, stdout=subprocess.DEVNULL)
        counts: dict[str, list[int]] = {}
        for out in sorted(Path(home).rglob("*.out.base@run*")):
            summary = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
            if summary is None:
                print(f"{out}: no summary line", file=sys.stderr)
                return 1
            counts.setdefault(out.parent.name, []).append(int(summary.group(1)))
    print(f"{'path':<28} {'runs':>4} {'median':>12} {'per call':>9} {'lowest':>8} {'highest':>8}")
    for path, found in counts.items():
        median = statistics.median(found)
        low, high = (100 * (x / median - 1) for x in (min(found), max(found)))
        print(f"{path:<28} {len(found):>4} {median:>12,.0f} {median / CALLS:>9,.0f}"
              f" {low:>+7.2f}% {high:>+7.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
