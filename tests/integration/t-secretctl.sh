# t-secretctl.sh — the client against the real daemon: every command's
# success and its failure exit code, binary values, --json, the choice of
# socket, non-admin and containerized callers (exit 3), a lease from inside a
# hand-made container, `lease --keep` across TTLs and a daemon restart, and
# no value ever in the client's argv or environment.
source "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || fail "jq is needed (.ci/deps installs it)"

containers_init
CTL=$SECRETCTL
write_config "\"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] }, \"inject\": \"/run/secrets\",
      \"ttl\": \"10m\", \"max_ttl\": \"1h\", \"secrets\": [ \"db\", \"api-token\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
# the client finds both sockets in the daemon's config, like on a host
export SECRETD_CONFIG=$T/secretd.json
unset SECRETD_SOCKET
APP=(setpriv --reuid=1000 --regid=1000 --clear-groups)

# --- usage: help, unknown commands and options, bad arguments --------------------
expect_exit 0 "$CTL" --help && expect_in "Exit status" "$T/out"
expect_exit 0 "$CTL" --version && expect_in "secretctl " "$T/out"
for c in put get rotate rm ls info lease renew revoke leases whoami status reload; do
	expect_exit 0 "$CTL" "$c" --help
	expect_in "Usage: secretctl $c" "$T/out"
done
expect_exit 2 "$CTL"
expect_exit 2 "$CTL" frobnicate && expect_in "unknown command 'frobnicate'" "$T/err"
expect_exit 2 "$CTL" --bogus ls
expect_exit 2 "$CTL" put </dev/null
expect_exit 2 "$CTL" put a b </dev/null
expect_exit 2 "$CTL" put ../etc </dev/null
expect_exit 2 "$CTL" get 'x?version=1'
expect_exit 2 "$CTL" get db --version zero
expect_exit 2 "$CTL" lease --ttl 5parsecs
expect_exit 2 "$CTL" rotate db -f /dev/null --generate 3
expect_exit 2 "$CTL" rotate db --generate 0
expect_exit 2 "$CTL" rotate db --encoding hex </dev/null
expect_exit 2 "$CTL" revoke not-an-id
# the daemon's grammar (32 lowercase hex digits), checked before asking
expect_exit 2 "$CTL" revoke abc && expect_in "not a valid lease id" "$T/err"
expect_exit 2 "$CTL" renew abc && expect_in "not a lease id" "$T/err"
expect_exit 2 "$CTL" renew 0123456789ABCDEF0123456789ABCDEF
expect_exit 2 "$CTL" revoke 0123456789abcdef0123456789abcdef0
expect_exit 2 "$CTL" ls extra

# --- admin commands, binary values --------------------------------------------------
head -c 3000 /dev/urandom >"$T/bin"
printf 'a\0b\n\0' >>"$T/bin"
expect_exit 0 "$CTL" put db -f "$T/bin" && expect_in "created db, version 1" "$T/out"
"$CTL" get db >"$T/got" || fail "get db"
cmp -s "$T/bin" "$T/got" || fail "binary value changed in a put/get round trip"
expect_exit 0 "$CTL" get db -o "$T/got.file"
cmp -s "$T/bin" "$T/got.file" || fail "get -o wrote something else"
[ "$(mode_of "$T/got.file")" = 600 ] || fail "get -o made mode $(mode_of "$T/got.file")"
echo old >"$T/loose" && chmod 0644 "$T/loose"
expect_exit 0 "$CTL" get db -o "$T/loose"
[ "$(mode_of "$T/loose")" = 600 ] || fail "get -o left an existing file at mode $(mode_of "$T/loose")"
printf 'tok-1' | "$CTL" put api-token >/dev/null || fail "put from stdin"
[ "$("$CTL" get api-token)" = tok-1 ] || fail "stdin value"

