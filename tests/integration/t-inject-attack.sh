# t-inject-attack.sh — attacks on injection, each block replaying one:
#
#  A (hole 1)  a host user reads a container's secret from the host side:
#              uid 1000 on the host is uid 1000 in a container without a
#              user namespace, so the instance directory under secrets_root
#              must be out of its reach (containers/ root 0700), while the
#              app inside still reads /run/secrets/db-password.
#  B (hole 3)  the daemon creates directories as root where the caller
#              cannot: uid 1000 makes itself root of a user namespace
#              (`unshare -Urm`), binds a root-owned host directory over /run
#              and leases, so that the daemon's mkdir of /run/secrets lands
#              in that directory.  (i) a host workload, (ii) from inside a
#              container, (iii) from a systemd service's cgroup.
#  C (hole 4)  a process of the same container rewrites the app's read-only
#              secret: it leases from its own `unshare -Urm`, remounts the
#              clone it got read-write and writes the file, which is the
#              same tmpfs as the app's.  And a file changed to another value
#              of the same size, owner and mode is put right by a renewal.
#  D (hole 11) on_rotate signals go to an impostor: a process of the
#              container that is pid 1 of a nested pid namespace of its own
#              (`unshare -Urpf`).  (i) a container without a pid namespace,
#              (ii) one with its own, pid 1 of it the main process.
#  E           injection into a mount namespace where /run/secrets is a
#              FUSE file system that never answers: the daemon must keep
#              serving others and fail that lease within its deadline.
#  F           revoke after a crash: the first process in the container's
#              cgroup.procs is in the host's mount namespace; the restarted
#              daemon must still find the container's namespace to take the
#              mount away, and a later lease must not stack a second one.
#
# Helpers (tests/integration/helpers): signal-probe, fuse-hang, found in
# HELPER_DIR (set by `make check`).
source "$(dirname "$0")/lib.sh"
need_root

HELPER_DIR=${HELPER_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/release/helpers}
for h in signal-probe fuse-hang; do
	[ -x "$HELPER_DIR/$h" ] || fail "helper $HELPER_DIR/$h not built (make $HELPER_DIR/$h)"
done
PROBE=$HELPER_DIR/signal-probe
FUSE_HANG=$HELPER_DIR/fuse-hang
AS_1000=(setpriv --reuid=1000 --regid=1000 --clear-groups)

containers_init
ATK=$T/atk # what processes of uid 1000 (or their user namespaces) write
mkdir -m 0777 "$ATK"

# --- hand-made containers with a long-lived main process -------------------
# ct_start NAME PIDNS(yes|no) SETUP MAIN... — cgroup docker-<hex64 NAME-$$>
# (the one new_container NAME would make), own mount namespace (and pid
# namespace: MAIN is its pid 1), SETUP run there as root, then MAIN as uid
# 1000.  Processes join with ct_exec.
declare -A CT_ID CT_PID CT_PIDNS
CT_BG=()
FUSE_PID=
FUSE_CT=

ct_start() {
	local name=$1 pidns=$2 setup=$3 id cg bg pid= ns=(unshare -m)
	shift 3
	id=$(hex64 "$name-$$")
	cg=$CG/system.slice/docker-$id.scope
	mkdir -p "$cg"
	CT_DIRS+=("$cg")
	[ "$pidns" = yes ] && ns=(unshare -m -p --fork --mount-proc)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "${ns[@]}" \
		sh -ec "$setup"'
touch "$0"; exec "$@"' "$ATK/ready-$name" "${AS_1000[@]}" "$@" &
	bg=$!
	CT_BG+=("$bg")
	for _ in $(seq 100); do [ -e "$ATK/ready-$name" ] && break; sleep 0.05; done
	[ -e "$ATK/ready-$name" ] || fail "container $name did not start"
	if [ "$pidns" = yes ]; then
		for _ in $(seq 50); do pid=$(pgrep -P "$bg" | head -n1) && [ -n "$pid" ] && break; sleep 0.05; done
		[ -n "$pid" ] || fail "container $name: no pid 1"
	else
		pid=$bg
	fi
	CT_ID[$name]=$id CT_PID[$name]=$pid CT_PIDNS[$name]=$pidns
}

