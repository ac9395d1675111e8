#!/usr/bin/env bash
# Load test of the embedded packages app (memory backend, in-process refresh, its own simulator with the
# default delays: kernel ~3 s) on a warm cache while values keep expiring. Appends a section to
# docs/benchmarks-web.md.
#
#   bench/web-load.sh                       # 30 s, 2 threads, 32 connections, ExpirationSeconds 5, HTML bug pages
#   DURATION=60 CONNECTIONS=64 EXPIRATION=5 KIND=api bench/web-load.sh    # the JSON API instead
#
# Needs: dotnet, wrk, curl. Everything listens on 127.0.0.1 only.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
EXPIRATION=${EXPIRATION:-5}
KIND=${KIND:-page} # page: /packages/{name}/bugs (HTML); api: /api/packages/{name}/bugs (JSON)
case "$KIND" in page) ROUTE='/packages/{name}/bugs' ;; api) ROUTE='/api/packages/{name}/bugs' ;; *) echo "KIND must be page or api" >&2; exit 2 ;; esac
PACKAGES=(kernel firefox bash glibc python3 systemd openssl httpd) # keep in step with bench/web-load.lua
OUT=${OUT:-docs/benchmarks-web.md}
WORK=$(mktemp -d)
APP_PID=

cleanup() {
  if [[ -n "$APP_PID" ]] && kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID"
    wait "$APP_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "error: wrk is not installed" >&2; exit 1; }

echo "Building samples/Packages.Web (Release)..."
dotnet build samples/Packages.Web -c Release -v q -nologo >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

dotnet samples/Packages.Web/bin/Release/net10.0/Packages.Web.dll \
  --urls http://127.0.0.1:0 \
  --Cache:ExpirationSeconds "$EXPIRATION" \
  --Logging:LogLevel:Default Warning \
  >"$WORK/app.out" 2>"$WORK/app.err" &
APP_PID=$!

APP=; TRACKER=
for _ in $(seq 1 300); do
  APP=$(sed -n 's/^Dogpile packages app: open \(http:[^ ]*\)$/\1/p' "$WORK/app.out")
  TRACKER=$(sed -n 's/^Bug tracker simulator (embedded): \(http:[^ ]*\)$/\1/p' "$WORK/app.out")
  [[ -n "$APP" && -n "$TRACKER" ]] && break
  kill -0 "$APP_PID" 2>/dev/null || { cat "$WORK/app.err"; exit 1; }
  sleep 0.1
done
[[ -n "$APP" && -n "$TRACKER" ]] || { echo "error: the app did not print its URLs" >&2; cat "$WORK/app.err"; exit 1; }
APP=${APP%/}; TRACKER=${TRACKER%/}
echo "App at $APP, simulator at $TRACKER"

# Warm the cache: one miss per package (kernel's takes ~3 s), all in parallel.
WARM=()
for p in "${PACKAGES[@]}"; do curl -sf -o /dev/null "$APP/api/packages/$p/bugs" & WARM+=($!); done
wait "${WARM[@]}"
for p in "${PACKAGES[@]}"; do curl -sf -o /dev/null "$APP/api/packages/$p/bugs"; done

metric() { # metric NAME FILE -> the bugs region's sample (the OpenTelemetry exporter adds otel_scope_* labels)
  grep -E "^$1\{(.*,)?region=\"bugs\"[,}]" "$2" | sed -E 's/^[^}]*\} ([0-9]+).*$/\1/' | head -n 1
}

curl -sf -X POST "$TRACKER/stats/reset" >/dev/null
curl -sf "$APP/metrics" >"$WORK/before.prom"
echo "Running wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s over ${#PACKAGES[@]} packages (ExpirationSeconds $EXPIRATION)..."
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/web-load.lua "$APP" -- "$KIND" | tee "$WORK/wrk.txt"
curl -sf "$APP/metrics" >"$WORK/after.prom"
curl -sf "$TRACKER/stats" >"$WORK/stats.json"

delta() { echo $(( $(metric "$1" "$WORK/after.prom") - $(metric "$1" "$WORK/before.prom") )); }
HITS=$(delta dogpile_hits_total); MISSES=$(delta dogpile_misses_total); STALE=$(delta dogpile_stale_served_total)
REFRESHES=$(delta dogpile_refreshes_started_total); FAILED=$(delta dogpile_refreshes_failed_total); SKIPPED=$(delta dogpile_refreshes_skipped_total)
LOCKWAITS=$(delta dogpile_lock_waits_total)
SERVED=$(( HITS + MISSES + STALE ))
STALE_SHARE=$(awk -v s="$STALE" -v n="$SERVED" 'BEGIN { printf "%.2f", n ? 100 * s / n : 0 }')
MISS_SHARE=$(awk -v s="$MISSES" -v n="$SERVED" 'BEGIN { printf "%.3f", n ? 100 * s / n : 0 }')
read -r _ REQS DUR _ _ _ TIMEOUTS NON2XX <<<"$(grep '^RESULT' "$WORK/wrk.txt" | tr '=' ' ' | awk '{print $1, $3, $5, $7, $9, $11, $13, $15}')"
read -r P50 P90 P99 P999 PMAX <<<"$(grep '^LATENCY' "$WORK/wrk.txt" | sed 's/[a-z0-9]*=//g; s/LATENCY //' | awk '{print $1, $2, $3, $4, $5}')"
RPS=$(awk -v r="$REQS" -v d="$DUR" 'BEGIN { printf "%.0f", r / d }')
WINDOWS=$(awk -v d="$DURATION" -v e="$EXPIRATION" 'BEGIN { printf "%.1f", d / e }')

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
  echo
  echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Embedded app (\`Cache:Backend memory\`, \`Cache:Refresh inprocess\`, simulator in-process with default delays: kernel ~3 s,"
  echo "small packages ~0.1-0.5 s), \`Cache:ExpirationSeconds $EXPIRATION\`, warm cache, Release build."
  echo "\`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s\` over \`$ROUTE\` for ${#PACKAGES[@]} packages (${PACKAGES[*]}), round robin."
  echo "Code at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' plus uncommitted changes')."
  echo "Machine: $(nproc) cores ($CPU), shared by wrk, the app and its simulator; .NET $(dotnet --version); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
  echo
  echo "| Requests | Req/s | p50 | p90 | p99 | p99.9 | max | non-2xx | timeouts |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  echo "| $REQS | $RPS | $P50 ms | $P90 ms | $P99 ms | $P999 ms | $PMAX ms | $NON2XX | $TIMEOUTS |"
  echo
  echo "Cache (bugs region, from \`/metrics\` before and after): $HITS hits, $STALE stale, $MISSES misses of $SERVED served:"
  echo "**$STALE_SHARE % stale**, $MISS_SHARE % misses; $REFRESHES background refreshes started, $FAILED failed, $SKIPPED skipped; $LOCKWAITS lock waits."
  echo
  echo "Upstream calls during the run (simulator \`/stats\`), over $WINDOWS expiry windows of $EXPIRATION s:"
  echo
  echo "| Package | Calls | Calls per expiry window |"
  echo "| --- | ---: | ---: |"
  for p in "${PACKAGES[@]}"; do
    CALLS=$(sed -n "s/.*\"$p\":\([0-9]*\).*/\1/p" "$WORK/stats.json"); CALLS=${CALLS:-0}
    echo "| $p | $CALLS | $(awk -v c="$CALLS" -v w="$WINDOWS" 'BEGIN { printf "%.2f", c / w }') |"
  done
} >"$WORK/section.md"

if [[ ! -f "$OUT" ]]; then
  cat >"$OUT" <<'HEADER'
# Packages web app under load

`bench/web-load.sh` drives the embedded packages app with `wrk` on a warm cache while values keep expiring,
and appends one section per run. What to look for: latency stays at cache-hit cost although every value
expires every few seconds (stale values are served while one background refresh runs), and the slow
tracker sees at most about one call per package per expiry window, however many requests arrive.
A refresh starts on the first request after expiry and lasts as long as the tracker takes (kernel ~3 s),
so a package's cycle is expiry + refresh time, and its calls per window are a little under 1.
HEADER
fi
cat "$WORK/section.md" >>"$OUT"
cat "$WORK/section.md"
