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
# shellcheck source=scripts/wrk-lib.sh
source scripts/wrk-lib.sh

start monolith "listening on" "$bin/monolith" --listen 127.0.0.1:0 --data "$work/monolith"
monolith_url=$url
# shellcheck disable=SC2046 # the topology flag is optional on purpose
start split "gateway listening on" "$bin/split-up" --data "$work/split" --listen 127.0.0.1:0 \
  $( [ -n "${SPLIT_TOPOLOGY:-}" ] && echo --topology "$SPLIT_TOPOLOGY" )
split_url=$url
cmp <(curl -fsS "$monolith_url$path") <(curl -fsS "$split_url$path")   # the same page

split_procs() { echo "$split_pid" $(pgrep -P "$split_pid"); }

warm "$monolith_url"
warm "$split_url"

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
median=$(median_of "$work/ratios")
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
echo "Topology: ${SPLIT_TOPOLOGY:-default (one replica each, JSON over HTTP/1.1, preset bare)}. Environment: $(environment)."
