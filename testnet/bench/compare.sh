#!/usr/bin/env bash
# Side by side on this host: 4 Tutti validators, then 4 CometBFT validators (the version in
# go.mod), each with CometBFT's kvstore in process on loopback, each loaded by the same
# generator (tutti load: open loop, 100-byte kvstore transactions, 64 broadcasts in flight,
# latency from due time to the first NewBlock event reporting the commit), one engine and
# one rate at a time on a fresh network, then once more at KILL_RATE with one validator
# killed a third of the way in. Prints two markdown tables.
#
# usage: compare.sh TUTTI_BIN COMETBFT_BIN "RATES" DURATION   (make bench-compare)
set -euo pipefail
tutti=$1 cmt=$2 rates=${3:-"500 2000 5000"} duration=${4:-20s}
dir=$(mktemp -d /tmp/tutti-bench.XXXXXX)
pids=()
stop_all() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 2
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$dir"' EXIT

start_tutti() {
  rm -rf "$dir/tutti"
  "$tutti" testnet --v 4 --o "$dir/tutti" --starting-port 28656 >/dev/null
  for i in 0 1 2 3; do
    "$tutti" start --home "$dir/tutti/node$i" >"$dir/tutti/node$i.log" 2>&1 &
    pids+=($!)
    # Out of the job table: bash would print "Killed" in the middle of the table when the
    # fault row kills a node on purpose. stop_all still stops it by PID.
    disown $!
  done
  endpoints=http://127.0.0.1:28657,http://127.0.0.1:28667,http://127.0.0.1:28677,http://127.0.0.1:28687
}

# CometBFT as in shared/reference/cometbft.md: testnet on 127.0.0.1, in-process kvstore,
# timeout_commit 100ms (its faster setting), log level error.
start_cometbft() {
  rm -rf "$dir/cmt"
  "$cmt" testnet --v 4 --o "$dir/cmt" --starting-ip-address 127.0.0.1 --populate-persistent-peers >/dev/null
  local ids=() i j peers
  for i in 0 1 2 3; do ids[$i]=$("$cmt" show-node-id --home "$dir/cmt/node$i"); done
  for i in 0 1 2 3; do
    peers=""
    for j in 0 1 2 3; do
      [ "$j" = "$i" ] && continue
      peers="$peers${peers:+,}${ids[$j]}@127.0.0.1:$((27656 + 10 * j))"
    done
    awk -v i="$i" -v peers="$peers" '
      /^\[/ { section = $0 }
      /^proxy_app = / { $0 = "proxy_app = \"kvstore\"" }
      /^persistent_peers = / { $0 = "persistent_peers = \"" peers "\"" }
      /^timeout_commit = / { $0 = "timeout_commit = \"100ms\"" }
      /^log_level = / { $0 = "log_level = \"error\"" }
      /^prometheus = / { $0 = "prometheus = false" }
      /^laddr = / && section == "[rpc]" { $0 = "laddr = \"tcp://127.0.0.1:" 27657 + 10 * i "\"" }
      /^laddr = / && section == "[p2p]" { $0 = "laddr = \"tcp://127.0.0.1:" 27656 + 10 * i "\"" }
      { print }' "$dir/cmt/node$i/config/config.toml" >"$dir/cmt/node$i/config/config.toml.new"
    mv "$dir/cmt/node$i/config/config.toml.new" "$dir/cmt/node$i/config/config.toml"
  done
  for i in 0 1 2 3; do
    "$cmt" start --home "$dir/cmt/node$i" >"$dir/cmt/node$i.log" 2>&1 &
    pids+=($!)
    disown $!
  done
  endpoints=http://127.0.0.1:27657,http://127.0.0.1:27667,http://127.0.0.1:27677,http://127.0.0.1:27687
}

# row ENGINE RATE: one load run against the running network, as a table row.
row() {
  local report
  sleep 5
  report=$("$tutti" load --quiet --endpoints "$endpoints" --rate "$2" --duration "$duration" --drain 10s 2>&1 | grep -A9 "load summary")
  awk -v engine="$1" -v rate="$2" '
    /committed .* in the send phase/ { match($0, /\([0-9.]+ tx\/s\)/); tps = substr($0, RSTART + 1, RLENGTH - 7) }
    /latency/ { p50 = $3; p99 = $9 }
    /never committed/ { never = $3 }
    /sent .*unsent/ { match($0, /unsent [0-9]+/); unsent = substr($0, RSTART + 7, RLENGTH - 7) }
    END { printf "| %s | %s | %s | %s | %s | %s | %s |\n", engine, rate, tps, p50, p99, unsent, never }' <<<"$report"
}

# kill_row ENGINE RATE NODE3_PID ENDPOINTS_0_TO_2: a load run on nodes 0-2 during which
# node 3 is killed (-9) a third of the way in, at the moment the generator's window opens:
# the longest time without a new height from then on, and p50/p99 of the transactions due
# after the kill.
kill_row() {
  local report secs third
  secs=${duration%s}
  third=$((secs / 3))
  sleep 5
  report=$("$tutti" load --quiet --endpoints "$4" --rate "$2" --duration "$duration" --drain 10s \
    --window-from "${third}s" --window-exec "kill -9 $3" 2>&1 | grep -A12 "load summary")
  awk -v engine="$1" -v rate="$2" -v at="$third" '
    /committed .* in the send phase/ { match($0, /\([0-9.]+ tx\/s\)/); tps = substr($0, RSTART + 1, RLENGTH - 7) }
    /^  from / { p50 = $7; p99 = $10; stall = $(NF - 1) }
    /never committed/ { never = $3 }
    END { printf "| %s | %s | %s s | %s | %s | %s | %s | %s |\n", engine, rate, at, tps, stall, p50, p99, never }' <<<"$report"
}

echo "| engine | offered tx/s | committed tx/s | p50 ms | p99 ms | unsent (generator saturated) | acknowledged, never committed |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for rate in $rates; do
  start_tutti
  row "Tutti $("$tutti" version | head -1 | awk '{print $NF}')" "$rate"
  stop_all
  start_cometbft
  row "CometBFT $("$cmt" version)" "$rate"
  stop_all
done

# One of 4 validators killed mid-run, at KILL_RATE (default 1000) offered tx/s sent to the
# other three.
echo
echo "| engine | offered tx/s | node 3 killed at | committed tx/s | longest stall ms | p50 ms after the kill | p99 ms after the kill | acknowledged, never committed |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
start_tutti
kill_row "Tutti $("$tutti" version | head -1 | awk '{print $NF}')" "${KILL_RATE:-1000}" "${pids[3]}" \
  http://127.0.0.1:28657,http://127.0.0.1:28667,http://127.0.0.1:28677
stop_all
start_cometbft
kill_row "CometBFT $("$cmt" version)" "${KILL_RATE:-1000}" "${pids[3]}" \
  http://127.0.0.1:27657,http://127.0.0.1:27667,http://127.0.0.1:27677
stop_all
