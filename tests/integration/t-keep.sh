# t-keep.sh — the `secretctl lease --keep` agent: a kept file is never
# missing over several TTLs (sampled every ~20 ms), max_ttl ends the agent
# (it says so, stops its command, exits 1, and does not lease again), a
# kept connection the daemon closed is reconnected unseen, and
# `lease --keep -- CMD` starts CMD only once the files are in place, passes
# on the signals it gets (a rotation's on_rotate SIGHUP to the agent as the
# container's pid 1 reaches the app), and exits with CMD's status, its
# leases revoked.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
CTL=$SECRETCTL
# an idle timeout shorter than the time between renewals: the agent's kept
# connection is closed by the daemon before most renewals, which go out
# again on a new one
write_config "\"limits\": { \"idle_timeout\": \"1s\" },
  \"workloads\": [
    { \"name\": \"kept\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] }, \"inject\": \"/run/secrets\",
      \"ttl\": \"2s\", \"max_ttl\": \"1h\", \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"db\" ] },
    { \"name\": \"capped\", \"match\": { \"runtime\": \"docker\", \"uids\": [2000] }, \"inject\": \"/run/secrets\",
      \"ttl\": \"2s\", \"max_ttl\": \"5s\", \"secrets\": [ \"db\" ] },
    { \"name\": \"tight\", \"match\": { \"runtime\": \"docker\", \"uids\": [3000] }, \"inject\": \"/run/secrets\",
      \"ttl\": \"3s\", \"max_ttl\": \"4s\", \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
export SECRETD_SOCKET=$T/run/admin.sock
printf 'first' | "$CTL" put db >/dev/null || fail "put db"

# in_container NAME UID PIDNS CMD... — runs CMD in the background as UID, as
# the first process of a fresh docker-like cgroup, with a private /run (and
# its own pid namespace when PIDNS is yes, where CMD is pid 1); sets AGENT
# (the pid to signal and wait for: CMD itself without a pid namespace) and
# HOSTDIR (the host side of its secrets).
in_container() {
	local name=$1 uid=$2 pidns=$3 ns=(unshare -m)
	shift 3
	ID=$(hex64 "$name-$$")
	CT_DIRS+=("$CG/system.slice/docker-$ID.scope")
	mkdir -p "$CG/system.slice/docker-$ID.scope"
	[ "$pidns" = yes ] && ns=(unshare -m -p --fork --kill-child --mount-proc)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/docker-$ID.scope" \
		"${ns[@]}" sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' sh \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@" &
	AGENT=$!
	HOSTDIR=$T/secrets/containers/docker-$ID
}

# wait_for FILE — up to 5 s
wait_for() {
	for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.05; done
	fail "$1 never appeared"
}

# --- never missing: 4 × a 2 s TTL, sampled every ~20 ms ------------------------------
in_container keep 1000 no "$CTL" --socket "$T/run/workload.sock" lease db --keep >"$T/keep.out" 2>"$T/keep.err"
wait_for "$HOSTDIR/db"
samples=0 missing=0
end=$((SECONDS + 8))
while [ $SECONDS -lt $end ]; do
	[ -e "$HOSTDIR/db" ] || missing=$((missing + 1))
	samples=$((samples + 1))
	sleep 0.02
done
[ "$samples" -ge 150 ] || fail "only $samples samples in 8 s"
[ "$missing" = 0 ] || fail "the kept file was missing in $missing of $samples samples: $(cat "$T/keep.err")"
kill -0 "$AGENT" || fail "lease --keep exited: $(cat "$T/keep.err")"
# renewed, never leased anew (a lease again would mean it had lapsed)
grep -q "again" "$T/keep.err" && fail "the agent had to lease again: $(cat "$T/keep.err")"
n=$(grep -c '"action":"renew"' "$T/audit.jsonl" || true)
[ "$n" -ge 5 ] || fail "only $n renewals in 8 s of a 2 s TTL"
echo "kept file: present in all $samples samples over 4 TTLs, $n renewals"
kill -TERM "$AGENT"
rc=0
wait "$AGENT" || rc=$?
[ "$rc" = 0 ] || fail "lease --keep exited $rc on SIGTERM: $(cat "$T/keep.err")"
[ ! -e "$HOSTDIR/db" ] || fail "the file outlived the agent"

# --- max_ttl: the agent keeps the lease to its end, stops its command, exits 1 -------
start=$SECONDS
in_container capped 2000 no "$CTL" --socket "$T/run/workload.sock" lease db --keep -- \
	sh -c 'trap "echo app-stopped; exit 0" TERM; while :; do sleep 0.1; done' >"$T/cap.out" 2>"$T/cap.err"
wait_for "$HOSTDIR/db"
missing=0
while kill -0 "$AGENT" 2>/dev/null && [ $((SECONDS - start)) -lt 15 ]; do
	# the file is there for as long as the agent runs (bar its last moment)
	[ -e "$HOSTDIR/db" ] || missing=$((missing + 1))
	sleep 0.02
done
rc=0
wait "$AGENT" || rc=$?
took=$((SECONDS - start))
[ "$rc" = 1 ] || fail "at max_ttl the agent exited $rc, expected 1: $(cat "$T/cap.err")"
[ "$took" -ge 4 ] && [ "$took" -le 8 ] || fail "max_ttl 5s ended the agent after $took s"
expect_in "is at its max_ttl and ends at" "$T/cap.err"
expect_in "ended at its max_ttl" "$T/cap.err"
expect_in "app-stopped" "$T/cap.out"
[ "$missing" -le 2 ] || fail "the capped file was missing $missing times before the end: $(cat "$T/cap.err")"
grep -q "again" "$T/cap.err" && fail "the agent leased again past max_ttl: $(cat "$T/cap.err")"
[ ! -e "$HOSTDIR/db" ] || fail "the file outlived max_ttl"
echo "max_ttl: the agent stopped after $took s, exit 1"
# max_ttl reached by the first renewal, less than a second before the end
# of the lease: still the end, not a lease again (no command: exit 1 too)
start=$SECONDS
in_container tight 3000 no "$CTL" --socket "$T/run/workload.sock" lease db --keep >/dev/null 2>"$T/tight.err"
rc=0
wait "$AGENT" || rc=$?
took=$((SECONDS - start))
[ "$rc" = 1 ] || fail "at max_ttl (tight) the agent exited $rc: $(cat "$T/tight.err")"
[ "$took" -ge 3 ] && [ "$took" -le 7 ] || fail "max_ttl 4s ended the agent after $took s"
expect_in "ended at its max_ttl" "$T/tight.err"
grep -q "again" "$T/tight.err" && fail "the agent leased again past max_ttl: $(cat "$T/tight.err")"

# --- -- CMD: files first, signals passed on, the command's status -------------------------
# pid 1 of its own pid namespace, as an image's entrypoint is; the app's
# first instruction reads the file
in_container app 1000 yes "$CTL" --socket "$T/run/workload.sock" lease --keep -- \
	sh -c 'cat /run/secrets/db; echo; trap "echo got-HUP; cat /run/secrets/db; echo" HUP;
	       trap "echo got-TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done' >"$T/app.out" 2>"$T/app.err"
for _ in $(seq 100); do grep -q ready "$T/app.out" && break; sleep 0.05; done
grep -q ready "$T/app.out" || fail "the app did not start: $(cat "$T/app.err")"
[ "$(head -n1 "$T/app.out")" = first ] || fail "the app's first read: $(cat "$T/app.out") $(cat "$T/app.err")"
# a rotation: the daemon signals the container's main process, the agent,
# which hands SIGHUP on to the app
printf 'second' | "$CTL" rotate db -f - >/dev/null || fail "rotate"
for _ in $(seq 100); do grep -q got-HUP "$T/app.out" && break; sleep 0.05; done
grep -q got-HUP "$T/app.out" || fail "on_rotate SIGHUP did not reach the app: $(cat "$T/app.out") $(cat "$T/app.err")"
grep -A1 got-HUP "$T/app.out" | grep -q second || fail "after SIGHUP the app read: $(cat "$T/app.out")"
sleep 3 # past a TTL: the agent renews beside the app
[ -e "$HOSTDIR/db" ] || fail "the app's file lapsed: $(cat "$T/app.err")"
# a signal sent to the agent reaches the app; its exit status is the agent's
# ($AGENT is unshare --fork, which exits with its child's status; the
# agent is that child)
kill -TERM "$(pgrep -P "$AGENT")" || fail "no agent under $AGENT"
rc=0
wait "$AGENT" || rc=$?
expect_in "got-TERM" "$T/app.out"
[ "$rc" = 7 ] || fail "the agent exited $rc, expected the app's 7: $(cat "$T/app.err")"
expect_in "1 lease revoked" "$T/app.err"
[ ! -e "$HOSTDIR/db" ] || fail "the app's file outlived it"

# a command that cannot run: 127, nothing left
in_container none 1000 no "$CTL" --socket "$T/run/workload.sock" lease --keep -- /nonexistent/app >/dev/null 2>"$T/none.err"
rc=0
wait "$AGENT" || rc=$?
[ "$rc" = 127 ] || fail "a missing command: exit $rc: $(cat "$T/none.err")"
expect_in "cannot run /nonexistent/app" "$T/none.err"
[ ! -e "$HOSTDIR/db" ] || fail "a lease outlived a command that never ran"
# usage: a command needs --keep, and '--' needs a command
expect_exit 2 "$CTL" lease -- true && expect_in "needs --keep" "$T/err"
expect_exit 2 "$CTL" lease --keep -- && expect_in "must be followed by a command" "$T/err"
"$CTL" --json leases | grep -q '"leases": \[\]' || fail "leases left: $("$CTL" leases)"
echo "t-keep: ok"
