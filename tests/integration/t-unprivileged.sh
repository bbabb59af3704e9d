# t-unprivileged.sh — secretd without root (development): it says loudly
# that it has no tmpfs and no injection, and still serves leases from plain
# directories with the right owner and mode.
source "$(dirname "$0")/lib.sh"
need_root # to become another user

U=$T/u
mkdir -m 0755 "$U" && chown 65534:65534 "$U"
cat >"$T/u.json" <<JSON
{ "admin_socket": "$U/run/admin.sock", "workload_socket": "$U/run/workload.sock",
  "runtime_dir": "$U/run", "state_dir": "$U/state", "secrets_root": "$U/secrets",
  "master_key": "$U/master.key", "audit_log": "$U/audit.jsonl",
  "admin": { "uids": [65534] },
  "workloads": [ { "name": "dev", "match": { "runtime": "host", "uids": [65534] }, "secrets": [ "db" ] } ] }
JSON
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
expect_exit 0 "${AS_NOBODY[@]}" "$SECRETD" init --config "$T/u.json"
: >"$T/daemon.log"
"${AS_NOBODY[@]}" "$SECRETD" --config "$T/u.json" >/dev/null 2>"$T/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 100); do grep -q serving "$T/daemon.log" && break; sleep 0.05; done
expect_in "not running as root: secret files go to plain directories" "$T/daemon.log"
"${AS_NOBODY[@]}" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$U/run/admin.sock" -X PUT \
	--data-binary 'dev-value' http://x/v1/secrets/db >"$T/code"
[ "$(cat "$T/code")" = 201 ] || fail "put as an unprivileged admin: $(cat "$T/code")"
"${AS_NOBODY[@]}" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$U/run/workload.sock" -X POST \
	--data '{}' http://x/v1/leases >"$T/code"
[ "$(cat "$T/code")" = 201 ] || fail "lease without root: $(cat "$T/code")"
f=$U/secrets/host-uid65534/db
[ "$(cat "$f")" = dev-value ] || fail "file content"
[ "$(stat -c '%a %u' "$f")" = "400 65534" ] || fail "file: $(stat -c '%a %u' "$f")"
findmnt --mountpoint "$U/secrets/host-uid65534" >/dev/null && fail "unprivileged daemon made a mount"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || fail "unclean stop"; DAEMON_PID=
echo "t-unprivileged: ok"