# ct_exec NAME UID CMD... — CMD as UID in container NAME: its cgroup, its
# mount namespace and (when it has one) its pid namespace.  ct_argv NAME
# UID PIDNS CMD... sets CT_ARGV to such a command line (PIDNS no: the mount
# namespace only), for what runs in the background: $! must be the process
# itself, not a subshell running a function.
ct_argv() {
	local name=$1 uid=$2 pidns=$3
	shift 3
	local ns=(-m)
	[ "$pidns" = yes ] && ns=(-m -p)
	CT_ARGV=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/docker-${CT_ID[$name]}.scope"
		nsenter -t "${CT_PID[$name]}" "${ns[@]}" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@")
}
ct_exec() { local n=$1 u=$2; shift 2; ct_argv "$n" "$u" "${CT_PIDNS[$n]}" "$@"; "${CT_ARGV[@]}"; }

# ct_api NAME UID METHOD PATH [DATA] — a workload call from inside; prints
# the status, the body lands in $T/body.
ct_api() {
	local name=$1 uid=$2 method=$3 path=$4 data=${5:-}
	ct_exec "$name" "$uid" curl -s --max-time 20 -w '\n%{http_code}' --unix-socket "$T/run/workload.sock" \
		-X "$method" ${data:+--data "$data"} "http://secretd$path" >"$T/ct.out" 2>/dev/null || true
	sed '$d' "$T/ct.out" >"$T/body"
	tail -n1 "$T/ct.out"
}

# /run/secrets mounts in the mount namespace of a pid
secrets_mounts() { grep -c ' /run/secrets ' "/proc/$1/mountinfo" || true; }

