#!/usr/bin/env bash
# Runs figures.sh for two or more herald binaries in turn, ROUNDS times, and
# prints each run's import and events figures, then each binary's medians.
# This VM's speed drifts by up to 1.5x within minutes: builds are compared
# only when run alternately, in the same minutes (load-tests/RESULTS.md).
# Usage: load-tests/http/alternate.sh LEADS ROUNDS HERALD_A HERALD_B [...]
# SECONDS_PER_RUN and CONNECTIONS (default 6 and 64) go to figures.sh, as do
# EVENT_LEADS and HERALD_FLAGS (default "--durability async").
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $# -ge 4 ]] || { sed -n 2,8p "$0"; exit 1; }
leads=$1
rounds=$2
shift 2
for bin in "$@"; do
  [[ -x $bin ]] || { echo "alternate: $bin is not an executable"; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export HERALD_FLAGS=${HERALD_FLAGS:---durability async}
for round in $(seq "$rounds"); do
  for i in $(seq $#); do
    bin=${!i}
    HERALD_BIN=$bin load-tests/http/figures.sh "$leads" "${SECONDS_PER_RUN:-6}" \
      "${CONNECTIONS:-64}" >"$out/$i.$round" 2>&1
    echo "$(date -u +%T) round $round, $bin: done" >&2
  done
done
python3 - "$out" "$rounds" "$@" <<'PY'
import re, statistics, sys
out, rounds, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def figures(text):
    f = {}
    if m := re.search(r"in ([\d.]+) s: ([\d,]+) leads/s", text):
        f["import leads/s"] = float(m.group(2).replace(",", ""))
    if m := re.search(r"([\d.]+) with the background work", text):
        f["import CPU us/lead"] = float(m.group(1))
    if m := re.search(r"peak ([\d.]+) MiB\n", text):
        f["import peak RSS MiB"] = float(m.group(1))
    events = text.split("POST /v1/events", 1)
    if len(events) == 2:
        if m := re.search(r"Requests/sec:\s+([\d.]+)", events[1]):
            f["events/s"] = float(m.group(1))
        if m := re.search(r"([\d.]+) us per request", events[1]):
            f["events CPU us"] = float(m.group(1))
        if m := re.search(r"99%\s+([\d.]+)ms", events[1]):
            f["events p99 ms"] = float(m.group(1))
    return f
runs = {i: [figures(open(f"{out}/{i + 1}.{r + 1}").read()) for r in range(rounds)]
        for i in range(len(bins))}
names = sorted({k for rs in runs.values() for f in rs for k in f})
print("| what | " + " | ".join(bins) + " |")
print("| --- |" + " --- |" * len(bins))
for k in names:
    cells = []
    for i in range(len(bins)):
        vals = [f[k] for f in runs[i] if k in f]
        each = " · ".join(f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in vals)
        med = statistics.median(vals) if vals else float("nan")
        cells.append(f"{each} (median {med:,.0f})" if med >= 100 else f"{each} (median {med:.1f})")
    print(f"| {k} | " + " | ".join(cells) + " |")
PY