printf x >"$T/x"
expect_exit 5 "$CTL" put db -f "$T/x" && expect_in "already exists" "$T/err"
# an empty value (an empty prompt or file) only when asked for
expect_exit 1 "$CTL" put empty </dev/null && expect_in "--allow-empty" "$T/err"
expect_exit 4 "$CTL" get empty
expect_exit 0 "$CTL" put empty --allow-empty </dev/null && expect_in "(0 bytes)" "$T/out"
expect_exit 1 "$CTL" rotate empty -f /dev/null && expect_in "the value is empty" "$T/err"
# empty again: the same value, so nothing is written
expect_exit 0 "$CTL" rotate empty -f /dev/null --allow-empty &&
	expect_in "empty unchanged: the value is version 1's; nothing written" "$T/out"
expect_exit 2 "$CTL" rotate empty --generate 8 --allow-empty
expect_exit 0 "$CTL" rm empty
expect_exit 4 "$CTL" get missing && expect_in "missing" "$T/err"
expect_exit 4 "$CTL" info missing
expect_exit 4 "$CTL" rm missing
expect_exit 4 "$CTL" rotate missing </dev/null
expect_exit 1 "$CTL" put big -f /nonexistent/file && expect_in "/nonexistent/file" "$T/err"

printf 'second' >"$T/v2"
expect_exit 0 "$CTL" rotate db -f "$T/v2" && expect_in "rotated db to version 2" "$T/out"
[ "$("$CTL" get db)" = second ] || fail "rotate -f"
expect_exit 0 "$CTL" rotate db -f "$T/v2" && expect_in "db unchanged: the value is version 2's" "$T/out"
"$CTL" --json rotate db -f "$T/v2" | jq -e '.unchanged == true and .version == 2' >/dev/null ||
	fail "rotate --json of the same value"
"$CTL" get db --version 1 | cmp -s "$T/bin" - || fail "get --version 1 after a rotation"
expect_exit 4 "$CTL" get db --version 7
expect_exit 0 "$CTL" rotate api-token --generate 24 --encoding hex
[[ "$("$CTL" get api-token)" =~ ^[0-9a-f]{48}$ ]] || fail "generated hex value: $("$CTL" get api-token | head -c 60)"
expect_exit 0 "$CTL" ls
expect_in "api-token" "$T/out" && expect_in "db" "$T/out"
expect_in "VERSION" "$T/out"
expect_exit 0 "$CTL" info db && expect_in "version:  2" "$T/out"
expect_exit 0 "$CTL" status && expect_in "secrets:      2" "$T/out"
expect_exit 0 "$CTL" reload && expect_in "reloaded: 1 workload" "$T/out"
expect_exit 0 "$CTL" whoami && expect_in "admin:     yes" "$T/out"

# --json is the daemon's JSON, for scripts
"$CTL" --json ls | jq -e '.secrets | length == 2' >/dev/null || fail "ls --json"
"$CTL" --json status | jq -e '.pid > 0 and .secrets == 2' >/dev/null || fail "status --json"
"$CTL" --json info db | jq -e '.version == 2 and (.versions | length) == 2' >/dev/null || fail "info --json"
"$CTL" --json whoami | jq -e '.admin == true and .runtime == "host"' >/dev/null || fail "whoami --json"
printf 'x' | "$CTL" --json put jsontest | jq -e '.version == 1' >/dev/null || fail "put --json"
"$CTL" --json rotate jsontest --generate 8 | jq -e '.version == 2' >/dev/null || fail "rotate --json"
"$CTL" --json rm jsontest | jq -e '.deleted == "jsontest"' >/dev/null || fail "rm --json"
expect_exit 4 "$CTL" get jsontest

# a daemon that is not there: exit 6, and the message names the socket
expect_exit 6 "$CTL" --socket "$T/run/nothing.sock" ls
expect_in "$T/run/nothing.sock" "$T/err" && expect_in "No such file or directory" "$T/err"
SECRETD_SOCKET=$T/run/nothing.sock expect_exit 6 "$CTL" status
expect_in "$T/run/nothing.sock (from \$SECRETD_SOCKET)" "$T/err"

