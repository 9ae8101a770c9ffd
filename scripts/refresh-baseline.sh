#!/usr/bin/env bash
# Refreshes the performance gate's baseline, results/baseline/ci.json: RUNS clean runs
# of the ci profile on this machine (15 when not given: fewer make wider tolerances), each
# with the tree's own commit as its reference build (A against A: the noise of each
# component's ratio to the reference), then `loadgen baseline` on them. CI then compares
# every later commit with this one.
# Run it on the machine class CI runs on, on a quiet machine, from a clean tree; commit
# the new ci.json with the change that moved the figures (results/baseline/README.md).
#
#   scripts/refresh-baseline.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
case "$runs" in
    '' | *[!0-9]*) runs=0 ;;
esac
if [ "$((10#$runs))" -lt 3 ]; then
    echo "usage: $0 [RUNS]: at least 3 runs (the spread between them sets each tolerance)" >&2
    exit 2
fi
runs=$((10#$runs))
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "the tree has uncommitted changes: a baseline must name the commit it measured" >&2
    exit 2
fi
out=$(mktemp -d)
cargo build --release --locked -p loadgen
for i in $(seq "$runs"); do
    echo "== ci run $i of $runs"
    cargo run --release --locked -q -p loadgen -- run --profile ci --reference HEAD --out "$out"
done
cargo run --release --locked -q -p loadgen -- baseline "$out"/2*/ --out results/baseline/ci.json
echo "runs kept in $out"