# Before lib.sh's cleanup: the FUSE server first (closing /dev/fuse aborts
# the requests a hung daemon waits on, or stopping it would wait forever),
# its mount, then every process of every container made here.
atk_cleanup() {
	local d
	{
		if [ -n "$FUSE_PID" ]; then
			kill -KILL "$FUSE_PID" || true
			wait "$FUSE_PID" || true
			nsenter -t "${CT_PID[$FUSE_CT]}" -m umount -l /run/secrets || true
		fi
		for d in "${CT_DIRS[@]}"; do
			[ ! -e "$d/cgroup.kill" ] || echo 1 >"$d/cgroup.kill" || true
		done
		for d in "${CT_DIRS[@]}"; do
			for _ in $(seq 40); do
				grep -q 'populated 1' "$d/cgroup.events" || break
				sleep 0.05
			done
		done
		if [ ${#CT_BG[@]} -gt 0 ]; then wait "${CT_BG[@]}" || true; fi
		cleanup
	} 2>/dev/null # quiet: no "Killed" line for each process of the containers
}
trap atk_cleanup EXIT

# --- the daemon ----------------------------------------------------------
D1=$(hex64 "sig1-$$") D2=$(hex64 "sig2-$$") UNIT=atk-$$.service
write_config "\"workloads\": [
    { \"name\": \"sig1\", \"match\": { \"runtime\": \"docker\", \"id\": \"$D1\", \"uids\": [1000] },
      \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"sig-1\" ] },
    { \"name\": \"sig2\", \"match\": { \"runtime\": \"docker\", \"id\": \"$D2\", \"uids\": [1000] },
      \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"sig-2\" ] },
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"db-password\" ] },
    { \"name\": \"svc\", \"match\": { \"runtime\": \"systemd\", \"unit\": \"$UNIT\", \"uids\": [1000] },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"db-password\" ] },
    { \"name\": \"hostapp\", \"match\": { \"runtime\": \"host\", \"uids\": [1000] },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"db-password\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
PW=atk-pw-$$
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/db-password --data-binary "$PW"
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/sig-1 --data-binary 's1'
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/sig-2 --data-binary 's2'
LEASE_DB='{"secrets":["db-password"]}'

# --- A: a host user reads a container's secret from the host side ----------
block_A() {
	ct_start a yes 'mount -t tmpfs -o mode=0755 tmpfs /run' sleep 600
	code=$(ct_api a 1000 POST /v1/leases "$LEASE_DB")
	[ "$code" = 201 ] || fail "A: lease in the container: $code $(cat "$T/body")"
	HP_A=$(json_field host_path)
	[ -n "$HP_A" ] && [ -f "$HP_A" ] || fail "A: no host-side file at host_path '$HP_A': $(cat "$T/body")"
	[ "$(ct_exec a 1000 cat /run/secrets/db-password 2>&1)" = "$PW" ] || fail "A: the app cannot read /run/secrets/db-password"
	"${AS_1000[@]}" cat "$HP_A" >/dev/null 2>&1 &&
		fail "A: host uid 1000 (not in the container) read the container's secret at $HP_A"
	"${AS_1000[@]}" ls "$(dirname "$HP_A")" >/dev/null 2>&1 &&
		fail "A: host uid 1000 listed the container's instance directory $(dirname "$HP_A")"
	echo "A: ok"
}

# --- B: no directory made as root where the caller could not make it --------
block_B() {
	# the caller: uid 1000, root of its own user namespace, a root-owned host
	# directory bound over /run
	B_LEASE='mount --bind "$0" /run || exit 9
	curl -s -o /dev/null -w "%{http_code}" --max-time 20 --unix-socket "$1" -X POST --data "$2" http://secretd/v1/leases'
	mkdir -m 0755 "$T/rootdir-b1" "$T/rootdir-b2" "$T/rootdir-b3"
	code=$("${AS_1000[@]}" unshare -Urm sh -c "$B_LEASE" "$T/rootdir-b1" "$T/run/workload.sock" "$LEASE_DB" 2>"$T/err") || true
	[ "$code" != 9 ] || fail "B(i): could not bind over /run: $(cat "$T/err")"
	[ -z "$(ls -A "$T/rootdir-b1")" ] ||
		fail "B(i): a host user's unshare -Urm lease (status $code) made '$(ls -A "$T/rootdir-b1")' ($(stat -c '%U %a' "$T/rootdir-b1"/*)) in a root-owned directory"
	echo "B(i): ok (lease status $code)"

	ct_start b yes 'mount -t tmpfs -o mode=0755 tmpfs /run' sleep 600
	code=$(ct_exec b 1000 unshare -Urm sh -c "$B_LEASE" "$T/rootdir-b2" "$T/run/workload.sock" "$LEASE_DB" 2>"$T/err") || true
	[ "$code" != 9 ] || fail "B(ii): could not bind over /run: $(cat "$T/err")"
	[ -z "$(ls -A "$T/rootdir-b2")" ] ||
		fail "B(ii): a container process's unshare -Urm lease (status $code) made '$(ls -A "$T/rootdir-b2")' ($(stat -c '%U %a' "$T/rootdir-b2"/*)) in a root-owned directory"
	echo "B(ii): ok (lease status $code)"

	mkdir -p "$CG/system.slice/$UNIT"
	CT_DIRS+=("$CG/system.slice/$UNIT")
	code=$(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/$UNIT" "${AS_1000[@]}" \
		unshare -Urm sh -c "$B_LEASE" "$T/rootdir-b3" "$T/run/workload.sock" "$LEASE_DB" 2>"$T/err") || true
	[ "$code" != 9 ] || fail "B(iii): could not bind over /run: $(cat "$T/err")"
	[ -z "$(ls -A "$T/rootdir-b3")" ] ||
		fail "B(iii): a service's unshare -Urm lease (status $code) made '$(ls -A "$T/rootdir-b3")' ($(stat -c '%U %a' "$T/rootdir-b3"/*)) in a root-owned directory"
	echo "B(iii): ok (lease status $code)"
}

# --- C: a process of the same container rewrites the app's secret ------------
block_C() {
	ct_start c yes 'mount -t tmpfs -o mode=0755 tmpfs /run' sleep 600
	code=$(ct_api c 1000 POST /v1/leases "$LEASE_DB")
	[ "$code" = 201 ] || fail "C: the app's lease: $code $(cat "$T/body")"
	LC=$(json_field id) HP_C=$(json_field host_path)
	[ -f "$HP_C" ] || fail "C: no host-side file at host_path '$HP_C'"
	FAKE=$(printf '%s' "$PW" | tr 'a-z0-9' 'A-Z9-90-8') # same size, other bytes
	ct_exec c 1000 unshare -Urm sh -c '
	curl -s -o /dev/null -w "lease=%{http_code}\n" --max-time 20 --unix-socket "$0" -X POST --data "$1" http://secretd/v1/leases
	mount -o remount,bind,rw /run/secrets && echo remounted-rw
	printf "%s" "$2" | dd of=/run/secrets/db-password conv=notrunc status=none && echo wrote
	' "$T/run/workload.sock" "$LEASE_DB" "$FAKE" >"$T/out-c" 2>&1 || true
	got=$(ct_exec c 1000 cat /run/secrets/db-password 2>&1)
	[ "$got" = "$PW" ] || fail "C: a sibling's unshare -Urm rewrote the app's secret (app now reads '$got'): $(tr '\n' ' ' <"$T/out-c")"
	[ "$(cat "$HP_C")" = "$PW" ] || fail "C: the host-side file was rewritten: $(tr '\n' ' ' <"$T/out-c")"
	echo "C: sibling rewrite ok ($(tr '\n' ' ' <"$T/out-c"))"

	# repair: same size, owner and mode, other content; a renewal writes the
	# true value again
	before=$(stat -c '%s %u %g %a' "$HP_C")
	printf '%s' "$FAKE" | dd of="$HP_C" conv=notrunc status=none
	[ "$(stat -c '%s %u %g %a' "$HP_C")" = "$before" ] || fail "C: the tampering changed more than the content"
	[ "$(cat "$HP_C")" = "$FAKE" ] || fail "C: could not tamper with $HP_C as root"
	code=$(ct_api c 1000 POST "/v1/leases/$LC/renew" '{}')
	[ "$code" = 200 ] || fail "C: renew: $code $(cat "$T/body")"
	[ "$(cat "$HP_C")" = "$PW" ] || fail "C: a renewal left a same-size, same-owner, same-mode tampered file as it was"
	[ "$(ct_exec c 1000 cat /run/secrets/db-password)" = "$PW" ] || fail "C: the app does not read the true value after the renewal"
	echo "C: repair ok"
}

# --- D: on_rotate reaches the main process, not an impostor ---------------------
block_D() {
	# rotate_probe CT SECRET — leases SECRET from CT (whose main process is a
	# probe writing $ATK/<CT>-main), with an impostor (a probe that is pid 1 of
	# a nested pid namespace, writing $ATK/<CT>-imp) beside it; rotates.
	rotate_probe() {
		local ct=$1 secret=$2 main=$ATK/$1-main imp=$ATK/$1-imp code
		ct_argv "$ct" 1000 "${CT_PIDNS[$ct]}" unshare -Urpf "$PROBE" "$imp"
		"${CT_ARGV[@]}" &
		CT_BG+=("$!")
		for _ in $(seq 100); do [ -e "$imp" ] && break; sleep 0.05; done
		[ -e "$imp" ] || fail "D($ct): the impostor probe did not start"
		code=$(ct_api "$ct" 1000 POST /v1/leases "{\"secrets\":[\"$secret\"]}")
		[ "$code" = 201 ] || fail "D($ct): lease: $code $(cat "$T/body")"
		expect_status 200 "$T/run/admin.sock" POST "/v1/secrets/$secret/rotate" --data-binary "new-$secret"
		for _ in $(seq 60); do [ -s "$main" ] || [ -s "$imp" ] && break; sleep 0.05; done
		sleep 0.3 # a second signal, to either, would have come by now
		[ "$(cat "$main")" = SIGHUP ] && [ ! -s "$imp" ] ||
			fail "D($ct): on_rotate: main process got '$(tr '\n' ' ' <"$main")', impostor (pid 1 of a nested pid namespace) got '$(tr '\n' ' ' <"$imp")'; expected SIGHUP to the main process only"
	}
	# (i) no pid namespace of its own: the main probe is the cgroup's first process
	ct_start sig1 no 'true' "$PROBE" "$ATK/sig1-main"
	[ "${CT_ID[sig1]}" = "$D1" ] || fail "D: container id mismatch"
	rotate_probe sig1 sig-1
	echo "D(i): ok"
	# (ii) its own pid namespace, the main probe its pid 1
	ct_start sig2 yes 'true' "$PROBE" "$ATK/sig2-main"
	rotate_probe sig2 sig-2
	echo "D(ii): ok"
}

# --- E: an injection that hangs does not hang the daemon -------------------
block_E() {
	ct_start e yes 'mount -t tmpfs -o mode=0755 tmpfs /run; mkdir /run/secrets' sleep 600
	FUSE_CT=e
	ct_argv e 0 no "$FUSE_HANG" /run/secrets "$ATK/fuse-ready" # the pid is fuse-hang's
	"${CT_ARGV[@]}" 2>"$T/fuse.err" &
	FUSE_PID=$!
	for _ in $(seq 100); do [ -e "$ATK/fuse-ready" ] && break; sleep 0.05; done
	[ -e "$ATK/fuse-ready" ] || fail "E: fuse-hang did not mount: $(cat "$T/fuse.err")"
	start=$SECONDS
	ct_argv e 1000 yes curl -s -o "$ATK/e-body" -w '%{http_code}' --max-time 15 --unix-socket "$T/run/workload.sock" \
		-X POST --data "$LEASE_DB" http://secretd/v1/leases
	"${CT_ARGV[@]}" >"$T/e-code" 2>/dev/null &
	E_LEASE=$!
	CT_BG+=("$E_LEASE")
	sleep 1
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 --unix-socket "$T/run/admin.sock" http://secretd/v1/status) || true
	[ "$code" = 200 ] || fail "E: while an injection hangs on a FUSE mount the daemon does not answer others (admin GET /v1/status: '$code' after 5 s)"
	wait "$E_LEASE" || true
	took=$((SECONDS - start))
	code=$(cat "$T/e-code")
	case $code in 5??) ;; *) fail "E: the hung lease answered '$code' after ${took}s, expected a 5xx: $(cat "$ATK/e-body" 2>/dev/null)" ;; esac
	[ "$took" -le 12 ] || fail "E: the hung lease took ${took}s to fail"
	expect_status 200 "$T/run/admin.sock" GET /v1/leases --max-time 5
	grep -q "${CT_ID[e]}" "$T/body" && fail "E: the failed injection left a lease: $(cat "$T/body")"
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "E: the daemon died"
	echo "E: ok (failed in ${took}s with $code)"
}

# --- F: revoke after a crash, the cgroup's first process on the host ----------
block_F() {
	new_container f # its keeper (sleep, host mount namespace) is first in cgroup.procs
	for _ in $(seq 100); do grep -qx "$KEEPER" "$CG/system.slice/docker-$ID.scope/cgroup.procs" && break; sleep 0.05; done
	ct_start f yes 'mount -t tmpfs -o mode=0755 tmpfs /run' sleep 600
	[ "$(head -n1 "$CG/system.slice/docker-${CT_ID[f]}.scope/cgroup.procs")" = "$KEEPER" ] ||
		fail "F: the keeper is not the cgroup's first process"
	code=$(ct_api f 1000 POST /v1/leases "$LEASE_DB")
	[ "$code" = 201 ] || fail "F: lease: $code $(cat "$T/body")"
	LF=$(json_field id)
	[ "$(secrets_mounts "${CT_PID[f]}")" = 1 ] || fail "F: no /run/secrets mount in the container before the crash"
	kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
	start_daemon --config "$T/secretd.json"
	expect_status 200 "$T/run/admin.sock" DELETE "/v1/leases/$LF"
	n=$(secrets_mounts "${CT_PID[f]}")
	[ "$n" = 0 ] || fail "F: after kill -9 and a restart, revoking the last lease left $n /run/secrets mount(s) in the container"
	code=$(ct_api f 1000 POST /v1/leases "$LEASE_DB")
	[ "$code" = 201 ] || fail "F: lease after the restart: $code $(cat "$T/body")"
	n=$(secrets_mounts "${CT_PID[f]}")
	[ "$n" = 1 ] || fail "F: a lease after the restart left $n /run/secrets mounts (expected exactly 1)"
	echo "F: ok"
}

# ATK_BLOCKS="C E" runs only those (while fixing one hole)
for b in ${ATK_BLOCKS:-A B C D E F}; do "block_$b"; done
stop_daemon
echo "t-inject-attack: ok"
