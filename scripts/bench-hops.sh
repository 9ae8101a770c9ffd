#!/usr/bin/env bash
# The cost of one internal hop at low load: the split shop's product page (four internal
# calls) against the monolith's, and a bare loopback round trip through the same client
# stack. Servers on core 0, the client on core 1. Prints a Markdown report on stdout.
#
#   scripts/bench-hops.sh [ROUNDS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p monolith -p split --bins
cargo bench --quiet -p split --bench hops -- "${1:-7}" "${2:-2000}"
