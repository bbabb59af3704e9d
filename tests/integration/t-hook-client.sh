# t-hook-client.sh — the two client programs of the OCI hook on their own,
# without secretd's hook side (t-hook.sh has that): secretd-oci-hook refuses
# in one line naming the container when nobody listens, refuses a state over
# 64 KiB and a broken config, gives up on its own within 9 s, and keeps to
# its usage; secretd-runc adds the
# hook to config.json once on create (and run), passes every argv through
# unchanged, leaves the bundle alone on other commands, and never calls runc
# when the bundle cannot be edited.
source "$(dirname "$0")/lib.sh"

bin=$(cd "$(dirname "$SECRETCTL")" && pwd)
HOOK=${OCI_HOOK:-$bin/secretd-oci-hook}
WRAP=${RUNC_WRAPPER:-$bin/secretd-runc}
[ -x "$HOOK" ] && [ -x "$WRAP" ] || fail "no $HOOK or $WRAP: build them (make all)"
command -v jq >/dev/null || fail "jq is missing (.ci/deps installs it)"

# --- secretd-oci-hook ------------------------------------------------------------

id=3f2a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344556677
state="{\"ociVersion\":\"1.0.2\",\"id\":\"$id\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"$T\"}"
printf '%s' "$state" >"$T/state.json"

expect_exit 1 "$HOOK" --socket "$T/nobody.sock" <"$T/state.json"
[ "$(wc -l <"$T/err")" = 1 ] || fail "not one line: $(cat "$T/err")"
grep -qx "secretd-oci-hook: container 3f2a5b6c7d8e: cannot reach secretd at $T/nobody.sock: No such file or directory" "$T/err" ||
	fail "unreachable: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "printed on stdout: $(cat "$T/out")"

# a socket file nobody listens on: refused, the same line
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/dead.sock"
expect_exit 1 "$HOOK" --socket "$T/dead.sock" <"$T/state.json"
grep -qx "secretd-oci-hook: container 3f2a5b6c7d8e: cannot reach secretd at $T/dead.sock: Connection refused" "$T/err" ||
	fail "dead socket: $(cat "$T/err")"

# the socket from the config's hook_socket; a config that is not JSON refuses
printf '{ "hook_socket": "%s" }\n' "$T/from-config.sock" >"$T/cfg.json"
expect_exit 1 "$HOOK" --config "$T/cfg.json" <"$T/state.json"
grep -q "cannot reach secretd at $T/from-config.sock: " "$T/err" || fail "config's hook_socket not used: $(cat "$T/err")"
printf '{ "hook_socket": ' >"$T/broken.json"
expect_exit 1 "$HOOK" --config "$T/broken.json" <"$T/state.json"
grep -q "^secretd-oci-hook: container 3f2a5b6c7d8e: cannot use the configuration $T/broken.json: " "$T/err" ||
	fail "broken config: $(cat "$T/err")"

# a state that names no container: still sent, "(unknown)" in the message
echo 'not json' | expect_exit 1 "$HOOK" --socket "$T/nobody.sock"
grep -q "^secretd-oci-hook: container (unknown): cannot reach secretd" "$T/err" || fail "no id: $(cat "$T/err")"

# over 64 KiB: refused before any connection
head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big"
expect_exit 1 "$HOOK" --socket "$T/nobody.sock" <"$T/big"
grep -q "over 64 KiB" "$T/err" || fail "big state: $(cat "$T/err")"
! grep -q "cannot reach" "$T/err" || fail "big state sent anyway: $(cat "$T/err")"

# a runtime that never closes stdin: refused within the hook's own deadline
# (9 s), well before the 10 s the hooks.d entry gives it
sleep 11 | expect_exit 1 timeout 10 "$HOOK" --socket "$T/nobody.sock"
grep -qx "secretd-oci-hook: container (unknown): no answer within 9 s: the container is not started" "$T/err" ||
	fail "stdin held open: $(cat "$T/err")"

expect_exit 0 "$HOOK" --help
grep -q '^usage: secretd-oci-hook ' "$T/out" || fail "--help: $(cat "$T/out")"
expect_exit 2 "$HOOK" --bogus </dev/null
expect_exit 2 "$HOOK" extra </dev/null

# --- secretd-runc ------------------------------------------------------------------

# A "runc" that records its argv (one per line) and the config it saw.
cat >"$T/fake-runc" <<'SH'
#!/bin/sh
printf '%s\n' "$@" >"$FAKE_DIR/argv"
for b in "$FAKE_DIR"/bundle*; do cp "$b/config.json" "$FAKE_DIR/seen-${b##*/}.json" 2>/dev/null || :; done
exit 0
SH
chmod 0755 "$T/fake-runc"
export FAKE_DIR=$T SECRETD_RUNC=$T/fake-runc SECRETD_OCI_HOOK=$HOOK
unset SECRETD_CONFIG

new_bundle() { # new_bundle NAME: a bundle with a config that has a hook of its own
	mkdir -p "$T/$1"
	printf '{"ociVersion":"1.0.2","process":{"args":["sh"]},"root":{"path":"rootfs"},"hooks":{"createRuntime":[{"path":"/bin/true"}],"poststop":[{"path":"/bin/false"}]}}\n' >"$T/$1/config.json"
	chmod 0640 "$T/$1/config.json"
}
ours() { jq --arg p "$HOOK" '[.hooks.createRuntime[] | select(.path == $p)] | length' "$1"; }

