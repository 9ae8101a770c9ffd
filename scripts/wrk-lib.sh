# Shared by the wrk benchmark scripts (sourced, not run). Expects $connections and
# $seconds; defines $bin, $work, $path and the functions below; stops every server it
# started on exit.

bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
path=/api/products/SKU-00042
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# start NAME PATTERN CMD... : runs CMD on core 0 until its stdout has "PATTERN URL";
# sets $url and ${NAME}_pid.
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

# cpu_ticks PID... : user + system clock ticks of the processes, summed.
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# run URL PID... : one wrk run on core 1 against URL$path; prints
# "req/s p50_ms p99_ms cpu_us_per_req" with the CPU of the given processes.
run() {
  local url=$1 before after out hz; shift
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks "$@")
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency "$url$path")
  after=$(cpu_ticks "$@")
  awk -v ticks=$((after - before)) -v hz="$hz" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /requests in/ { n = $1 } /^Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.3f %.3f %.1f\n", rps, p50, p99, ticks / hz * 1e6 / n }' <<<"$out"
}

# warm URL : three seconds of load, not measured.
warm() { taskset -c 1 wrk -t1 -c"$connections" -d3s "$1$path" >/dev/null; }

# median_of FILE : the median of the numbers in FILE, one per line.
median_of() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

environment() {
  echo "$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(rustc --version), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
}
