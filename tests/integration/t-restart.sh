# t-restart.sh — leases survive the daemon: after kill -9 (and after a clean
# stop) a restart keeps live leases with their deadlines and files, removes
# what expired meanwhile, revokes the leases of containers that ended while
# it was down, and unmounts directories nobody has a record of.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
lease() { lease_in "$@"; }
lease_id() { grep -o '"id":"[0-9a-f]*"' "$T/lease.json" | head -n1 | cut -d'"' -f4; }
expires_of() { expect_status 200 "$T/run/admin.sock" GET /v1/leases >/dev/null; grep -o "\"id\":\"$1\"[^}]*" "$T/body" | grep -o '"expires":"[^"]*"'; }

write_config "\"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/db --data-binary 'v1'

new_container keep; K=$ID
[ "$(lease "$K" 1000 '{"ttl":"1h"}')" = 201 ] || fail "lease K: $(cat "$T/lease.json")"
LK=$(lease_id); K_EXP=$(expires_of "$LK")
new_container timed; D=$ID
[ "$(lease "$D" 1000 '{"ttl":"10s"}')" = 201 ] || fail "lease D"
LD=$(lease_id); d_deadline=$(( $(date +%s) + 10 ))
new_container gone; G=$ID; G_KEEPER=$KEEPER
[ "$(lease "$G" 1000 '{}')" = 201 ] || fail "lease G"
[ "$(ls "$T/run/leases" | wc -l)" = 3 ] || fail "expected 3 lease records: $(ls "$T/run/leases")"
# S last, just before the crash, so that only S expires while we are down
# even on a slow machine
new_container short; S=$ID
[ "$(lease "$S" 1000 '{"ttl":"2s"}')" = 201 ] || fail "lease S"
[ -e "$T/run/leases/$(lease_id).json" ] || fail "no record for S: $(ls "$T/run/leases")"

# --- crash ------------------------------------------------------------------
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
kill "$G_KEEPER"                                   # G ends while we are down
ORPHAN=$(hex64 "orphan-$$")
mkdir "$T/secrets/containers/docker-$ORPHAN" && mount -t tmpfs -o size=64k tmpfs "$T/secrets/containers/docker-$ORPHAN"
echo stale >"$T/secrets/containers/docker-$ORPHAN/db"        # a directory nobody has a record of
new_container half; H=$ID
mkdir "$T/secrets/containers/docker-$H"                       # made, never mounted (killed in between)
echo stale >"$T/secrets/containers/docker-$K/other"           # a file written, its lease never recorded
echo half >"$T/secrets/containers/docker-$K/.tmp-0123abcd"    # a write cut short (older versions)
echo half >"$T/secrets/containers/docker-$K/.tmp/.tmp-4567"   # a write cut short
D_MODE=$(stat -c '%a %u %g' "$T/secrets/containers/docker-$D/db")
rm "$T/secrets/containers/docker-$D/db"                       # a live lease's file lost
sleep 2.5                                          # S expires while we are down
start_daemon --config "$T/secretd.json"
expect_in "leases recovered: 2 live, 1 expired while down" "$T/daemon.log"
[ "$(cat "$T/secrets/containers/docker-$K/db")" = v1 ] || fail "K's file lost across the crash"
[ "$(ls -A "$T/secrets/containers/docker-$K" | tr '\n' ' ')" = ".tmp db " ] || fail "files no lease owns survived: $(ls -A "$T/secrets/containers/docker-$K")"
[ -z "$(ls -A "$T/secrets/containers/docker-$K/.tmp")" ] || fail "a write cut short survived: $(ls -A "$T/secrets/containers/docker-$K/.tmp")"
[ "$(cat "$T/secrets/containers/docker-$D/db" 2>&1)" = v1 ] || fail "D's lost file was not written again"
[ "$(stat -c '%a %u %g' "$T/secrets/containers/docker-$D/db")" = "$D_MODE" ] || fail "D's file came back as $(stat -c '%a %u %g' "$T/secrets/containers/docker-$D/db"), not $D_MODE"
[ "$(expires_of "$LK")" = "$K_EXP" ] || fail "K's deadline changed: $(expires_of "$LK") vs $K_EXP"
[ ! -e "$T/secrets/containers/docker-$S" ] || fail "S expired while down but is still there"
[ ! -e "$T/secrets/containers/docker-$G" ] || fail "G ended while down but its directory is still there"
[ ! -e "$T/secrets/containers/docker-$ORPHAN" ] || fail "orphan directory left"
grep -q " $T/secrets/containers/docker-$ORPHAN " /proc/self/mountinfo && fail "orphan still mounted"
grep -q " $T/secrets/containers/docker-$K " /proc/self/mountinfo || fail "K's tmpfs was not kept"
[ ! -e "$T/secrets/containers/docker-$H" ] || fail "a half-made directory (mkdir, no mount) survived"

# --- adopted leases work as before: rotation reaches them, deadlines hold ----
expect_status 200 "$T/run/admin.sock" POST /v1/secrets/db/rotate --data-binary 'v2'
grep -q '"leases_updated":2' "$T/body" || fail "rotate after restart: $(cat "$T/body")"
[ "$(cat "$T/secrets/containers/docker-$K/db")" = v2 ] || fail "K not rotated after restart"
while [ "$(date +%s)" -le "$d_deadline" ]; do sleep 0.1; done
sleep 1
[ ! -e "$T/secrets/containers/docker-$D/db" ] || fail "D outlived its deadline across the restart"
[ "$(lease "$H" 1000 '{"ttl":"1h"}')" = 201 ] || fail "lease after a half-made directory: $(cat "$T/lease.json")"
grep -q " $T/secrets/containers/docker-$H " /proc/self/mountinfo || fail "H's lease got no tmpfs"
expect_status 200 "$T/run/admin.sock" DELETE "/v1/leases/$(lease_id)"

# --- a clean stop keeps the lease too, and nothing is served meanwhile ------
stop_daemon
[ "$(cat "$T/secrets/containers/docker-$K/db")" = v2 ] || fail "a clean stop took K's file"
start_daemon --config "$T/secretd.json"
expect_in "leases recovered: 1 live" "$T/daemon.log"
expect_status 200 "$T/run/admin.sock" DELETE "/v1/leases/$LK"
[ ! -e "$T/secrets/containers/docker-$K" ] || fail "revoke after restart left the directory"
[ -z "$(ls -A "$T/run/leases")" ] || fail "records left: $(ls -A "$T/run/leases")"
stop_daemon
echo "t-restart: ok"