new_bundle bundle1
args=(--root "$T/r" --log "$T/log.json" --log-format json create --bundle "$T/bundle1" --pid-file "$T/pid" ctr1)
expect_exit 0 "$WRAP" "${args[@]}"
[ "$(cat "$T/argv")" = "$(printf '%s\n' "${args[@]}")" ] || fail "create argv changed: $(cat "$T/argv")"
for f in "$T/bundle1/config.json" "$T/seen-bundle1.json"; do
	[ "$(ours "$f")" = 1 ] || fail "${f##*/}: the hook is not there once: $(cat "$f")"
done
jq -e --arg p "$HOOK" '.hooks.createRuntime == [{"path":"/bin/true"},{"path":$p,"args":["secretd-oci-hook"],"timeout":10}]
	and .hooks.poststop == [{"path":"/bin/false"}] and .process.args == ["sh"]' "$T/bundle1/config.json" >/dev/null ||
	fail "config after create: $(cat "$T/bundle1/config.json")"
[ "$(mode_of "$T/bundle1/config.json")" = 640 ] || fail "config.json mode $(mode_of "$T/bundle1/config.json")"
[ "$(ls -A "$T/bundle1")" = config.json ] || fail "left in the bundle: $(ls -A "$T/bundle1")"

# again (a retried create): still once
expect_exit 0 "$WRAP" "${args[@]}"
[ "$(ours "$T/bundle1/config.json")" = 1 ] || fail "second create added it again: $(cat "$T/bundle1/config.json")"

# start, delete, state: bundle untouched, argv through
cp "$T/bundle1/config.json" "$T/before.json"
for cmd in "start ctr1" "delete --force ctr1" "state ctr1" "features"; do
	# shellcheck disable=SC2086
	expect_exit 0 "$WRAP" --root "$T/r" $cmd
	[ "$(cat "$T/argv")" = "$(printf '%s\n' --root "$T/r" $cmd)" ] || fail "$cmd: argv changed: $(cat "$T/argv")"
	cmp -s "$T/before.json" "$T/bundle1/config.json" || fail "$cmd changed config.json"
done

# run, -b, the current directory as bundle; SECRETD_CONFIG reaches the hook's args
new_bundle bundle2
(cd "$T/bundle2" && SECRETD_CONFIG=/etc/other.json expect_exit 0 "$WRAP" --systemd-cgroup run -d ctr2)
jq -e --arg p "$HOOK" '.hooks.createRuntime[1] == {"path":$p,"args":["secretd-oci-hook","--config","/etc/other.json"],"timeout":10}' \
	"$T/bundle2/config.json" >/dev/null || fail "run in the bundle: $(cat "$T/bundle2/config.json")"

# cannot edit: exit 1, one line, runc never called
rm -f "$T/argv"
expect_exit 1 "$WRAP" create --bundle "$T/missing" ctr3
grep -q "^secretd-runc: cannot add secretd's hook to $T/missing/config.json: No such file or directory" "$T/err" ||
	fail "missing bundle: $(cat "$T/err")"
new_bundle bundle3
echo '{"hooks": [' >"$T/bundle3/config.json"
expect_exit 1 "$WRAP" create -b "$T/bundle3" ctr3
grep -q "not valid JSON" "$T/err" || fail "broken config: $(cat "$T/err")"
# a bundle it cannot write (root writes anywhere but on a read-only mount)
new_bundle bundle4
if [ "$(id -u)" = 0 ]; then
	mount --bind "$T/bundle4" "$T/bundle4" && mount -o remount,bind,ro "$T/bundle4"
	expect_exit 1 "$WRAP" create --bundle="$T/bundle4" ctr4
	grep -q "^secretd-runc: cannot add secretd's hook to $T/bundle4/config.json: Read-only file system" "$T/err" ||
		fail "read-only bundle: $(cat "$T/err")"
	umount "$T/bundle4"
else
	chmod 0555 "$T/bundle4"
	expect_exit 1 "$WRAP" create --bundle="$T/bundle4" ctr4
	grep -q "^secretd-runc: cannot add secretd's hook to $T/bundle4/config.json: Permission denied" "$T/err" ||
		fail "unwritable bundle: $(cat "$T/err")"
fi
[ "$(wc -l <"$T/err")" = 1 ] || fail "not one line: $(cat "$T/err")"
SECRETD_OCI_HOOK=$T/no-hook expect_exit 1 "$WRAP" create --bundle "$T/bundle1" ctr5
grep -q "^secretd-runc: secretd's hook $T/no-hook: No such file or directory" "$T/err" || fail "no hook: $(cat "$T/err")"
expect_exit 1 "$WRAP" --made-up create --bundle "$T/bundle1" ctr6
[ ! -e "$T/argv" ] || fail "runc was called after a refusal: $(cat "$T/argv")"
grep -q "^secretd-runc: --made-up is not an option of runc 1.1" "$T/err" || fail "unknown global: $(cat "$T/err")"
# an unknown global option on a call that cannot be a create: runc judges it
expect_exit 0 "$WRAP" --made-up value delete ctr6
[ "$(cat "$T/argv")" = "$(printf '%s\n' --made-up value delete ctr6)" ] || fail "delete with an unknown option: $(cat "$T/argv")"
rm -f "$T/argv"

expect_exit 0 "$WRAP" --help
grep -q '^usage: secretd-runc ' "$T/out" || fail "--help: $(cat "$T/out")"
[ ! -e "$T/argv" ] || fail "--help ran runc"
# itself as runc: refused, not a loop
SECRETD_RUNC=$WRAP expect_exit 127 "$WRAP" start ctr1
grep -q "is this wrapper, not runc" "$T/err" || fail "self as runc: $(cat "$T/err")"
echo "t-hook-client: ok"
