# lib.sh — helpers for integration tests (sourced, bash).
# Each test gets a private directory and config; the daemon runs with its
# stderr in $T/daemon.log.  Failures print what was expected and exit 1.
set -euo pipefail

T=$(mktemp -d /tmp/secretd-it.XXXXXX)
chmod 0755 "$T" # callers of other uids must reach the sockets inside
DAEMON_PID=
cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	# leases outlive the daemon: their tmpfs mounts go with the test
	awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/daemon.log" ]; then
		echo "--- daemon log:" >&2
		cat "$T/daemon.log" >&2
	fi
	exit 1
}

# write_config [extra JSON members...] — a config with every path under $T.
write_config() {
	local extra=${1:-}
	cat >"$T/secretd.json" <<JSON
{
  "admin_socket": "$T/run/admin.sock",
  "workload_socket": "$T/run/workload.sock",
  "runtime_dir": "$T/run",
  "state_dir": "$T/state",
  "secrets_root": "$T/secrets",
  "master_key": "$T/keys/master.key",
  "audit_log": "$T/audit.jsonl"${extra:+,
  $extra}
}
JSON
}

# start_daemon ARGS... — runs secretd in the background, waits until it
# says it is serving (or fails if it exits first).
start_daemon() {
	: >"$T/daemon.log"
	# stdout away from the caller's pipes: a stray daemon must not hold them
	"$SECRETD" "$@" >"$T/daemon.stdout" 2>"$T/daemon.log" &
	DAEMON_PID=$!
	for _ in $(seq 1 100); do
		grep -q 'serving' "$T/daemon.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during start-up"
		sleep 0.05
	done
	fail "daemon did not become ready in 5 s"
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ "$rc" -eq 0 ] || fail "daemon exited $rc on SIGTERM"
}

# expect_exit CODE CMD... — runs CMD, checks its exit status, keeps stderr
# in $T/err.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$T/err")"
}

expect_in() {
	grep -qF -- "$1" "$2" || fail "expected '$1' in $2: $(cat "$2")"
}

mode_of() { stat -c %a "$1"; }

# --- API helpers -----------------------------------------------------------

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "skipped: needs root (cgroups, namespaces, other uids)"
		exit 77
	fi
}

# The cgroup2 mount, wherever this host has it (never assume /sys/fs/cgroup).
cgroup2_root() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -n1
}

# api SOCKET METHOD PATH [curl args...] — prints the status; body in $T/body.
api() {
	local sock=$1 method=$2 path=$3
	shift 3
	curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$sock" -X "$method" "$@" "http://secretd$path"
}

# expect_status WANT SOCKET METHOD PATH [curl args...]
expect_status() {
	local want=$1 got
	shift
	got=$(api "$@") || true
	[ "$got" = "$want" ] || fail "$2 $3 on $(basename "$1"): status $got, expected $want; body: $(cat "$T/body" 2>/dev/null)"
}

# in_cgroup CGROUP UID PIDNS(yes|no) CMD... — runs CMD in the cgroup2
# directory CGROUP (created if missing), as UID, in private mount (and
# optionally pid) namespaces: a hand-made container.
in_cgroup() {
	local cg=$1 uid=$2 pidns=$3
	shift 3
	mkdir -p "$CG$cg"
	local ns=(unshare -m)
	[ "$pidns" = yes ] && ns=(unshare -m -p --fork --mount-proc)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$cg" \
		"${ns[@]}" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

hex64() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# A JSON field from $T/body (jq-free: the daemon's output is compact JSON).
json_field() { grep -o "\"$1\":[^,}]*" "$T/body" | head -n1 | cut -d: -f2- | tr -d '"'; }
