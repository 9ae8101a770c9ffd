#!/usr/bin/env bash
# Product page throughput of the monolith against the ceiling (the same HTTP stack
# returning the byte-identical body), measured with wrk, interleaved A B A B.
# The servers run on core 0, wrk on core 1. Prints a Markdown report on stdout.
#
#   [MONOLITH_ARGS="--stock-cache-ms 0"] scripts/bench-product-page.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
rounds=${1:-5}; seconds=${2:-10}; connections=${3:-32}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

cargo build --release --quiet -p monolith --bins
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# start NAME CMD... : runs CMD on core 0, waits for its "listening on" line, sets $url.
start() {
  local name=$1; shift
  taskset -c 0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!); eval "${name}_pid=$!"
  for _ in $(seq 1 600); do
    url=$(sed -n 's/.*listening on //p' "$work/$name.out")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# shellcheck disable=SC2086 # MONOLITH_ARGS is a list of flags on purpose
start monolith "$bin/monolith" --listen 127.0.0.1:0 --data "$work/data" ${MONOLITH_ARGS:-}
monolith_url=$url
path=/api/products/SKU-00042
curl -fsS "$monolith_url$path" -o "$work/page.json"
start ceiling "$bin/ceiling" --listen 127.0.0.1:0 --body "$work/page.json"
ceiling_url=$url
cmp <(curl -fsS "$ceiling_url$path") "$work/page.json"   # byte-identical bodies

hz=$(getconf CLK_TCK)
# run NAME URL PID : one wrk run on core 1; prints "req/s p50_ms p99_ms cpu_us_per_req".
run() {
  local before after out
  before=$(cpu_ticks "$3")
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency "$2$path")
  after=$(cpu_ticks "$3")
  awk -v ticks=$((after - before)) -v hz="$hz" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /requests in/ { n = $1 } /^Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.3f %.3f %.1f\n", rps, p50, p99, ticks / hz * 1e6 / n }' <<<"$out"
}

# Warm both up (and let the monolith fill its page cache) before measuring.
taskset -c 1 wrk -t1 -c"$connections" -d3s "$monolith_url$path" >/dev/null
taskset -c 1 wrk -t1 -c"$connections" -d3s "$ceiling_url$path" >/dev/null

echo "| round | monolith req/s | ceiling req/s | ratio | monolith p50 / p99 ms | ceiling p50 / p99 ms | monolith CPU us/req | ceiling CPU us/req |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for r in $(seq 1 "$rounds"); do
  read -r m_rps m_p50 m_p99 m_cpu < <(run monolith "$monolith_url" "$monolith_pid")
  read -r c_rps c_p50 c_p99 c_cpu < <(run ceiling "$ceiling_url" "$ceiling_pid")
  ratio=$(awk -v a="$m_rps" -v b="$c_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "| $r | $m_rps | $c_rps | $ratio | $m_p50 / $m_p99 | $c_p50 / $c_p99 | $m_cpu | $c_cpu |"
  echo "$ratio" >>"$work/ratios"
done
median=$(sort -n "$work/ratios" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo
echo "Median monolith/ceiling throughput ratio: **$median** over $rounds interleaved rounds of ${seconds}s, $connections connections."
echo "Monolith flags: ${MONOLITH_ARGS:-(defaults)}."
echo "Monolith resident memory after the runs: **$(rss_mb "$monolith_pid") MB** (VmRSS, 10,000-product catalog)."
echo "Body: $(wc -c <"$work/page.json") bytes. Environment: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(rustc --version), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')."
