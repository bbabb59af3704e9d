# t-faults.sh — the daemon under faults: a full state disk, a full tmpfs
# for an instance, peers whose /proc entry vanishes mid-attestation, and a
# container cgroup removed mid-request.  Each fails cleanly (a clear status,
# nothing torn, nothing left behind) and the daemon keeps serving.
source "$(dirname "$0")/lib.sh"
need_root
[ -n "${FAULT_PEER:-}" ] && [ -x "$FAULT_PEER" ] || fail "FAULT_PEER (build/…/helpers/fault-peer) not set"

containers_init
A=$T/run/admin.sock
W=$T/run/workload.sock
value() { head -c $(( $1 * 3 / 4 + 3 )) /dev/urandom | base64 -w0 | cut -c1-"$1" | tr -d '\n'; }
no_temps() {
	! ls -A "$1" | grep -q '^\.tmp-' || fail "a write in flight left behind in $1: $(ls -A "$1")"
	[ ! -d "$1/.tmp" ] || [ -z "$(ls -A "$1/.tmp")" ] || fail "a write in flight left behind in $1/.tmp: $(ls -A "$1/.tmp")"
}
# wait_gone PATH... — a bounded wait (the periodic sweep is 5 s) for
# things the daemon must remove; not a timing assertion, a liveness one.
wait_gone() {
	for _ in $(seq 1 300); do
		local left=0
		for p in "$@"; do [ -e "$p" ] && left=1; done
		[ "$left" = 0 ] && return 0
		sleep 0.1
	done
	fail "still there after 30 s: $(ls -d "$@" 2>/dev/null)"
}

# The state directory on a small tmpfs of its own; secrets_root tmpfs
# instances are 16 KiB.
mkdir -p "$T/state" "$T/run"
mount -t tmpfs -o size=512k,mode=0700 tmpfs "$T/state"
mount -t tmpfs -o size=256k,mode=0755 tmpfs "$T/run"   # lease records live here
write_config "\"defaults\": { \"tmpfs_size\": \"16K\" },
  \"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"docker\" }, \"secrets\": [ \"small\", \"big\", \"other\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"

# --- a full state disk --------------------------------------------------------
printf 'small-v1' >"$T/small"
expect_status 201 "$A" PUT /v1/secrets/small --data-binary @"$T/small"
value 30000 >"$T/big1"
expect_status 201 "$A" PUT /v1/secrets/big --data-binary @"$T/big1"
dd if=/dev/zero of="$T/state/filler" bs=4k 2>/dev/null || true   # until the disk is full
value 8000 >"$T/v"
expect_status 503 "$A" PUT /v1/secrets/other --data-binary @"$T/v"
expect_in '"code":' "$T/body"
grep -q 'state directory is full' "$T/body" || fail "PUT on a full disk: unclear error: $(cat "$T/body")"
expect_status 404 "$A" GET /v1/secrets/other                     # nothing half-made
value 30000 >"$T/big2"
expect_status 503 "$A" POST /v1/secrets/big/rotate --data-binary @"$T/big2"
expect_status 200 "$A" GET /v1/secrets/big                       # the old version, whole
cmp -s "$T/body" "$T/big1" || fail "big changed by a rotation that failed on a full disk"
expect_status 200 "$A" GET /v1/secrets/big/meta
grep -q '"version":1' "$T/body" || fail "a failed rotation made a version: $(cat "$T/body")"
expect_status 200 "$A" GET /v1/secrets/small
[ "$(cat "$T/body")" = small-v1 ] || fail "small unreadable on a full disk"
no_temps "$T/state"
rm "$T/state/filler"                                             # space again
expect_status 201 "$A" PUT /v1/secrets/other --data-binary @"$T/v"
expect_status 200 "$A" POST /v1/secrets/big/rotate --data-binary @"$T/big2"
expect_status 200 "$A" GET /v1/secrets/big
cmp -s "$T/body" "$T/big2" || fail "rotation after space was freed did not take"
echo "full state disk: ok"

# --- a full tmpfs for an instance ------------------------------------------
new_container tiny; C=$ID
[ "$(lease_in "$C" 1000 '{"secrets":["small"]}')" = 201 ] || fail "lease small: $(cat "$T/lease.json")"
# big (30000 bytes) cannot fit a 16 KiB tmpfs
st=$(lease_in "$C" 1000 '{"secrets":["big"]}')
[ "$st" = 503 ] || fail "lease of a too-big secret: status $st, expected 503: $(cat "$T/lease.json")"
grep -q 'is full; nothing was changed' "$T/lease.json" || fail "unclear error: $(cat "$T/lease.json")"
[ "$(ls -A "$T/secrets/containers/docker-$C" | grep -vx .tmp)" = small ] || fail "a failed lease left files: $(ls -A "$T/secrets/containers/docker-$C")"
[ "$(cat "$T/secrets/containers/docker-$C/small")" = small-v1 ] || fail "small damaged by a failed lease"
# both at once: all or nothing
st=$(lease_in "$C" 1000 '{"secrets":["other","big"]}')
[ "$st" = 503 ] || fail "lease of other+big: status $st"
[ "$(ls -A "$T/secrets/containers/docker-$C" | grep -vx .tmp)" = small ] || fail "a failed lease left files: $(ls -A "$T/secrets/containers/docker-$C")"
expect_status 200 "$A" GET /v1/leases
[ "$(grep -o '"id":' "$T/body" | wc -l)" = 1 ] || fail "failed leases were recorded: $(cat "$T/body")"
[ "$(ls "$T/run/leases" | wc -l)" = 1 ] || fail "records of failed leases: $(ls "$T/run/leases")"
# a container with nothing yet: the failed lease leaves no directory, no mount
new_container empty; E=$ID
st=$(lease_in "$E" 1000 '{"secrets":["big"]}')
[ "$st" = 503 ] || fail "first lease too big: status $st"
[ ! -e "$T/secrets/containers/docker-$E" ] || fail "a failed first lease left its directory"
grep -q " $T/secrets/containers/docker-$E " /proc/self/mountinfo && fail "a failed first lease left its mount"
# others still work
[ "$(lease_in "$E" 1000 '{"secrets":["other"]}')" = 201 ] || fail "lease other after a failure: $(cat "$T/lease.json")"
cmp -s "$T/secrets/containers/docker-$E/other" "$T/v" || fail "other's file is wrong"
# a rotation that no longer fits: the old file stays whole, and the reply says so
value 20000 >"$T/v2"
expect_status 500 "$A" POST /v1/secrets/other/rotate --data-binary @"$T/v2"
grep -q 'could not be updated' "$T/body" || fail "rotation into a full tmpfs: unclear: $(cat "$T/body")"
cmp -s "$T/secrets/containers/docker-$E/other" "$T/v" || fail "other's file torn by a rotation that did not fit"
no_temps "$T/secrets/containers/docker-$E"
no_temps "$T/secrets/containers/docker-$C"
expect_status 200 "$A" POST /v1/secrets/other/rotate --data-binary 'short'
[ "$(cat "$T/secrets/containers/docker-$E/other")" = short ] || fail "rotation after a failed one did not reach the file"
echo "full instance tmpfs: ok"

