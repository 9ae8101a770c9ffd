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
# shellcheck source=scripts/wrk-lib.sh
source scripts/wrk-lib.sh

# shellcheck disable=SC2086 # MONOLITH_ARGS is a list of flags on purpose
start monolith "listening on" "$bin/monolith" --listen 127.0.0.1:0 --data "$work/data" ${MONOLITH_ARGS:-}
monolith_url=$url
curl -fsS "$monolith_url$path" -o "$work/page.json"
start ceiling "listening on" "$bin/ceiling" --listen 127.0.0.1:0 --body "$work/page.json"
ceiling_url=$url
cmp <(curl -fsS "$ceiling_url$path") "$work/page.json"   # byte-identical bodies

# Warm both up (and let the monolith fill its page cache) before measuring.
warm "$monolith_url"
warm "$ceiling_url"

echo "| round | monolith req/s | ceiling req/s | ratio | monolith p50 / p99 ms | ceiling p50 / p99 ms | monolith CPU us/req | ceiling CPU us/req |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for r in $(seq 1 "$rounds"); do
  read -r m_rps m_p50 m_p99 m_cpu < <(run "$monolith_url" "$monolith_pid")
  read -r c_rps c_p50 c_p99 c_cpu < <(run "$ceiling_url" "$ceiling_pid")
  ratio=$(awk -v a="$m_rps" -v b="$c_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "| $r | $m_rps | $c_rps | $ratio | $m_p50 / $m_p99 | $c_p50 / $c_p99 | $m_cpu | $c_cpu |"
  echo "$ratio" >>"$work/ratios"
done
median=$(median_of "$work/ratios")
echo
echo "Median monolith/ceiling throughput ratio: **$median** over $rounds interleaved rounds of ${seconds}s, $connections connections."
echo "Monolith flags: ${MONOLITH_ARGS:-(defaults)}."
echo "Monolith resident memory after the runs: **$(rss_mb "$monolith_pid") MB** (VmRSS, 10,000-product catalog)."
echo "Body: $(wc -c <"$work/page.json") bytes. Environment: $(environment)."
