#!/bin/sh
# bench-e2e.sh BUILD_DIR [N] - end to end through ardoised: N enrolled tablets
# (rows written directly, default 100000) in one collège, one
# `ardoisectl command bulk DeviceInformation --all`, then the time until the
# stand-in has accepted every push (from its request log).  Prints one JSON
# line: devices, bulk_queue_s (the bulk request), first_push_s and
# all_pushed_s (from the start of the bulk request), pushes_per_s (over the
# pushes' own span, first to last).  With NO_PUSH=1 the
# daemon runs without [push]: the bulk alone, for comparison.  With
# MANUAL=1, `ardoisectl push --all` replaces the bulk: the push path alone.
set -eu
build=$(cd "$1" && pwd)
n=${2:-100000}
here=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d)
spid=
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
topic=com.apple.mgmt.External.ardoise-bench
"$build/tests/support/tu-make-certs" "$w/pki" "$topic"
"$build/daemon/ardoised" --data-dir "$w/data" --init --baseline-dir "$here/../../policies/baseline" | sed -n 's/^token: //p' > "$w/token"
python3 - "$w/data/ardoise.db" "$n" "$topic" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, topic = int(sys.argv[2]), sys.argv[3]
db.execute("INSERT INTO school(uai, name, created_at) VALUES ('0131266F', 'bench', 0)")
db.executemany("INSERT INTO device(serial, udid, school, enrollment, topic, push_token,"
               " push_magic, created_at, updated_at) VALUES (?,?,?,?,?,?,?,0,0)",
               (("S%07d" % i, "U%07d" % i, "0131266F", "enrolled", topic, os.urandom(32),
                 "magic-%d" % i) for i in range(n)))
db.commit()
PY
"$build/tests/push/apns_standin" --cert "$w/pki/server.pem" --key "$w/pki/server.key" \
	--ca "$w/pki/ca.pem" --log "$w/apns.jsonl" > "$w/port" 2> "$w/standin.err" &
spid=$!
until grep -q '^port=' "$w/port" 2>/dev/null; do sleep 0.05; done
printf '[mdm]\ntopic = %s\n[push]\nurl = https://127.0.0.1:%s\ncert = %s\nkey = %s\nca = %s\n' \
	"$topic" "$(sed -n 's/^port=//p' "$w/port")" "$w/pki/push.pem" "$w/pki/push.key" \
	"$w/pki/ca.pem" > "$w/conf"
[ "${NO_PUSH:-0}" = 1 ] && printf '[mdm]\ntopic = %s\n' "$topic" > "$w/conf"
"$build/daemon/ardoised" --data-dir "$w/data" --config "$w/conf" --listen 127.0.0.1:0 \
	--workers 2 > "$w/d.log" 2>&1 &
dpid=$!
until grep -q 'event=listening' "$w/d.log" 2>/dev/null; do sleep 0.05; done
port=$(sed -n 's/.*event=listening addr=127.0.0.1:\([0-9]*\).*/\1/p' "$w/d.log")
export ARDOISE_URL="https://127.0.0.1:$port" ARDOISE_CA="$w/data/ca.pem"
export ARDOISE_TOKEN="$(cat "$w/token")"
ctl="$build/tools/ardoisectl"
t0=$(date +%s.%N)
if [ "${MANUAL:-0}" = 1 ]; then
	"$ctl" push --all > /dev/null
else
	"$ctl" command bulk DeviceInformation --all > /dev/null
fi
t1=$(date +%s.%N)
if [ "${NO_PUSH:-0}" = 1 ]; then
	python3 -c "print('{\"devices\": %d, \"bulk_queue_s\": %.2f, \"push\": \"off\"}' % ($n, $t1 - $t0))"
	exit 0
fi
while [ "$(wc -l < "$w/apns.jsonl")" -lt "$n" ]; do sleep 0.1; done
python3 - "$w/apns.jsonl" "$n" "$t0" "$t1" <<'PY'
import json, sys
n, t0, t1 = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
t = sorted(json.loads(line)["t"] for line in open(sys.argv[1]))
print(json.dumps({"devices": n, "bulk_queue_s": round(t1 - t0, 2),
                  "first_push_s": round(t[0] - t0, 2), "all_pushed_s": round(t[-1] - t0, 2),
                  "pushes_per_s": round(len(t) / (t[-1] - t[0]))}))
PY
