# t-attest.sh — attestation attacks (DESIGN section 3): a socket handed on
# by a client that exits, and its pid reused by a process in a container;
# a user's delegated cgroup subtree with a child named like a container; a
# container nested in another; runtime helper scopes (conmon); a setuid exec
# after connect(); a container below a service (podman --pid=host
# --cgroup-parent=/system.slice/x.service); an nspawn-like container in a
# cgroup no runtime makes; a host user's `unshare -Urm` that bind-mounts
# another program over an `exe` the policy allows.  Each gets the identity
# section 3 gives it, or no service, and each decision is in the audit log.
source "$(dirname "$0")/lib.sh"
need_root

# the daemon is stopped (SIGSTOP) in some cases: never leave it so
trap '[ -n "$DAEMON_PID" ] && kill -CONT "$DAEMON_PID" 2>/dev/null; cleanup' EXIT

containers_init
USER_UID=1000
id -u "$USER_UID" >/dev/null 2>&1 || USER_UID=4242 # any uid will do for setpriv
new_container victim
ID_V=$ID
new_container outer
ID_A=$ID
ID_B=$(hex64 "inner-$$")
ID_C=$(hex64 "podman-c-$$")
ID_K=$(hex64 "crio-k-$$")
DELEG=$CG/secretd-deleg-$$
DELEG_SYS=$CG/system.slice/secretd-deleg-$$.slice
CT_DIRS+=("$DELEG" "$DELEG_SYS" "$CG/machine.slice/libpod-conmon-$ID_C.scope" "$CG/machine.slice/crio-conmon-$ID_K.scope")
UNIT=secretd-x-$$.service
TOOL_UNIT=secretd-tool-$$.service
ID_P=$(hex64 "below-a-unit-$$")
NSPAWN=/machine.slice/secretd-nspawn-$$.scope
CT_DIRS+=("$CG/system.slice/$UNIT" "$CG/system.slice/$TOOL_UNIT" "$CG$NSPAWN")
# a program the policy allows by exe, and curl under a name of its own
mkdir -p "$T/bin"
cp "$(command -v sort)" "$T/bin/allowed"
cp "$(command -v curl)" "$T/bin/okcurl"
chmod 0755 "$T/bin" "$T/bin/allowed" "$T/bin/okcurl"

