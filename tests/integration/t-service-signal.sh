# t-service-signal.sh — on_rotate reaches a systemd service's main process,
# and the audit says whom each signal reached, or that it reached no one.
# A hand-made unit cgroup holds a probe started first (the service's main
# process, as a manager would start it), a `secretctl lease --keep` agent
# and a helper probe started after it; the lease itself is made by a
# secretctl that exits.
#  (i)   no service manager answers (systemd is not pid 1 here): the oldest
#        process of the unit's cgroup gets SIGHUP, the agent and the helper
#        nothing; the audit names its pid and why;
#  (ii)  a stand-in for systemd on a private system bus names the helper as
#        MainPID: the helper gets it, the oldest nothing;
#  (iii) a MainPID outside the unit's cgroup is not believed: the oldest
#        again;
#  (iv)  a host user whose leasing process has exited: reached no one.
source "$(dirname "$0")/lib.sh"
need_root
containers_init
command -v dbus-daemon >/dev/null || fail "dbus-daemon is needed (.ci/deps installs dbus-daemon)"
PROBE=$HELPER_DIR/signal-probe
STANDIN=$HELPER_DIR/systemd-standin
for h in "$PROBE" "$STANDIN"; do [ -x "$h" ] || fail "helper $h not built (make check builds it)"; done

