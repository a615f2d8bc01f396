#!/usr/bin/env bash
# The HTTP API's figures (load-tests/RESULTS.md): starts build/bin/herald on a
# temporary data dir with the manual clock (nothing sends while measuring),
# builds a workspace with two simulated accounts and a launched two-step
# sequence, then measures on this machine, client and server side by side:
#   - an NDJSON import of LEADS leads in one request (curl): leads/s and
#     herald's peak resident memory before and after;
#   - GET /v1/sequences/{id}/stats and POST /v1/events (replies naming a lead
#     by external_id, each event id new) from wrk over keep-alive connections.
# Usage: load-tests/http/figures.sh [LEADS] [SECONDS] [CONNECTIONS]
# EVENT_LEADS=first: each event replies to the next lead in turn (its first
# reply while fewer events than leads are sent), instead of a random lead (a
# lead may then reply again: its enrollment has ended, and applying that is
# cheaper).
set -euo pipefail
cd "$(dirname "$0")/../.."
leads=${1:-100000}
seconds=${2:-10}
connections=${3:-16}
command -v wrk >/dev/null || { echo "figures: wrk is not installed (apt-get install wrk)"; exit 1; }
[[ -x /usr/bin/time ]] || { echo "figures: /usr/bin/time is not installed (apt-get install time)"; exit 1; }
[[ -x ${HERALD_BIN:-build/bin/herald} ]] || { echo "figures: build herald first (scripts/test or cmake --build build)"; exit 1; }

dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export HERALD_ADMIN_TOKEN=figures-admin-token
${HERALD_BIN:-build/bin/herald} --data-dir "$dir" --listen 127.0.0.1:$port --clock manual ${HERALD_FLAGS:-} >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [[ -n "${KEEP_DIR:-}" ]] && cp -r "$dir" "$KEEP_DIR"; rm -rf "$dir"' EXIT
url=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
call() { # METHOD PATH TOKEN [BODY]
  curl -sf -X "$1" "$url$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+-d "$4"}
}
ws=$(call POST /v1/workspaces "$HERALD_ADMIN_TOKEN" '{"name":"Figures","timezone":"UTC"}')
key=$(json "['api_key']" <<<"$ws")
email=$(call POST /v1/accounts "$key" '{"name":"E","channel":"email","provider":{"type":"sim"}}' | json "['id']")
linkedin=$(call POST /v1/accounts "$key" '{"name":"L","channel":"linkedin","provider":{"type":"sim"}}' | json "['id']")
seq=$(call POST /v1/sequences "$key" '{"name":"Figures","senders":{"email":["'"$email"'"],"linkedin":["'"$linkedin"'"]},
  "steps":[{"channel":"email","delay_days":1,"template":{"subject":"Hi {{first_name}}","body":"Hello"}},
           {"channel":"email","delay_days":3,"condition":"no_reply","template":{"subject":"Re","body":"Again"}}]}' | json "['id']")
call POST "/v1/sequences/$seq/steps/1/approve" "$key" >/dev/null
call POST "/v1/sequences/$seq/steps/2/approve" "$key" >/dev/null
call POST "/v1/sequences/$seq/launch" "$key" >/dev/null

python3 - "$leads" >"$dir/leads.ndjson" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print('{"external_id":"x%d","email":"lead%d@company%d.com","first_name":"Lead","last_name":"N%d","company":"Company %d"}' % (i, i, i % 5000, i, i % 5000))
PY
rss() { awk -v k="$1" '$1 == k":" {print $2}' /proc/$pid/status; }
cpu() { # CPU seconds used so far by process $1 (user + system)
  awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' /proc/"$1"/stat
}
rss_before=$(rss VmRSS)
bytes=$(stat -c %s "$dir/leads.ndjson")
# PERF_IMPORT=FILE: a perf profile of herald during the import.
importer_profile=
if [[ -n "${PERF_IMPORT:-}" ]]; then
  perf record ${PERF_FLAGS:--g} -p $pid -o "$PERF_IMPORT" 2>/dev/null &
  importer_profile=$!
  sleep 0.5
