#!/usr/bin/env bash
# A real export against the embedded fake API: starts `serpstat-export
# fake-api` on a free loopback port, exports one domain into CSV, NDJSON and
# Parquet under ./out/ in one pass, and stops the fake.
set -euo pipefail
bin=${1:-bin/serpstat-export}
rows=${DEMO_ROWS:-25000}
mkdir -p out
log=$(mktemp)
"$bin" fake-api --addr 127.0.0.1:0 --rows "$rows" >"$log" 2>/dev/null &
fake=$!
trap 'kill $fake 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  [ -s "$log" ] && break
  sleep 0.05
done
endpoint=$(head -n1 "$log")
echo "fake API at $endpoint ($rows rows); exporting example.com ..." >&2
SERPSTAT_TOKEN=test-token "$bin" export \
  --endpoint "$endpoint" --query example.com --rps 20 --workers 4 \
  --out out/backlinks.csv --out out/backlinks.ndjson --out out/backlinks.parquet
ls -l out/