# --- peers whose /proc entry vanishes mid-attestation -----------------------
new_container vanish; V=$ID
"$FAULT_PEER" vanish "$W" "$CG" "/system.slice/docker-$V.scope" 200 >"$T/out" 2>&1 || fail "vanishing peers: $(cat "$T/out")"
echo "vanishing peers on the workload socket: $(cat "$T/out")"
"$FAULT_PEER" vanish "$A" "$CG" "/system.slice/docker-$V.scope" 200 >"$T/out" 2>&1 || fail "vanishing peers: $(cat "$T/out")"
echo "vanishing peers on the admin socket: $(cat "$T/out")"
kill -0 "$DAEMON_PID" || fail "the daemon died"
expect_status 200 "$A" GET /v1/health

# --- a cgroup removed mid-request --------------------------------------------
G=$(hex64 "gone-$$")
CT_DIRS+=("$CG/system.slice/docker-$G.scope")
"$FAULT_PEER" gone "$W" "$CG" "/system.slice/docker-$G.scope" 40 '{"secrets":["small"],"ttl":"1h"}' >"$T/out" ||
	fail "leases from vanishing cgroups: $(cat "$T/out")"
echo "leases from cgroups removed mid-request: $(cat "$T/out")"
# whatever was granted goes with the cgroup
wait_gone "$T/secrets/containers/docker-$G"
grep -q " $T/secrets/containers/docker-$G " /proc/self/mountinfo && fail "a removed cgroup's tmpfs is still mounted"
expect_status 200 "$A" GET /v1/leases
grep -q "docker-$G" "$T/body" && fail "leases of a removed cgroup live on: $(cat "$T/body")"
grep -l "docker-$G" "$T"/run/leases/*.json 2>/dev/null && fail "records of a removed cgroup live on"
# just after a lease: the container ends and its cgroup goes at once
new_container brief; B=$ID; B_KEEPER=$KEEPER
[ "$(lease_in "$B" 1000 '{"secrets":["small"],"ttl":"1h"}')" = 201 ] || fail "lease brief"
kill "$B_KEEPER"; wait "$B_KEEPER" 2>/dev/null || true
rmdir "$CG/system.slice/docker-$B.scope"
wait_gone "$T/secrets/containers/docker-$B"
expect_status 200 "$A" GET /v1/leases
grep -q "docker-$B" "$T/body" && fail "leases of an ended container live on: $(cat "$T/body")"
# a container of the same id comes back at once: it starts from nothing
new_container brief; [ "$ID" = "$B" ] || fail "hex64 not stable"
[ "$(lease_in "$B" 1000 '{"secrets":["small"],"ttl":"1h"}')" = 201 ] || fail "lease brief again: $(cat "$T/lease.json")"
[ "$(cat "$T/secrets/containers/docker-$B/small")" = small-v1 ] || fail "brief's new lease has no file"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "cgroups removed mid-request: ok"

# --- a full runtime directory: no record, no lease ----------------------------
# An acknowledged lease must outlive a crash, so one that cannot be
# recorded is refused.
dd if=/dev/zero of="$T/run/filler" bs=4k 2>/dev/null || true
new_container norecord; N=$ID
st=$(lease_in "$N" 1000 '{"secrets":["small"],"ttl":"1h"}')
if [ "$st" = 201 ]; then
	kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
	rm "$T/run/filler"
	start_daemon --config "$T/secretd.json"
	expect_status 200 "$A" GET /v1/leases
	grep -q "docker-$N" "$T/body" || fail "a lease acknowledged on a full runtime_dir was lost in a crash"
else
	[ "$st" = 503 ] || fail "lease on a full runtime_dir: status $st: $(cat "$T/lease.json")"
	[ ! -e "$T/secrets/containers/docker-$N" ] || fail "a refused lease left its directory"
	rm "$T/run/filler"
	[ "$(lease_in "$N" 1000 '{"secrets":["small"],"ttl":"1h"}')" = 201 ] || fail "lease after space was freed"
fi
echo "full runtime directory: ok"

stop_daemon
echo "t-faults: ok"
