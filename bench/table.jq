# Prints bench/results/latest.json as the Markdown tables of BENCHMARKS.md.
def r($n): if . == null then "-" else (. * $n | round) / $n | tostring end;
def row($name; $f): "| \($name) | \($f.rps | r(1)) | \($f.p50_ms | r(100)) | \($f.p99_ms | r(100)) | \($f.errors) | \(if $f.peak_rss_kb then ($f.peak_rss_kb / 1024 | r(10)) else "-" end) | \($f.cpu_ms_per_req | r(1000)) |";
"Run \(.date) on \(.machine.nproc) cores (\(.machine.cpu)), \(.machine.ram) RAM, kernel \(.machine.kernel); load average \(.machine.loadavg_start_end); commit \(.commit); `\(.command)`; \(.settings.runs) run(s) of \(.settings.duration_s) s at \(.settings.connections) connections, medians.",
"",
"| scenario | req/s | p50 ms | p99 ms | errors | peak RSS MB | server CPU ms/req |",
"|---|---:|---:|---:|---:|---:|---:|",
row("page: nginx static (wrk)"; .figures["page-nginx"]),
row("page: bookme `GET /en/bookme` (wrk)"; .figures["page-bookme"]),
row("webhook: Astro seed (stores nothing)"; .figures["webhook-astro"]),
row("webhook: bookme, durable (SQLite FULL)"; .figures["webhook-bookme"]),
row("bookme `GET /healthz`"; .figures["healthz-bookme"]),
row("growth: bookme, empty store"; .figures["growth-empty"]),
row("growth: bookme, \(.settings.growth_stored_deliveries) stored"; .figures["growth-full"]),
"",
"| start | exec to ready, median ms | worst ms | idle RSS MB |",
"|---|---:|---:|---:|",
(["start-fresh", "start-existing"][] as $k | .figures[$k] as $s
  | "| \($k) | \($s.ready_ms | r(10)) | \($s.ready_ms_max | r(10)) | \(($s.idle_rss_kb // 0) / 1024 | r(10)) |"),
"",
"| target | measured | goal | met |",
"|---|---:|---:|---|",
(.targets[] | "| \(.name) | \(.value | r(100)) \(.unit) | \(.op) \(.target) \(.unit) | \(if .met then "met" else "**missed**" end) |"),
"",
"errors across all runs: \(.errors)"
