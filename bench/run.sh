#!/usr/bin/env bash
# Runs every benchmark scenario in one go, each beside its baseline, and writes
# bench/results/latest.json plus a Markdown table on stdout.
#
#   bench/run.sh [--quick]
#
#   --quick   a smoke run: 1 run of 3 s per figure, growth on 100 000 rows
#
# Scenarios (64 connections, RUNS runs of DURATION each, medians):
#   start    exec -> first 200 on /readyz (fresh and existing store), idle RSS
#   page     GET /en/bookme: nginx serving bookme's own HTML (shared
#            run-static-baseline.sh) vs bookme; both with wrk (shared bench.sh)
#   webhook  unique signed deliveries (loadgen): Astro seed vs bookme (durable,
#            SQLite synchronous=FULL), and bookme's GET /healthz (loadgen)
#   growth   ingest rate on a store holding GROWTH_COUNT deliveries vs an empty one
#
# Environment: ASTRO_DIR (default /tmp/astro-seed; built from
# ../shared/bench/astro-seed when missing), SHARED_BENCH (default
# ../shared/bench), GROWTH_DB (default /tmp/bookme-bench-growth-COUNT.db, filled
# afresh each run), KEEP_WORK=1 keeps logs.
# Every server listens on 127.0.0.1 only; every load run is bounded in time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
if [[ $QUICK == 1 ]]; then RUNS=1 DUR=3 WARM=1 GROWTH_COUNT=${GROWTH_COUNT:-100000} STARTS=3
else RUNS=3 DUR=10 WARM=3 GROWTH_COUNT=${GROWTH_COUNT:-1000000} STARTS=5; fi
CONNS=64
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
ASTRO_DIR=${ASTRO_DIR:-/tmp/astro-seed}
GROWTH_DB=${GROWTH_DB:-/tmp/bookme-bench-growth-$GROWTH_COUNT.db}
RESULTS=$ROOT/bench/results
BIN=$ROOT/target/release/bookme
LG=$ROOT/bench/loadgen/target/release/bookme-loadgen
P_BOOKME=4401 P_FULL=4402 P_ASTRO=4411
WORK=$(mktemp -d /tmp/bookme-bench.XXXXXX)
RUNS_JSONL=$WORK/runs.jsonl
: > "$RUNS_JSONL"
PIDS=()

