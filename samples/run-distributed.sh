#!/usr/bin/env bash
# Dogpile's distributed showcase in one command: redis (bound to 127.0.0.1 only), the bug-tracker simulator, two web
# instances sharing the cache through redis, and a worker draining the durable refresh queue. It builds once, starts
# everything from the build output, prints the URLs, and stops every process it started on Ctrl-C (or SIGTERM).
#
#   samples/run-distributed.sh
#
# Ports and speed (environment): REDIS_PORT (6379), UPSTREAM_PORT (5081), WEB1_PORT (5080), WEB2_PORT (5082),
# DELAY_SCALE (1.0: kernel takes ~3 s), EXPIRATION_SECONDS (60). Each process logs to $LOG_DIR (a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-6379}
UPSTREAM_PORT=${UPSTREAM_PORT:-5081}
WEB1_PORT=${WEB1_PORT:-5080}
WEB2_PORT=${WEB2_PORT:-5082}
DELAY_SCALE=${DELAY_SCALE:-1.0}
EXPIRATION_SECONDS=${EXPIRATION_SECONDS:-60}
LOG_DIR=${LOG_DIR:-$(mktemp -d -t dogpile-distributed.XXXXXX)}
mkdir -p "$LOG_DIR"

command -v redis-server >/dev/null 2>&1 || { echo "error: redis-server is missing (apt-get install redis-server, or run ./test.sh once)" >&2; exit 2; }

pids=()
stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    echo "Stopping ${#pids[@]} processes ..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  echo "Stopped."
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT

# One build: the worker references the web app, which references the simulator, so this builds all three once
# (three concurrent `dotnet run`s would each build the same projects and fight over their output files).
echo "Building (once) ..."
dotnet build samples/Packages.Worker -c Release -nologo -v quiet >"$LOG_DIR/build.log" 2>&1 || { cat "$LOG_DIR/build.log" >&2; exit 1; }
bin=samples/Packages.Worker/bin/Release/net10.0
[ -f "$bin/Packages.Web.dll" ] && [ -f "$bin/Packages.Upstream.dll" ] || { echo "error: the build left no $bin/Packages.Web.dll" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # name port pid
  for _ in $(seq 1 600); do
    port_open "$2" && return 0
    kill -0 "$3" 2>/dev/null || { echo "error: $1 exited; its log ($LOG_DIR/$1.log):" >&2; tail -n 20 "$LOG_DIR/$1.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "error: $1 did not listen on 127.0.0.1:$2 within 60 s (log: $LOG_DIR/$1.log)" >&2
  exit 1
}
start() { # name command...
  local name=$1
  shift
  "$@" >"$LOG_DIR/$name.log" 2>&1 &
  pids+=($!)
}

start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
wait_for redis "$REDIS_PORT" "${pids[-1]}"

start upstream dotnet "$bin/Packages.Upstream.dll" --urls "http://127.0.0.1:$UPSTREAM_PORT" --Upstream:DelayScale "$DELAY_SCALE"
wait_for upstream "$UPSTREAM_PORT" "${pids[-1]}"

common=(--Cache:Backend redis --Cache:Connection "127.0.0.1:$REDIS_PORT" --Cache:Refresh queue
  --Cache:ExpirationSeconds "$EXPIRATION_SECONDS" --Upstream:Url "http://127.0.0.1:$UPSTREAM_PORT/")
start web1 dotnet "$bin/Packages.Web.dll" --urls "http://127.0.0.1:$WEB1_PORT" "${common[@]}"
start web2 dotnet "$bin/Packages.Web.dll" --urls "http://127.0.0.1:$WEB2_PORT" "${common[@]}"
start worker dotnet "$bin/Packages.Worker.dll" "${common[@]}"
wait_for web1 "$WEB1_PORT" "${pids[-3]}"
wait_for web2 "$WEB2_PORT" "${pids[-2]}"

cat <<MSG
Dogpile distributed showcase is up:
  web 1:   http://127.0.0.1:$WEB1_PORT/
  web 2:   http://127.0.0.1:$WEB2_PORT/   (same cache: a page one instance fetched is a hit on the other)
  tracker: http://127.0.0.1:$UPSTREAM_PORT/  (simulator; /stats counts its calls)
  redis:   127.0.0.1:$REDIS_PORT (loopback only), refresh queue drained by the worker
  logs:    $LOG_DIR
  pids:    ${pids[*]}
Press Ctrl-C to stop everything.
MSG

# Any child that exits ends the demo (and the trap stops the rest).
wait -n "${pids[@]}" || true
echo "A process exited; see $LOG_DIR." >&2
exit 1
