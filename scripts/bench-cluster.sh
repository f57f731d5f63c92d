#!/usr/bin/env bash
# The same `campanile bench` against a SQLite daemon, one PostgreSQL node and two PostgreSQL
# nodes on one database (README "Running several dispatchers"). Needs a release build and a
# PostgreSQL server: PG=postgres://user@host (default postgres://postgres@127.0.0.1); it
# creates and drops the database campanile_bench. SECS=5 by default. PG_QUERY is added to the
# database URL: e.g. PG_QUERY='?sslmode=disable' to measure without TLS to the database
# (the default, sslmode=prefer, uses TLS when the server offers it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/release/campanile
SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1}
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf $W' EXIT
SECS=${SECS:-5}
printf '[daemon]\nsynchronous = "full"\n' > $W/config.toml
run() { $BIN --config $W/config.toml --data $W/data "$@"; }
node() { # store port
  $BIN --config $W/config.toml --data $W/data --store "$1" daemon --listen 127.0.0.1:$2 --no-socket >$W/log.$2 2>&1 &
  echo $! > $W/pid.$2
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$2/healthz >/dev/null && return; sleep 0.1; done
}
bench() { # label, servers...
  local label=$1 first=$2; shift 2
  local also=(); for s in "$@"; do also+=(--also "http://$s"); done
  echo "== $label"
  run --server "http://$first" --token "$TOKEN" bench --seconds $SECS --report $W/$label.json "${also[@]}" | grep -E "events/s|e2e|p99|frames|errors|missing" || cat $W/$label.json
}
# SQLite
SQ=$W/sq.db
run --store $SQ user add bench --email bench@example.com >/dev/null
TOKEN=$(run --store $SQ token create --user bench --scope admin | grep -o 'cmp_[A-Za-z0-9_]*')
node $SQ 7801; bench sqlite 127.0.0.1:7801; kill $(cat $W/pid.7801); sleep 1
# PostgreSQL
psql -q $SERVER/postgres -c "DROP DATABASE IF EXISTS campanile_bench" -c "CREATE DATABASE campanile_bench"
PG=$SERVER/campanile_bench${PG_QUERY:-}
run --store $PG user add bench --email bench@example.com >/dev/null
TOKEN=$(run --store $PG token create --user bench --scope admin | grep -o 'cmp_[A-Za-z0-9_]*')
node $PG 7802; bench pg-one-node 127.0.0.1:7802; kill $(cat $W/pid.7802); sleep 1
node $PG 7803; node $PG 7804; bench pg-two-nodes 127.0.0.1:7803 127.0.0.1:7804; kill $(cat $W/pid.7803) $(cat $W/pid.7804); sleep 1
psql -q $SERVER/postgres -c "DROP DATABASE campanile_bench"
for f in $W/*.json; do echo "$(basename $f): $(python3 -c "import json,sys;r=json.load(open('$f'));print(r['events_per_s'],'ev/s p99',r['latency_ms']['p99'],'ms p50',r['latency_ms']['p50'],'missing',r['frames_missing'],'errors',r['errors'])")"; done
