# Turns the run lines of bench/run.sh (one JSON object per measured run) into
# bench/results/latest.json: medians per scenario, ratios and targets.
def median: sort | if length == 0 then null
  elif length % 2 == 1 then .[(length - 1) / 2]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def runs($l): map(select(.label == $l));
def figure($l): runs($l) as $r | {
  runs: ($r | length),
  rps: ($r | map(.rps) | median),
  p50_ms: ($r | map(.p50_ms) | median),
  p99_ms: ($r | map(.p99_ms) | median),
  errors: ($r | map(.errors) | add),
  peak_rss_kb: ($r | map(.peak_rss_kb // 0) | max),
  cpu_ms_per_req: ($r | map(.cpu_ms_per_req | select(. != null)) | median)
};
def start($l): runs($l) as $r | {
  runs: ($r | length),
  ready_ms: ($r | map(.ready_ms) | median),
  ready_ms_max: ($r | map(.ready_ms) | max),
  idle_rss_kb: ($r | map(.idle_rss_kb) | median)
};
def target($name; $value; $op; $goal; $unit):
  { name: $name, value: $value, op: $op, target: $goal, unit: $unit,
    met: (if $value == null then false elif $op == ">=" then $value >= $goal
          else $value <= $goal end) };

. as $all
| (["page-nginx", "page-bookme", "webhook-astro", "webhook-bookme", "healthz-bookme",
    "growth-empty", "growth-full"] | map(. as $l | {key: $l, value: ($all | figure($l))}) | from_entries)
  as $f
| { "start-fresh": ($all | start("start-fresh")),
    "start-existing": ($all | start("start-existing")) } as $s
| ([$f["page-bookme"], $f["webhook-bookme"], $f["healthz-bookme"], $f["growth-empty"],
    $f["growth-full"]] | map(.peak_rss_kb) | max) as $rss
| {
    date: $date, commit: $commit, command: $cmd,
    machine: { nproc: ($nproc | tonumber), cpu: $cpu, ram: $ram, kernel: $kernel,
               loadavg_start_end: $load },
    settings: { connections: 64, runs: $runs, duration_s: $dur,
                growth_stored_deliveries: $full_rows },
    figures: ($f + $s),
    targets: [
      target("page: bookme / nginx req/s"; $f["page-bookme"].rps / $f["page-nginx"].rps;
             ">="; 0.8; "x"),
      target("webhook: bookme durable / Astro req/s";
             $f["webhook-bookme"].rps / $f["webhook-astro"].rps; ">="; 15; "x"),
      target("webhook: bookme durable / bookme /healthz req/s";
             $f["webhook-bookme"].rps / $f["healthz-bookme"].rps; ">="; 0.5; "x"),
      target("webhook p99 at 64 connections"; $f["webhook-bookme"].p99_ms; "<="; 10; "ms"),
      target("growth: ingest with stored deliveries / empty store";
             $f["growth-full"].rps / $f["growth-empty"].rps; ">="; 0.9; "x"),
      target("peak RSS under load (VmHWM)"; $rss / 1024; "<="; 32; "MB"),
      target("ready: exec to first 200 on /readyz (worst median)";
             ([$s["start-fresh"].ready_ms, $s["start-existing"].ready_ms] | max);
             "<="; 100; "ms")
    ],
    errors: ($all | map(.errors // 0) | add),
    runs: $all
  }
