#!/usr/bin/env bash
# Runs every test in the solution against real servers. Installs what the tests need when it is missing
# (redis-server, memcached and chromium from Debian; the fixtures start their own instances on free loopback ports),
# then prints one summary line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v memcached >/dev/null 2>&1 || missing+=(memcached)
# The browser tests drive Debian's chromium through its path (no Playwright browser download).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} (needed by the tests) ..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
dotnet test Dogpile.slnx -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed!  - Failed: N, Passed: N, ..." line per test assembly.
passed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Passed: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+),.*/\1/' | awk '{s+=$1} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or a test host failed before any test could report: count it, so it is never read as green.
  failed=1
fi
echo "$passed passed, $failed failed"
exit "$status"
