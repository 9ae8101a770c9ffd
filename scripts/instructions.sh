#!/usr/bin/env bash
# Instruction counts of the hot paths (monolith/benches/instructions.rs: gungraun, each
# path counted under Callgrind), judged against the counts committed in
# results/baseline/instructions/.
#
#   scripts/instructions.sh            count and judge: exit 0 when no path counts more
#                                      than TOLERANCE percent (2; INSTRUCTIONS_TOLERANCE)
#                                      over its committed count, 3 when one does
#                                      (gungraun's exit code for a regression), 2 for bad
#                                      input or a path with no committed count
#   scripts/instructions.sh --refresh  count, and make the counts the committed ones
#
# Counts do not move with the machine's load, but they do with the compiler, valgrind and
# the CPU (libraries choose code by CPU feature). The baseline records all three in
# `machine`; where they differ, the counts are shown and not judged. They also move a
# little from run to run, because hash tables are seeded at random: TOLERANCE is set
# from that spread (BENCHMARKS.md, "Instruction counts of the hot paths", with the
# command that measured it).
set -euo pipefail
cd "$(dirname "$0")/.."

TOLERANCE=${INSTRUCTIONS_TOLERANCE:-2}
baseline=results/baseline/instructions
name=committed

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
refresh=false
case "${1:-}" in
    "") ;;
    --refresh) refresh=true ;;
    *) usage ;;
esac
[ $# -le 1 ] || usage
if ! [[ "$TOLERANCE" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "INSTRUCTIONS_TOLERANCE must be a percentage, like 2 or 1.5 (got '$TOLERANCE')" >&2
    exit 2
fi

# Callgrind, and gungraun's runner of the same version as the gungraun crate in Cargo.lock
# (the two refuse to work together otherwise).
if ! command -v valgrind >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
fi
version=$(grep -A1 '^name = "gungraun"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ "$(gungraun-runner --version 2>/dev/null)" != "gungraun-runner $version" ]; then
    cargo install --locked --quiet --version "$version" gungraun-runner
fi

# What the counts depend on besides the code.
machine() {
    rustc --version
    valgrind --version
    grep -m 1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*: //'
}

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# gungraun clears the environment of what it counts. The shop's own settings are passed
# on (named in the output), so that a test knob such as SHOP_TEST_SLOWDOWN can be counted.
shop_settings=$(env | grep -o '^SHOP_[A-Z0-9_]*' | sort | paste -sd ' ' - || true)
if [ -n "$shop_settings" ]; then
    echo "== counting with the shop's settings from the environment: $shop_settings" >&2
fi
bench() {
    # The packages of .ci/run's criterion step, so that both resolve features alike and
    # share one build.
    cargo bench --locked -p shop-components -p shop-domain -p shop-api -p monolith \
        --bench instructions -- --home="$home" ${shop_settings:+"--envs=$shop_settings"} "$@"
}

if $refresh; then
    bench --save-baseline="$name"
    rm -rf "$baseline"
    # Only each count's header and totals: all gungraun reads of a baseline. The rest of a
    # Callgrind profile (costs per function and line) is in the run's own output.
    (cd "$home" && find . -name "*.out.base@$name") | while read -r out; do
        mkdir -p "$baseline/$(dirname "$out")"
        awk '/^fl=|^fn=|^ob=/ { header = 0 } header || /^totals:/ { print } BEGIN { header = 1 }' \
            "$home/$out" > "$baseline/$out"
    done
    machine > "$baseline/machine"
    echo "refreshed $baseline ($(find "$baseline" -name "*.out.base@$name" | wc -l) paths) on:"
    cat "$baseline/machine"
    exit 0
fi

if [ ! -f "$baseline/machine" ]; then
    echo "no committed counts in $baseline: make them with scripts/instructions.sh --refresh" >&2
    exit 2
fi
if [ "$(machine)" != "$(cat "$baseline/machine")" ]; then
    echo "== not judged: the committed counts were made with" >&2
    sed 's/^/   /' "$baseline/machine" >&2
    echo "   and this machine has" >&2
    machine | sed 's/^/   /' >&2
    echo "   Counts follow; refresh the baseline on this machine to judge them." >&2
    bench
    exit 0
fi
cp -r "$baseline/." "$home/"
status=0
bench --baseline="$name" --callgrind-limits="ir=$TOLERANCE%" || status=$?
# A path with no committed count passes gungraun unjudged: say so, and fail.
unjudged=$(cd "$home" && find . -name 'callgrind.*.out' | while read -r out; do
    [ -f "$out.base@$name" ] || dirname "$out"
done)
if [ -n "$unjudged" ] && [ "$status" -eq 0 ]; then
    echo "no committed count for: $unjudged; count them with scripts/instructions.sh --refresh" >&2
    status=2
fi
exit "$status"