fi
cpu_before=$(cpu $pid)
start=$(date +%s.%N)
# IMPORT_PIECES=N: the same leads in N requests instead of one, to compare
# peak memory (what one large request costs beyond its enrollments).
split -n "l/${IMPORT_PIECES:-1}" -d "$dir/leads.ndjson" "$dir/piece."
enrolled=0
for piece in "$dir"/piece.*; do
  answer=$(curl -sf -X POST "$url/v1/sequences/$seq/leads" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$piece")
  enrolled=$((enrolled + $(json "['enrolled']" <<<"$answer")))
done
end=$(date +%s.%N)
cpu_answered=$(cpu $pid)
if [[ -n "$importer_profile" ]]; then kill -INT $importer_profile; wait $importer_profile || true; fi
# The flushes and compactions the import left behind: herald's CPU until it
# stays idle for half a second (at most 20 s).
cpu_settled=$cpu_answered
for _ in $(seq 40); do
  sleep 0.5
  now=$(cpu $pid)
  python3 -c "import sys; sys.exit(0 if $now - $cpu_settled < 0.02 else 1)" && break
  cpu_settled=$now
done
python3 - <<PY
took = $end - $start
print(f"import: {$enrolled} of {$leads} leads enrolled ({$bytes / 2**20:.1f} MiB in ${IMPORT_PIECES:-1} request(s)) in {took:.2f} s: {$enrolled / took:,.0f} leads/s")
print(f"herald CPU: {($cpu_answered - $cpu_before) / $leads * 1e6:.1f} us per lead until the answer, {($cpu_settled - $cpu_before) / $leads * 1e6:.1f} with the background work it left")
print(f"on disk: {$(du -sk --exclude=leads.ndjson --exclude='piece.*' "$dir" | cut -f1) / 1024:.0f} MiB")
print(f"herald RSS: {$rss_before / 1024:.0f} MiB before, {$(rss VmRSS) / 1024:.0f} MiB after, peak {$(rss VmHWM) / 1024:.0f} MiB")
PY
# The same body again: every lead a duplicate, nothing enrolled, so what the
# peak grows by is the request's own memory.
hwm=$(rss VmHWM)
start=$(date +%s.%N)
answer=$(curl -sf -X POST "$url/v1/sequences/$seq/leads" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$dir/leads.ndjson")
end=$(date +%s.%N)
python3 - <<PY
print(f"again: {$(json "['duplicates']" <<<"$answer")} duplicates in {$end - $start:.2f} s; peak RSS {$hwm / 1024:.1f} -> {$(rss VmHWM) / 1024:.1f} MiB")
PY

# wrk ARGS...: its latency and rate lines, then the CPU herald and wrk used
# per request.
measure() {
  local before; before=$(cpu $pid)
  /usr/bin/time -f "%U %S" -o "$dir/wrk.time" \
    wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" >"$dir/wrk.out"
  local wrk_cpu; wrk_cpu=$(awk '{print $1 + $2}' "$dir/wrk.time")
  local after; after=$(cpu $pid)
  grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" "$dir/wrk.out"
  python3 - "$before" "$after" "$wrk_cpu" "$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.out")" "$seconds" <<'PY'
import sys
before, after, wrk, rate, secs = map(float, sys.argv[1:])
n = rate * secs
print(f"  herald CPU {(after - before) / secs * 100:.0f}% of a core, {(after - before) / n * 1e6:.1f} us per request; wrk CPU {wrk / secs * 100:.0f}% of a core")
PY
}

echo "--- GET /v1/sequences/{id}/stats: wrk -t1 -c$connections -d${seconds}s (same machine)"
measure -H "Authorization: Bearer $key" "$url/v1/sequences/$seq/stats"

cat >"$dir/events.lua" <<LUA
local n = 0
math.randomseed(7)
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local lead = math.random(0, $leads - 1)
  if "${EVENT_LEADS:-random}" == "first" then lead = (n - 1) % $leads end
  local body = string.format('{"event_id":"e%d","type":"reply","external_id":"x%d","text":"thanks"}', n, lead)
  return wrk.format(nil, "/v1/events", nil, body)
end
LUA
echo "--- POST /v1/events (replies, new event ids): wrk -t1 -c$connections -d${seconds}s (same machine)"
# PERF_EVENTS=FILE: a perf profile of herald while the events run.
profiler=
if [[ -n "${PERF_EVENTS:-}" ]]; then
  perf record ${PERF_FLAGS:--g} -p $pid -o "$PERF_EVENTS" -- sleep "$seconds" 2>/dev/null &
  profiler=$!
fi
measure -s "$dir/events.lua" "$url"
[[ -z "$profiler" ]] || wait $profiler