# --- a user who is not an admin: the admin socket does not open for them,
# the client falls back to the workload socket, and admin commands say 3
chmod 0755 "$T/run"
expect_exit 0 "${APP[@]}" "$CTL" whoami && expect_in "admin:     no" "$T/out"
for cmd in ls status reload "info db" "get db" "rm db"; do
	# shellcheck disable=SC2086
	expect_exit 3 "${APP[@]}" "$CTL" $cmd </dev/null
done
expect_exit 3 "${APP[@]}" "$CTL" put new </dev/null
expect_exit 3 "${APP[@]}" "$CTL" rotate db </dev/null
expect_exit 3 "${APP[@]}" "$CTL" lease db && expect_in "no workload" "$T/err"

# --- on a terminal: a prompt, no echo (script(1) gives the client a pty; the
# value is typed once the prompt is up, and echo is off before the prompt)
mkfifo "$T/ttyin"
script -qec "$CTL put typed" /dev/null <"$T/ttyin" >"$T/tty.out" 2>&1 &
typist=$!
exec 8>"$T/ttyin"
for _ in $(seq 200); do grep -q "input hidden" "$T/tty.out" && break; sleep 0.05; done
printf 'typed-%s\n' "$$" >&8
exec 8>&-
wait "$typist" || fail "put on a terminal: $(cat "$T/tty.out")"
expect_in "Value for typed (input hidden)" "$T/tty.out"
grep -qF "typed-$$" "$T/tty.out" && fail "the terminal echoed the value: $(cat "$T/tty.out")"
[ "$("$CTL" get typed)" = "typed-$$" ] || fail "value typed on a terminal"

# --- values never in argv or the environment --------------------------------------
MARK="value-mark-$$-$RANDOM"
mkfifo "$T/fifo"
"$CTL" put watched -f "$T/fifo" >/dev/null 2>&1 &
ctl=$!
exec 7>"$T/fifo"
printf '%s' "$MARK" >&7
sleep 0.3 # the client has read the value and waits for the end of it
tr '\0' ' ' <"/proc/$ctl/cmdline" | grep -qF "$MARK" && fail "value in the client's argv"
tr '\0' '\n' <"/proc/$ctl/environ" | grep -qF "$MARK" && fail "value in the client's environment"
exec 7>&-
wait "$ctl" || fail "put from a fifo"
[ "$("$CTL" get watched)" = "$MARK" ] || fail "fifo value"
grep -qF "$MARK" "$T/daemon.log" "$T/audit.jsonl" && fail "value in the daemon's log or audit"