write_config "\"admin\": { \"uids\": [0] },
  \"limits\": { \"idle_timeout\": \"5s\" },
  \"workloads\": [
    { \"name\": \"victim\", \"match\": { \"runtime\": \"docker\", \"id\": \"$ID_V\" }, \"secrets\": [ \"victim-secret\" ] },
    { \"name\": \"inner\", \"match\": { \"runtime\": \"docker\", \"id\": \"$ID_B\" }, \"secrets\": [ \"inner-secret\" ] },
    { \"name\": \"outer\", \"match\": { \"runtime\": \"docker\", \"id\": \"$ID_A\" }, \"secrets\": [ \"outer-secret\" ] },
    { \"name\": \"podman-c\", \"match\": { \"runtime\": \"podman\", \"id\": \"$ID_C\" }, \"secrets\": [ \"victim-secret\" ] },
    { \"name\": \"any-docker\", \"match\": { \"runtime\": \"docker\", \"uids\": [$USER_UID] }, \"secrets\": [ \"victim-secret\" ] },
    { \"name\": \"tool\", \"match\": { \"runtime\": \"host\", \"uids\": [$USER_UID], \"exe\": \"$T/bin/allowed\" },
      \"secrets\": [ \"tool-secret\" ] },
    { \"name\": \"okt\", \"match\": { \"runtime\": \"host\", \"uids\": [$USER_UID], \"exe\": \"$T/bin/okcurl\" } },
    { \"name\": \"svc-tool\", \"match\": { \"runtime\": \"systemd\", \"unit\": \"$TOOL_UNIT\", \"exe\": \"$T/bin/allowed\" },
      \"secrets\": [ \"tool-secret\" ] },
    { \"name\": \"any-systemd\", \"match\": { \"runtime\": \"systemd\" }, \"secrets\": [ \"victim-secret\" ] },
    { \"name\": \"host-root\", \"match\": { \"runtime\": \"host\", \"uids\": [0] }, \"secrets\": [ \"tool-secret\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
for n in victim-secret inner-secret outer-secret tool-secret; do
	expect_status 201 "$ADMIN" PUT "/v1/secrets/$n" --data-binary "value-of-$n"
done

CASES=0
# in_host_ns CGROUP UID CMD... — like in_cgroup, but in the host's own
# mount and pid namespaces (a runtime's helper, a host process)
in_host_ns() {
	local cg=$1 uid=$2
	shift 2
	mkdir -p "$CG$cg"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$cg" \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}
# ask CGROUP UID PIDNS METHOD PATH [BODY] — from inside CGROUP as UID (PIDNS
# yes/no as in_cgroup, "host": no namespaces of its own); the status in
# $CODE, the body in $T/body.
ask() {
	local cg=$1 uid=$2 pidns=$3 method=$4 path=$5 body=${6:-} run=(in_cgroup "$1" "$2" "$3")
	[ "$pidns" = host ] && run=(in_host_ns "$cg" "$uid")
	"${run[@]}" curl -s -w '\n%{http_code}' --unix-socket "$WORK" -X "$method" \
		${body:+-H Content-Type:application/json --data "$body"} "http://secretd$path" >"$T/out.txt" || true
	sed '$d' "$T/out.txt" >"$T/body"
	CODE=$(tail -n1 "$T/out.txt")
}
# expect_identity WANT-IDENTITY WANT-WORKLOAD — on the whoami in $T/body
expect_identity() {
	[ "$CODE" = 200 ] || fail "whoami: $CODE $(cat "$T/body")"
	grep -q "\"identity\":\"$1\"" "$T/body" || fail "identity is not '$1': $(cat "$T/body")"
	if [ "$2" = null ]; then
		grep -q '"workload":null' "$T/body" || fail "matched a workload, expected none: $(cat "$T/body")"
	else
		grep -q "\"workload\":{\"name\":\"$2\"" "$T/body" || fail "workload is not '$2': $(cat "$T/body")"
	fi
}
# expect_audit PATTERN WHAT — an audit line matches the extended regex
expect_audit() {
	grep -Eq -- "$1" "$T/audit.jsonl" || fail "no audit line for $2 (/$1/):
$(tail -n 5 "$T/audit.jsonl")"
}

# --- 1. a client hands its socket on and exits -----------------------------
out=$("$PEER_HANDOFF" "$WORK" /v1/whoami)
case $out in
"HTTP/1.1 403"*) expect_audit '"action":"request","decision":"deny".*"reason":"the attested process has exited"' "handoff" ;;
closed) expect_audit '"action":"connect","decision":"deny"' "handoff refused at accept" ;;
*) fail "a handed-on socket was served: $out" ;;
esac
CASES=$((CASES + 1))

# --- 2. … and its pid is reused by a process inside a container ------------
# The daemon is stopped while the client connects as nobody and exits, and a
# process forked onto the same pid moves into the victim container; only
# then does the daemon accept the connection.  /proc/<pid> is now the
# impostor's: the pidfd taken for the socket must tell them apart.
: >"$T/audit.mark"
out=$("$PEER_HANDOFF" "$WORK" /v1/whoami reuse "$DAEMON_PID" "$CG/system.slice/docker-$ID_V.scope" 65534 2>"$T/reuse.err") ||
	fail "pid reuse could not be staged: $(cat "$T/reuse.err")"
grep -q '^pid [0-9]* reused' "$T/reuse.err" || fail "pid not reused: $(cat "$T/reuse.err")"
case $out in
closed) expect_audit '"action":"connect","decision":"deny".*"reason":"peer exited before it was attested"' "pid reuse" ;;
"HTTP/1.1 403"*) expect_audit '"action":"request","decision":"deny"' "pid reuse" ;;
*) fail "a reused pid was served: $out" ;;
esac
grep -q "docker:$ID_V" <<<"$out" && fail "the impostor got the victim's identity: $out"
CASES=$((CASES + 1))

# --- 3. a user's delegated subtree, children named like containers ---------
# The user owns its subtree (as systemd's Delegate= or a chown gives it) and
# creates cgroups named after the victim container and a service in it.
mkdir "$DELEG" "$DELEG_SYS"
chown "$USER_UID:$USER_UID" "$DELEG" "$DELEG/cgroup.procs" "$DELEG_SYS" "$DELEG_SYS/cgroup.procs"
setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups sh -c \
	"mkdir '$DELEG/docker-$ID_V.scope' '$DELEG_SYS/docker-$ID_V.scope' '$DELEG_SYS/docker-$ID_V.scope/init.scope' \
	       '$DELEG_SYS/backup.service' '$DELEG/libpod-$ID_C.scope'"
for cg in "/secretd-deleg-$$/docker-$ID_V.scope" "/system.slice/secretd-deleg-$$.slice/docker-$ID_V.scope/init.scope" \
	"/system.slice/secretd-deleg-$$.slice/backup.service" "/secretd-deleg-$$/libpod-$ID_C.scope"; do
	ask "$cg" "$USER_UID" yes GET /v1/whoami
	expect_identity "rootless:uid$USER_UID" null
	grep -q '"runtime":"rootless"' "$T/body" || fail "runtime of $cg: $(cat "$T/body")"
	grep -q '"admin":false' "$T/body" || fail "a delegated user is admin"
	ask "$cg" "$USER_UID" yes POST /v1/leases '{"secrets":["victim-secret"]}'
	[ "$CODE" = 403 ] || fail "lease from the delegated $cg: $CODE $(cat "$T/body")"
	expect_audit "\"action\":\"lease\",\"decision\":\"deny\",\"identity\":\"rootless:uid$USER_UID\".*\"cgroup\":\"${cg//./\\.}\"" \
		"the lease denied to $cg"
	CASES=$((CASES + 1))
done
# the same user in a root-made container cgroup is that container's: the
# subtree below a container may be delegated, the container is not
mkdir "$CG/system.slice/docker-$ID_V.scope/user-sub"
chown "$USER_UID" "$CG/system.slice/docker-$ID_V.scope/user-sub"
ask "/system.slice/docker-$ID_V.scope/user-sub" "$USER_UID" yes GET /v1/whoami
expect_identity "docker:$ID_V" victim
CASES=$((CASES + 1))

# --- 4. a container nested in another is the outer one ----------------------
ask "/system.slice/docker-$ID_A.scope/docker-$ID_B.scope" 0 yes GET /v1/whoami
expect_identity "docker:$ID_A" outer
grep -q '"admin":false' "$T/body" || fail "root in a nested container is admin"
ask "/system.slice/docker-$ID_A.scope/docker-$ID_B.scope" 0 yes POST /v1/leases '{"secrets":["inner-secret"]}'
[ "$CODE" = 403 ] || fail "the inner container's grant reached it: $CODE $(cat "$T/body")"
expect_audit "\"action\":\"lease\",\"decision\":\"deny\",\"identity\":\"docker:$ID_A\".*\"secret\":\"inner-secret\",\"workload\":\"outer\"" \
	"the inner grant denied to the nested container"
ask "/system.slice/docker-$ID_A.scope/docker-$ID_B.scope" 0 yes POST /v1/leases '{"secrets":["outer-secret"]}'
[ "$CODE" = 201 ] || fail "lease from the nested container: $CODE $(cat "$T/body")"
grep -q "\"instance\":\"docker-$ID_A\"" "$T/body" || fail "the lease is not the outer container's: $(cat "$T/body")"
expect_audit "\"action\":\"lease\",\"decision\":\"allow\",\"identity\":\"docker:$ID_A\".*\"secret\":\"outer-secret\"" \
	"the outer container's lease"
ask "/system.slice/docker-$ID_A.scope/libpod-$ID_C.scope" 0 yes GET /v1/whoami
expect_identity "docker:$ID_A" outer
CASES=$((CASES + 2))

# --- 5. runtime helpers are host processes, not their containers ------------
for cg in "/machine.slice/libpod-conmon-$ID_C.scope" "/machine.slice/libpod-conmon-$ID_C.scope/libpod-$ID_C.scope" \
	"/machine.slice/crio-conmon-$ID_K.scope"; do
	mkdir -p "$CG$cg"
	ask "$cg" "$USER_UID" host GET /v1/whoami
	expect_identity "host:uid$USER_UID" null
	grep -q '"runtime":"host"' "$T/body" || fail "runtime of $cg: $(cat "$T/body")"
	ask "$cg" "$USER_UID" host POST /v1/leases '{"secrets":["victim-secret"]}'
	[ "$CODE" = 403 ] || fail "lease from the helper scope $cg: $CODE $(cat "$T/body")"
	expect_audit "\"action\":\"lease\",\"decision\":\"deny\",\"identity\":\"host:uid$USER_UID\".*\"cgroup\":\"${cg//./\\.}\"" \
		"the lease denied to $cg"
	CASES=$((CASES + 1))
done
# conmon as root on the host is a host root process: admin, as a host root is
ask "/machine.slice/libpod-conmon-$ID_C.scope" 0 host GET /v1/whoami
expect_identity "host:uid0" host-root
grep -q '"admin":true' "$T/body" || fail "host root in conmon's scope: $(cat "$T/body")"
CASES=$((CASES + 1))

# --- 6. a setuid exec after connect() ---------------------------------------
# The user connects, then execs a setuid-root program that keeps the
# connection.  The identity is the connect-time one (SO_PEERCRED), and the
# daemon re-checks the process on every request: one that changed its
# credentials since it was attested gets nothing.
cp "$PEER_HANDOFF" "$T/suid-handoff"
chown 0:0 "$T/suid-handoff"
chmod 4755 "$T/suid-handoff"
setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
	"$PEER_HANDOFF" "$WORK" /v1/whoami exec "$T/suid-handoff" >"$T/suid.out" 2>&1 || true
[ "$(grep -E '^(HTTP/1.1 [0-9]+|closed)' "$T/suid.out" | cut -c1-12 | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 403 " ] ||
	fail "before and after the setuid exec: $(cat "$T/suid.out")"
grep -q "^{\"identity\":\"host:uid$USER_UID\".*\"admin\":false" "$T/suid.out" ||
	fail "before the exec: $(cat "$T/suid.out")"
grep -q '"admin":true' "$T/suid.out" && fail "the setuid program was admin: $(cat "$T/suid.out")"
expect_audit "\"action\":\"request\",\"decision\":\"deny\",\"identity\":\"host:uid$USER_UID\".*\"reason\":\"the attested process changed its credentials" \
	"the request after the setuid exec"
CASES=$((CASES + 1))
# the same, with the exec before the daemon first looks at the connection
kill -STOP "$DAEMON_PID"
setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
	"$PEER_HANDOFF" "$WORK" /v1/whoami exec stop "$DAEMON_PID" "$T/suid-handoff" >"$T/suid.out" 2>&1 || true
kill -CONT "$DAEMON_PID"
case $(sed -n 1p "$T/suid.out") in
closed) expect_audit '"action":"connect","decision":"deny".*"reason":"the peer changed its credentials' "a setuid exec before attestation" ;;
*) fail "a peer that became setuid root before attestation was served: $(cat "$T/suid.out")" ;;
esac
CASES=$((CASES + 1))

# --- 7. a container below a service is the container, and never admin ------
# podman --pid=host --cgroup-parent=/system.slice/x.service: the host's pid
# namespace, a mount namespace of its own, a libpod scope below the unit.
mkdir -p "$CG/system.slice/$UNIT/libpod-$ID_P"
ask "/system.slice/$UNIT/libpod-$ID_P" 0 no GET /v1/whoami
expect_identity "podman:$ID_P" null
grep -q '"admin":false' "$T/body" || fail "root in a container below a unit is admin: $(cat "$T/body")"
ask "/system.slice/$UNIT/libpod-$ID_P" 0 no GET /v1/secrets/victim-secret
[ "$CODE" = 403 ] || fail "root in a container below a unit read a secret: $CODE"
expect_audit "\"action\":\"read\",\"decision\":\"deny\",\"identity\":\"podman:$ID_P\"" "the read refused"
# the unit's own process with a mount namespace of its own (PrivateTmp=)
# is the unit, but not admin: admin needs the host's mount namespace
ask "/system.slice/$UNIT" 0 no GET /v1/whoami
expect_identity "systemd:$UNIT" any-systemd
grep -q '"admin":false' "$T/body" || fail "root with its own mount namespace is admin: $(cat "$T/body")"
ask "/system.slice/$UNIT" 0 host GET /v1/whoami
grep -q '"admin":true' "$T/body" || fail "the unit's root in the host's namespaces: $(cat "$T/body")"
CASES=$((CASES + 3))
# the same with real podman, when it is here
if command -v podman >/dev/null && command -v runc >/dev/null && command -v busybox >/dev/null; then
	podman_init
	podman_image "localhost/secretd-attest-$$" "$T/img"
	podman_run below-unit --pid=host --cgroup-parent="/system.slice/$UNIT" -- "localhost/secretd-attest-$$" \
		sh -c 'lease-client /run/secretd/workload.sock GET:/v1/whoami; lease-client /run/secretd/workload.sock GET:/v1/secrets; echo done'
	podman_wait below-unit '^done'
	podman_log below-unit >"$T/podman.out"
	grep -q "\"identity\":\"podman:$CID\"" "$T/podman.out" || fail "podman below a unit: $(cat "$T/podman.out")"
	grep -q '"admin":true' "$T/podman.out" && fail "podman --pid=host below a unit is admin: $(cat "$T/podman.out")"
	grep -q '^HTTP/1.1 403' "$T/podman.out" || fail "podman below a unit listed the secrets: $(cat "$T/podman.out")"
	CASES=$((CASES + 1))
fi

# --- 8. a container no runtime pattern knows is not the host ------------------
# nspawn or LXC: own pid and mount namespaces, a cgroup that names nothing
ask "$NSPAWN" 0 yes GET /v1/whoami
expect_identity unknown null
grep -q '"reason":"a host cgroup, but outside the host' "$T/body" || fail "no reason given: $(cat "$T/body")"
ask "$NSPAWN" 0 yes POST /v1/leases '{"secrets":["tool-secret"]}'
[ "$CODE" = 403 ] || fail "an unknown container's root leased as host root: $CODE $(cat "$T/body")"
expect_audit "\"action\":\"lease\",\"decision\":\"deny\",\"identity\":\"unknown\".*\"cgroup\":\"${NSPAWN//./\\.}\"" \
	"the unknown container's lease"
# a user namespace alone (the host's mount namespace) is not the host either
in_host_ns / "$USER_UID" unshare -U curl -s --unix-socket "$WORK" http://secretd/v1/whoami >"$T/body"
grep -q '"identity":"unknown".*"reason":"a host cgroup, but outside the host.s user namespace"' "$T/body" ||
	fail "a user namespace of its own: $(cat "$T/body")"
CASES=$((CASES + 2))

# --- 9. exe is the file the kernel runs, seen from the host -------------------
# positive control: a host process of the uid running the allowed file
in_host_ns / "$USER_UID" "$T/bin/okcurl" -s --unix-socket "$WORK" http://secretd/v1/whoami >"$T/body"
grep -q '"workload":{"name":"okt"' "$T/body" || fail "the allowed exe did not match: $(cat "$T/body")"
# the user's own namespaces, curl bound over the allowed path
# bound_exe CGROUP METHOD PATH [BODY]
bound_exe() {
	local cg=$1 method=$2 path=$3 body=${4:-}
	mkdir -p "$CG$cg"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$cg" \
		setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups unshare -Urm sh -c \
		'mount --bind "$0" "$1" && shift && exec "$@"' "$(command -v curl)" "$T/bin/allowed" \
		"$T/bin/allowed" -s -w '\n%{http_code}' --unix-socket "$WORK" -X "$method" \
		${body:+-H Content-Type:application/json --data "$body"} "http://secretd$path" >"$T/out.txt" || true
	sed '$d' "$T/out.txt" >"$T/body"
	CODE=$(tail -n1 "$T/out.txt")
}
bound_exe / GET /v1/whoami
grep -q "\"exe\":\"$T/bin/allowed\"" "$T/body" || fail "the bind mount did not take: $(cat "$T/body")"
grep -q '"workload":{"name":"tool"' "$T/body" && fail "curl bound over the allowed exe matched it: $(cat "$T/body")"
bound_exe / POST /v1/leases '{"secrets":["tool-secret"]}'
[ "$CODE" = 403 ] || fail "curl bound over the allowed exe leased: $CODE $(cat "$T/body")"
# … and as a service's process, which stays the unit: the exe key still fails
bound_exe "/system.slice/$TOOL_UNIT" GET /v1/whoami
expect_identity "systemd:$TOOL_UNIT" any-systemd
bound_exe "/system.slice/$TOOL_UNIT" POST /v1/leases '{"secrets":["tool-secret"]}'
[ "$CODE" = 403 ] || fail "curl bound over the allowed exe in a unit leased: $CODE $(cat "$T/body")"
CASES=$((CASES + 3))

# --- the daemon is unharmed, and nothing was handed out by mistake ----------
expect_status 200 "$ADMIN" GET /v1/leases
grep -q '"secret":"victim-secret"' "$T/body" && fail "victim-secret was leased: $(cat "$T/body")"
grep -q '"secret":"inner-secret"' "$T/body" && fail "inner-secret was leased: $(cat "$T/body")"
grep -q '"secret":"tool-secret"' "$T/body" && fail "tool-secret was leased: $(cat "$T/body")"
stop_daemon
echo "t-attest: ok — $CASES cases"
