#!/bin/sh
# bench-push.sh STANDIN BENCH MAKE_CERTS [N] [RUNS] - pushes/s over one
# HTTP/2 connection to the local APNs stand-in: makes a test PKI (with
# MAKE_CERTS, tests/support/tu-make-certs), starts the
# stand-in (no request log), runs bench_apns RUNS times (default 3) with N
# distinct tokens (default 100000), prints one JSON line per run.
set -eu
standin=$1
bench=$2
make_certs=$3
n=${4:-100000}
runs=${5:-3}
dir=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
"$make_certs" "$dir"
"$standin" --cert "$dir/server.pem" --key "$dir/server.key" --ca "$dir/ca.pem" \
	> "$dir/port" 2> "$dir/standin.err" &
pid=$!
i=0
while ! grep -q '^port=' "$dir/port" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat "$dir/standin.err" >&2; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/^port=//p' "$dir/port")
r=0
while [ $r -lt "$runs" ]; do
	"$bench" --url "https://127.0.0.1:$port" --cert "$dir/push.pem" --key "$dir/push.key" \
		--ca "$dir/ca.pem" -n "$n"
	r=$((r + 1))
done
