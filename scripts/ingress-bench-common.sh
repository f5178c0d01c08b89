# Sourced by scripts/bench-redis-ingress and scripts/bench-rabbitmq-ingress: the node started
# with an ingress section, the wait for every order to be accepted and final (read from its
# store), and the JSON line both print. Expects $root, $node, $run, $orders; sets $node_pid.

now_ms() { date +%s%3N; }
cpu_s() {  # user + system CPU seconds of a process
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
peak_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# start_node INGRESS_JSON: config/bench-w1.json with "ingress" set to INGRESS_JSON, started in
# $run; returns once it listens.
start_node() {
  mkdir -p "$run/data"
  sed '/^\/\//d' config/bench-w1.json | php -r '
    $cfg = json_decode(stream_get_contents(STDIN), true);
    $cfg["ingress"] = json_decode($argv[1], true);
    echo json_encode($cfg, JSON_PRETTY_PRINT);' "$1" >"$run/node.json"
  (cd "$run" && exec "$root/$node" --config node.json >node.out 2>node.log) &
  node_pid=$!
  for _ in $(seq 200); do
    grep -q "listening on" "$run/node.out" 2>/dev/null && break
    sleep 0.05
  done
}

# wait_for_orders START_MS: sets accepted_at and final_at (ms) once the store holds $orders
# orders, and all of them final; exits 1 after 600 s.
wait_for_orders() {
  accepted_at=""
  final_at=""
  local until=$(($1 + 600000)) stored final
  while [ -z "$final_at" ] && [ "$(now_ms)" -lt "$until" ]; do
    read -r stored final < <(sqlite3 -separator ' ' "$run/data/topup.db" \
      "SELECT count(*), coalesce(sum(status IN ('succeeded', 'failed')), 0) FROM orders" \
      2>/dev/null || echo "0 0")
    [ -z "$accepted_at" ] && [ "${stored:-0}" -ge "$orders" ] && accepted_at=$(now_ms)
    [ "${final:-0}" -ge "$orders" ] && final_at=$(now_ms)
    sleep 0.2
  done
  [ -n "$final_at" ] || { echo "$(basename "$0"): not every order final in 600 s" >&2; exit 1; }
}

# report WORKLOAD START_MS PUSHED_MS RESULTS_NAME RESULTS BROKER BROKER_PID BROKER_CPU_AT_START
# [MORE]: the JSON line, MORE (',"key":value' pairs) before its end. The broker's CPU is counted from the first push (a broker's own start-up,
# seconds for RabbitMQ, is not the ingress's cost); its peak RSS is over its whole life.
report() {
  local start=$2 broker_cpu
  broker_cpu=$(echo "$(cpu_s "$7") $8" | awk '{ printf "%.2f", $1 - $2 }')
  rate() { echo "$orders $1" | awk '{ printf "%.0f", $1 * 1000 / ($2 > 0 ? $2 : 1) }'; }
  printf '{"workload":"%s","orders":%d,"pushed_per_s":%s,' "$1" "$orders" \
    "$(rate $(($3 - start)))"
  printf '"accepted_per_s":%s,"final_per_s":%s,"%s":%d,' \
    "$(rate $((accepted_at - start)))" "$(rate $((final_at - start)))" "$4" "$5"
  printf '"%s_cpu_s":%s,"%s_peak_mib":%s,"node_cpu_s":%s,"node_peak_mib":%s}\n' \
    "$6" "$broker_cpu" "$6" "$(peak_mib "$7")" "$(cpu_s "$node_pid")" \
    "$(peak_mib "$node_pid")" | sed "s/}\$/${9:-}}/"
}
