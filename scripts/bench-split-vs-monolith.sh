#!/usr/bin/env bash
# Product page throughput at saturation, split against monolith, in one run: each
# architecture gets core 0 (the split build's eight processes share it), wrk gets core 1,
# rounds interleave. Then the resident memory of every process. Prints Markdown.
#
#   [SPLIT_TOPOLOGY=file.toml] scripts/bench-split-vs-monolith.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
rounds=${1:-5}; seconds=${2:-10}; connections=${3:-32}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

cargo build --release --quiet -p monolith -p split --bins
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# start NAME PATTERN CMD... : runs CMD on core 0 until its stdout has "PATTERN URL"; sets $url.
start() {
  local name=$1 pattern=$2; shift 2
  taskset -c 0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!); eval "${name}_pid=$!"
  for _ in $(seq 1 1200); do
    url=$(sed -n "s/.*$pattern //p" "$work/$name.out")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

start monolith "listening on" "$bin/monolith" --listen 127.0.0.1:0 --data "$work/monolith"
monolith_url=$url
# shellcheck disable=SC2046 # the topology flag is optional on purpose
start split "gateway listening on" "$bin/split-up" --data "$work/split" --listen 127.0.0.1:0 \
  $( [ -n "${SPLIT_TOPOLOGY:-}" ] && echo --topology "$SPLIT_TOPOLOGY" )
split_url=$url
path=/api/products/SKU-00042
cmp <(curl -fsS "$monolith_url$path") <(curl -fsS "$split_url$path")   # the same page

cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
split_procs() { echo "$split_pid" $(pgrep -P "$split_pid"); }
hz=$(getconf CLK_TCK)
# run URL PIDS... : one wrk run on core 1; prints "req/s p50_ms p99_ms cpu_us_per_req".
run() {
  local url=$1 before after out; shift
  before=$(cpu_ticks "$@")
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency "$url$path")
  after=$(cpu_ticks "$@")
  awk -v ticks=$((after - before)) -v hz="$hz" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /requests in/ { n = $1 } /^Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.3f %.3f %.1f\n", rps, p50, p99, ticks / hz * 1e6 / n }' <<<"$out"
}

taskset -c 1 wrk -t1 -c"$connections" -d3s "$monolith_url$path" >/dev/null
taskset -c 1 wrk -t1 -c"$connections" -d3s "$split_url$path" >/dev/null

echo "| round | monolith req/s | split req/s | split / monolith | monolith p50 / p99 ms | split p50 / p99 ms | monolith CPU us/req | split CPU us/req (all processes) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for r in $(seq 1 "$rounds"); do
  read -r m_rps m_p50 m_p99 m_cpu < <(run "$monolith_url" "$monolith_pid")
  # shellcheck disable=SC2046 # one pid per word
  read -r s_rps s_p50 s_p99 s_cpu < <(run "$split_url" $(split_procs))
  ratio=$(awk -v a="$s_rps" -v b="$m_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "| $r | $m_rps | $s_rps | $ratio | $m_p50 / $m_p99 | $s_p50 / $s_p99 | $m_cpu | $s_cpu |"
  echo "$ratio" >>"$work/ratios"
done
median=$(sort -n "$work/ratios" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo
echo "Median split/monolith throughput ratio: **$median** over $rounds interleaved rounds of ${seconds}s, $connections connections, each architecture on one core."
echo
echo "Resident memory after the runs (VmRSS, MB):"
echo
echo "| process | MB |"
echo "| --- | --- |"
echo "| monolith | $(rss_mb "$monolith_pid") |"
for p in $(pgrep -P "$split_pid"); do
  echo "| split: $(tr '\0' ' ' <"/proc/$p/cmdline" | awk '{print $1}' | xargs basename) | $(rss_mb "$p") |"
done
echo "| split: split-up (the launcher) | $(rss_mb "$split_pid") |"
echo
echo "Topology: ${SPLIT_TOPOLOGY:-default (one replica each, JSON over HTTP/1.1, preset bare)}. Environment: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(rustc --version), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')."
