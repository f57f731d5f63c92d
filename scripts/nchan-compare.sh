#!/usr/bin/env bash
# `campanile bench --users N` beside nginx + nchan (in memory), with the same client, in one
# run (README "Running for a team"). Needs a release build and Debian's nginx with the nchan
# module (`apt-get install nginx libnginx-mod-nchan`); nginx runs unprivileged on
# 127.0.0.1:$PORT from a temporary directory and is stopped at the end.
# Usage: scripts/nchan-compare.sh [USERS...]   (default 1000 5000 10000; K=20 broadcasts)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/release/campanile}
K=${K:-20}
PORT=${PORT:-7890}
W=$(mktemp -d)
trap 'if [ -f $W/nginx.pid ]; then kill "$(cat $W/nginx.pid)"; fi; sleep 1; rm -rf $W' EXIT
mkdir -p $W/tmp
cat > $W/nginx.conf <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes auto;
worker_rlimit_nofile 20000;
pid $W/nginx.pid;
error_log $W/error.log warn;
events { worker_connections 19000; }
http {
    access_log off;
    client_body_temp_path $W/tmp; proxy_temp_path $W/tmp; fastcgi_temp_path $W/tmp;
    uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
    nchan_shared_memory_size 256m;
    server {
        listen 127.0.0.1:$PORT;
        location /sub/bench { nchan_subscriber websocket; nchan_channel_id bench; }
        location /pub/bench { nchan_publisher; nchan_channel_id bench; nchan_message_buffer_length 8; }
    }
}
EOF
nginx -c $W/nginx.conf -e $W/error.log
sleep 0.5
PIDS=$(pgrep -d, -P "$(cat $W/nginx.pid)")
PIDS="$(cat $W/nginx.pid),$PIDS"
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000 10000)
for n in "${SIZES[@]}"; do
  for what in campanile nchan; do
    echo "== $n users, $what ($(uptime | sed 's/.*load/load/'))"
    if [ $what = nchan ]; then
      $BIN bench --users $n --broadcasts $K --nchan http://127.0.0.1:$PORT --nchan-pids $PIDS --report $W/r.json
    else
      $BIN bench --users $n --broadcasts $K --report $W/r.json
    fi | sed -n '2,9p'
  done
done