UNIT=sigsvc-$$.service
UCG=/system.slice/$UNIT
U=1000
write_config "\"workloads\": [
    { \"name\": \"svc\", \"match\": { \"runtime\": \"systemd\", \"unit\": \"$UNIT\" },
      \"ttl\": \"1h\", \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"db\" ] },
    { \"name\": \"tool\", \"match\": { \"runtime\": \"host\", \"uids\": [$U] },
      \"ttl\": \"1h\", \"on_rotate\": { \"signal\": \"SIGUSR1\" }, \"secrets\": [ \"tooldb\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"

# --- a private system bus with a stand-in systemd on it ----------------------
cat >"$T/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/> <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile >"$T/bus.log" 2>&1 &
BUS_PID=$!
for _ in $(seq 100); do [ -S "$T/bus.sock" ] && break; sleep 0.05; done
[ -S "$T/bus.sock" ] || fail "dbus-daemon did not start: $(cat "$T/bus.log")"
STANDIN_PID=
bus_cleanup() {
	[ -n "$STANDIN_PID" ] && kill "$STANDIN_PID" 2>/dev/null
	kill "$BUS_PID" 2>/dev/null
	return 0
}
trap 'bus_cleanup; cleanup' EXIT

# --- the service: main probe first, then an agent and a helper --------------
mkdir -p "$CG$UCG"
CT_DIRS+=("$CG$UCG")
# (the command itself in the cgroup, with the shell's pid: $! is its pid)
in_unit() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$UCG" "$@"; }
start_probe() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$UCG" "$PROBE" "$T/$1" &
	CT_KEEPERS+=("$!")
	eval "${1}_PID=$!"
	for _ in $(seq 100); do [ -e "$T/$1" ] && break; sleep 0.05; done
	[ -e "$T/$1" ] || fail "probe $1 did not start"
}
start_probe main
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary 'db-1'
expect_status 201 "$ADMIN" PUT /v1/secrets/tooldb --data-binary 'tool-1'
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$UCG" env SECRETD_SOCKET="$T/run/workload.sock" \
	"$SECRETCTL" lease --ttl 1h --keep >"$T/agent.log" 2>&1 &
AGENT_PID=$!
CT_KEEPERS+=("$AGENT_PID")
start_probe helper
in_unit env SECRETD_SOCKET="$T/run/workload.sock" "$SECRETCTL" lease db --ttl 1h >"$T/lease.log" 2>&1 ||
	fail "a one-shot lease from the unit: $(cat "$T/lease.log")"
[ "$(cat "$T/secrets/systemd-$UNIT/db")" = db-1 ] || fail "no db file in the unit's directory"
kill -0 "$AGENT_PID" || fail "the --keep agent exited: $(cat "$T/agent.log")"

# rotate_to VALUE — rotates db, waits for a signal to reach either probe
rotate_to() {
	: >"$T/main"
	: >"$T/helper"
	expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary "$1"
	for _ in $(seq 60); do [ -s "$T/main" ] || [ -s "$T/helper" ] && break; sleep 0.05; done
	sleep 0.3 # a second signal, to either, would have come by now
}
# last_on_rotate — the newest on_rotate audit record of instance $1
last_on_rotate() { grep '"action":"on_rotate"' "$T/audit.jsonl" | grep -F "\"instance\":\"$1\"" | tail -n1; }

# --- (i) no manager: the oldest process of the unit -------------------------
rotate_to db-2
[ "$(cat "$T/main")" = SIGHUP ] && [ ! -s "$T/helper" ] ||
	fail "(i): main got '$(cat "$T/main")', helper got '$(cat "$T/helper")'; expected SIGHUP to the oldest (main) only"
kill -0 "$AGENT_PID" || fail "(i): the agent died of the signal"
rec=$(last_on_rotate "systemd-$UNIT")
[ "$(jq -r .target_pid <<<"$rec")" = "$main_PID" ] || fail "(i): audit target_pid: $rec (main is $main_PID)"
[ "$(jq -r .signal <<<"$rec")" = SIGHUP ] || fail "(i): audit signal: $rec"
jq -r .reason <<<"$rec" | grep -q "oldest process of $UNIT (no service manager answered)" || fail "(i): audit reason: $rec"
echo "(i): ok: $(jq -r .reason <<<"$rec")"

# --- (ii) a manager names the helper ---------------------------------------
stop_daemon
echo "$helper_PID" >"$T/mainpid"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus.sock "$STANDIN" "$UNIT" "$T/mainpid" >"$T/standin.log" 2>&1 &
STANDIN_PID=$!
for _ in $(seq 100); do grep -q ready "$T/standin.log" && break; sleep 0.05; done
grep -q ready "$T/standin.log" || fail "the stand-in did not start: $(cat "$T/standin.log")"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus.sock start_daemon --config "$T/secretd.json"
rotate_to db-3
[ "$(cat "$T/helper")" = SIGHUP ] && [ ! -s "$T/main" ] ||
	fail "(ii): helper (MainPID) got '$(cat "$T/helper")', main got '$(cat "$T/main")'; expected SIGHUP to MainPID only"
rec=$(last_on_rotate "systemd-$UNIT")
[ "$(jq -r .target_pid <<<"$rec")" = "$helper_PID" ] || fail "(ii): audit target_pid: $rec (MainPID is $helper_PID)"
jq -r .reason <<<"$rec" | grep -q "the main process systemd names for $UNIT" || fail "(ii): audit reason: $rec"
echo "(ii): ok: $(jq -r .reason <<<"$rec")"

# --- (iii) a MainPID outside the unit is not believed -----------------------
echo "$BUS_PID" >"$T/mainpid"
rotate_to db-4
[ "$(cat "$T/main")" = SIGHUP ] && [ ! -s "$T/helper" ] ||
	fail "(iii): main got '$(cat "$T/main")', helper got '$(cat "$T/helper")'; a MainPID outside the unit was believed"
kill -0 "$BUS_PID" || fail "(iii): the process outside the unit was signalled"
[ "$(jq -r .target_pid <<<"$(last_on_rotate "systemd-$UNIT")")" = "$main_PID" ] || fail "(iii): audit: $(last_on_rotate "systemd-$UNIT")"
echo "(iii): ok"

# --- (iv) a host user whose leasing process exited: no one -----------------
setpriv --reuid=$U --regid=$U --clear-groups env SECRETD_SOCKET="$T/run/workload.sock" "$SECRETCTL" lease tooldb \
	--ttl 1h >"$T/tool.log" 2>&1 || fail "host user lease: $(cat "$T/tool.log")"
expect_status 200 "$ADMIN" POST /v1/secrets/tooldb/rotate --data-binary 'tool-2'
rec=$(last_on_rotate "host-uid$U")
[ -n "$rec" ] || fail "(iv): no on_rotate audit record for host-uid$U: $(grep on_rotate "$T/audit.jsonl")"
[ "$(jq -r .target_pid <<<"$rec")" = 0 ] || fail "(iv): a signal reached someone: $rec"
jq -r .reason <<<"$rec" | grep -q '^SIGUSR1 reached no one: the process that last leased (pid [0-9]*) has exited$' ||
	fail "(iv): audit reason: $rec"
echo "(iv): ok: $(jq -r .reason <<<"$rec")"

grep -qF -e db-2 -e db-3 -e tool-2 "$T/daemon.log" "$T/audit.jsonl" && fail "a value leaked into the log"
echo "t-service-signal: ok"