say() { printf '\n== %s\n' "$*" >&2; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- prerequisites and builds ------------------------------------------------
for tool in wrk nginx node npm jq sqlite3 curl; do
  command -v "$tool" >/dev/null || {
    echo "$tool missing: apt-get install -y wrk nginx-light nodejs npm jq sqlite3 curl" >&2; exit 2; }
done
say "building (release)"
cargo build --release --quiet
cargo build --release --quiet --manifest-path bench/loadgen/Cargo.toml
if [[ ! -f $ASTRO_DIR/dist/server/entry.mjs ]]; then
  say "building the Astro seed in $ASTRO_DIR"
  rm -rf "$ASTRO_DIR"; cp -r "$SHARED/astro-seed" "$ASTRO_DIR"
  (cd "$ASTRO_DIR" && npm ci --silent && npm run build --silent) >&2
fi
for port in $P_BOOKME $P_FULL $P_ASTRO 4399; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    echo "port $port is busy" >&2; exit 1
  fi
done
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- helpers -----------------------------------------------------------------
# Every bookme server runs with its documented defaults plus these.
BOOKME_ENV=(HOST=127.0.0.1 CAL_WEBHOOK_SECRET=bench-secret CAL_LINK=bookme-demo/30min)
wait_ready() { # port pid
  for ((i = 0; i < 300; i++)); do
    curl -s -o /dev/null --max-time 1 -f "http://127.0.0.1:$1/readyz" && return 0
    kill -0 "$2" 2>/dev/null || { echo "server on $1 exited" >&2; return 1; }
    sleep 0.05
  done
  echo "server on $1 not ready" >&2; return 1
}
start_bookme() { # name port db -> sets SPID
  env -u CAL_DEBUG -u RUST_LOG "${BOOKME_ENV[@]}" PORT="$2" \
    DATABASE_URL="sqlite://$3" "$BIN" serve > "$WORK/$1.log" 2>&1 &
  SPID=$!; PIDS+=("$SPID")
  wait_ready "$2" "$SPID"
}
start_astro() { # -> sets APID
  (cd "$ASTRO_DIR" && exec env -u CAL_DEBUG HOST=127.0.0.1 PORT=$P_ASTRO NODE_ENV=production \
    CAL_WEBHOOK_SECRET=bench-secret node dist/server/entry.mjs) > "$WORK/astro.log" 2>&1 &
  APID=$!; PIDS+=("$APID")
  for ((i = 0; i < 300; i++)); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$P_ASTRO/en/bookme" && return 0
    sleep 0.05
  done
  echo "Astro did not start; see $WORK/astro.log" >&2; return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rows() { sqlite3 "$1" 'SELECT COUNT(*) FROM deliveries'; }
# loadgen LABEL MODE [args...]: one measured run, appended to runs.jsonl.
lg() { local label=$1; shift
  "$LG" "$@" --label "$label" --connections $CONNS --duration "$DUR" >> "$RUNS_JSONL"; }
# The same run, untimed, to warm caches and JITs.
lg_warm() { "$LG" "$@" --label warmup --connections $CONNS --duration "$WARM" > /dev/null; }
# bench.sh's summary.tsv rows as loadgen-style JSON lines.
wrk_to_json() { # label summary.tsv
  awk -F'\t' -v l="$1" 'NR>1 {printf "{\"label\":\"%s\",\"tool\":\"wrk\",\"rps\":%s,\"p50_ms\":%s,\"p99_ms\":%s,\"errors\":%d,\"peak_rss_kb\":%s,\"cpu_ms_per_req\":%s}\n", l, $3, $4, $5, $6+$7, ($8=="NA"?"null":$8), ($11=="NA"?"null":$11/1000)}' "$2" >> "$RUNS_JSONL"
}

# --- start -------------------------------------------------------------------
say "start: exec -> first 200 on /readyz ($STARTS times each)"
for ((i = 1; i <= STARTS; i++)); do
  db=$WORK/start-$i.db
  env -u CAL_DEBUG -u RUST_LOG "${BOOKME_ENV[@]}" PORT=$P_BOOKME \
    DATABASE_URL="sqlite://$db" "$LG" ready --url "http://127.0.0.1:$P_BOOKME" \
    --label start-fresh -- "$BIN" serve >> "$RUNS_JSONL"
  env -u CAL_DEBUG -u RUST_LOG "${BOOKME_ENV[@]}" PORT=$P_BOOKME \
    DATABASE_URL="sqlite://$db" "$LG" ready --url "http://127.0.0.1:$P_BOOKME" \
    --label start-existing -- "$BIN" serve >> "$RUNS_JSONL"
done

# --- page --------------------------------------------------------------------
say "page: nginx static vs bookme, GET /en/bookme (wrk via shared scripts)"
start_bookme bookme "$P_BOOKME" "$WORK/bookme.db"; BPID=$SPID
# nginx serves bookme's own bytes: the shared script reads ASTRO_DIR's build.
HTML=$WORK/page-html/dist/client
mkdir -p "$HTML/en/bookme" "$HTML/ru/bookme"
curl -sf "http://127.0.0.1:$P_BOOKME/en/bookme" -o "$HTML/en/bookme/index.html"
curl -sf "http://127.0.0.1:$P_BOOKME/ru/bookme" -o "$HTML/ru/bookme/index.html"
echo "page: $(wc -c < "$HTML/en/bookme/index.html") bytes, identity encoding on both sides" >&2
# One run at a time, alternating, so that a change in the machine's load hits both sides.
WRKOPTS=(--runs 1 --duration "${DUR}s" --warmup "${WARM}s" --connections $CONNS)
for ((r = 1; r <= RUNS; r++)); do
  ASTRO_DIR=$WORK/page-html BENCH_RESULTS=$WORK/wrk-nginx-$r PORT=4399 \
    "$SHARED/wrk/run-static-baseline.sh" "${WRKOPTS[@]}" >&2
  BENCH_RESULTS=$WORK/wrk-bookme-$r "$SHARED/wrk/bench.sh" "http://127.0.0.1:$P_BOOKME" \
    --pid "$BPID" --only page --label bookme-page "${WRKOPTS[@]}" >&2
  wrk_to_json page-nginx "$(ls -d "$WORK/wrk-nginx-$r"/*/)summary.tsv"
  wrk_to_json page-bookme "$(ls -d "$WORK/wrk-bookme-$r"/*/)summary.tsv"
done

# --- webhook -----------------------------------------------------------------
say "webhook: Astro seed vs bookme (durable) vs bookme /healthz, unique signed deliveries"
start_astro
B=http://127.0.0.1:$P_BOOKME A=http://127.0.0.1:$P_ASTRO
lg_warm webhook --url "$A" --any-2xx
lg_warm webhook --url "$B"
lg_warm get /healthz --url "$B"
for ((r = 1; r <= RUNS; r++)); do
  lg webhook-astro webhook --url "$A" --any-2xx --pid "$APID"
  lg webhook-bookme webhook --url "$B" --pid "$BPID"
  lg healthz-bookme get /healthz --url "$B" --pid "$BPID"
done
stop "$APID"
echo "bookme store after the webhook scenario: $(rows "$WORK/bookme.db") deliveries" >&2
stop "$BPID"

# --- growth ------------------------------------------------------------------
say "growth: ingest with $GROWTH_COUNT deliveries stored vs an empty store"
# Refilled every run (about 20 s for 1 000 000 rows), since each run adds rows.
time "$ROOT/bench/fill-store.sh" "$BIN" "$GROWTH_DB" "$GROWTH_COUNT" >&2
FULL_ROWS=$(rows "$GROWTH_DB")
echo "full store holds $FULL_ROWS deliveries" >&2
start_bookme growth-empty "$P_BOOKME" "$WORK/growth-empty.db"; EPID=$SPID
start_bookme growth-full "$P_FULL" "$GROWTH_DB"; FPID=$SPID
lg_warm webhook --url "http://127.0.0.1:$P_FULL"
for ((r = 1; r <= RUNS; r++)); do
  lg growth-empty webhook --url "http://127.0.0.1:$P_BOOKME" --pid "$EPID"
  lg growth-full webhook --url "http://127.0.0.1:$P_FULL" --pid "$FPID"
done
stop "$EPID"; stop "$FPID"

# --- summary -----------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$RESULTS"
jq -s \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml || echo -dirty)" \
  --arg cpu "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
  --arg nproc "$(nproc)" \
  --arg ram "$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
  --arg kernel "$(uname -r)" \
  --arg load "$LOAD_START -> $LOAD_END" \
  --arg cmd "bench/run.sh$([[ $QUICK == 1 ]] && echo ' --quick')" \
  --argjson runs "$RUNS" --argjson dur "$DUR" --argjson full_rows "$FULL_ROWS" \
  -f "$ROOT/bench/summary.jq" "$RUNS_JSONL" > "$RESULTS/latest.json"
jq -r -f "$ROOT/bench/table.jq" "$RESULTS/latest.json"
echo "wrote bench/results/latest.json" >&2