# --- inside a hand-made container -----------------------------------------------------
new_container ctl
C1=$ID
# ct ID SCRIPT — root in fresh mount+pid namespaces in the container's cgroup,
# its own /run; $APP runs as uid 1000; only the workload socket is named.
ct() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/docker-$1.scope" \
		unshare -m -p --fork --mount-proc env CTL="$CTL" WORK="$T/run/workload.sock" ADMIN="$T/run/admin.sock" \
		APP="${APP[*]}" sh -ec "mount -t tmpfs -o mode=0755 tmpfs /run; $2"
}
ct "$C1" '
$APP $CTL --socket "$WORK" whoami
$APP $CTL --socket "$WORK" lease db --ttl 5m
echo "content=$($APP cat /run/secrets/db)"
$APP $CTL --socket "$WORK" leases | sed "s/^/leases: /"
$APP $CTL --socket "$WORK" --json leases >/tmp/leases.json
id=$(grep -o "\"id\": *\"[0-9a-f]*\"" /tmp/leases.json | head -n1 | cut -d\" -f4)
$APP $CTL --socket "$WORK" renew "$id" --ttl 20m && echo renew-ok
$APP $CTL --socket "$WORK" ls </dev/null || echo "ls-exit=$?"
$CTL --socket "$ADMIN" ls </dev/null || echo "root-ls-exit=$?"
$CTL --socket "$ADMIN" rotate db </dev/null || echo "root-rotate-exit=$?"
$APP $CTL --socket "$WORK" revoke "$id" && echo revoke-ok
[ -e /run/secrets/db ] && echo STILL-THERE || true
$APP $CTL --socket "$WORK" revoke "$id" 2>/dev/null || echo "revoke-again-exit=$?"
' >"$T/ct.out" 2>&1 || fail "container: $(cat "$T/ct.out")"
expect_in "id:        $C1" "$T/ct.out"
expect_in "admin:     no" "$T/ct.out"
expect_in "workload:  web" "$T/ct.out"
expect_in "/run/secrets/db" "$T/ct.out"
expect_in "content=second" "$T/ct.out"
# leases, inside the container: its own path, and the owner's column
grep "^leases: " "$T/ct.out" | grep -q "OWNER" || fail "leases has no OWNER column: $(cat "$T/ct.out")"
grep "^leases: [0-9a-f]" "$T/ct.out" | grep -q " /run/secrets/db$" || fail "leases inside the container: $(cat "$T/ct.out")"
grep "^leases: " "$T/ct.out" | grep -q "$T/secrets" && fail "leases showed the host path inside the container: $(cat "$T/ct.out")"
grep "^leases: [0-9a-f]" "$T/ct.out" | grep -q " docker-${C1:0:12} " || fail "leases' owner: $(cat "$T/ct.out")"
expect_in "renew-ok" "$T/ct.out"
expect_in "ls-exit=3" "$T/ct.out"
expect_in "root-ls-exit=3" "$T/ct.out"
expect_in "root-rotate-exit=3" "$T/ct.out"
expect_in "revoke-ok" "$T/ct.out"
expect_in "revoke-again-exit=4" "$T/ct.out"
grep -q STILL-THERE "$T/ct.out" && fail "revoked file still there: $(cat "$T/ct.out")"

# --- lease --keep: renews past several TTLs, survives a daemon restart, revokes on stop
new_container keeper
K=$ID
hostfile=$T/secrets/containers/docker-$K/api-token
# no pid namespace: every exec keeps this pid, so $! is the client itself
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/docker-$K.scope" \
	unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' sh \
	"${APP[@]}" "$CTL" --socket "$T/run/workload.sock" lease api-token --ttl 2s --keep >"$T/keep.out" 2>"$T/keep.err" &
keeper=$!
for _ in $(seq 100); do [ -e "$hostfile" ] && break; sleep 0.05; done
[ -e "$hostfile" ] || fail "lease --keep made no file: $(cat "$T/keep.err")"
sleep 5 # two and a half TTLs
[ -e "$hostfile" ] || fail "lease --keep let the file expire: $(cat "$T/keep.err")"
kill -0 "$keeper" || fail "lease --keep exited: $(cat "$T/keep.err")"
# the admin's table says whose each lease is, and where the host keeps it
expect_exit 0 "$CTL" leases
expect_in "OWNER" "$T/out"
grep -q "api-token .* docker-${K:0:12} *$hostfile$" "$T/out" || fail "admin's leases: $(cat "$T/out")"
# the daemon goes away for longer than the TTL and comes back
stop_daemon
sleep 3
start_daemon --config "$T/secretd.json"
sleep 3
[ -e "$hostfile" ] || fail "lease --keep did not lease again after a restart: $(cat "$T/keep.err")"
# down longer than the TTL: the daemon expired the lease, the client leased anew
expect_in "leased 1 secret again" "$T/keep.err"
[ "$(cat "$hostfile")" = "$("$CTL" get api-token)" ] || fail "kept file holds an old value"
kill -TERM "$keeper"
rc=0
wait "$keeper" || rc=$?
[ "$rc" = 0 ] || fail "lease --keep exited $rc on SIGTERM: $(cat "$T/keep.err")"
expect_in "revoked" "$T/keep.err"
[ ! -e "$hostfile" ] || fail "the file outlived lease --keep"
"$CTL" --json leases | jq -e '.leases | length == 0' >/dev/null || fail "leases left: $("$CTL" leases)"
echo "t-secretctl: ok"
