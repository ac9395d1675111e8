#!/usr/bin/env bash
# Soak benchmark of the showcase: builds Release (bench/Dogpile.Soak and the apps it starts), then runs the showcase in
# memory mode and in Redis queue mode (its own redis-server on a free loopback port, a Packages.Worker, a standalone
# simulator) at a bounded rate for a bounded time while values expire every 2 s, sampling RSS, the heap after a full
# GC, threads, file descriptors and connections; replaces the soak section of docs/benchmarks.md with the series and
# a verdict per series (flat or growing). Needs redis-server (apt-get install redis-server).
#   bench/soak.sh              # 3 minutes per mode, a sample every 5 s (about 7 minutes in all)
#   bench/soak.sh --quick      # 45 s per mode, a sample every 3 s
#   bench/soak.sh --modes memory --duration 300 --rate 200   # any option of bench/Dogpile.Soak (see its usage)
# Exit code: 0 when every series is flat, 3 when one grows (the document is written either way).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { echo "missing redis-server (apt-get install -y redis-server)" >&2; exit 1; }
dotnet build -c Release bench/Dogpile.Soak -nologo -v q

DOC=${DOC:-docs/benchmarks.md}
dotnet bench/Dogpile.Soak/bin/Release/net10.0/Dogpile.Soak.dll \
  --repo "$PWD" --sdk "$(dotnet --version)" --doc "$DOC" "$@"
