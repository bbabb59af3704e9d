# t-host-user.sh — a non-root host process (a user, or a unit with User=)
# leases and reads its own file at host_path: secrets_root is 0711 (reached
# by name, not listed), its instance directory 0755, its file 0400 its own.
# A secrets_root of the daemon's own is made 0711 at start; one someone
# else owns that others cannot traverse is warned about.
source "$(dirname "$0")/lib.sh"
need_root

U=1000
write_config "\"workloads\": [
    { \"name\": \"tool\", \"match\": { \"runtime\": \"host\", \"uids\": [$U] }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
grep -q "secrets_root" "$T/daemon.log" && fail "a 0711 secrets_root warned: $(cat "$T/daemon.log")"
ADMIN=$T/run/admin.sock
printf 'host-user-%s' "$$" >"$T/value"
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary @"$T/value"

AS_USER=(setpriv --reuid=$U --regid=$U --clear-groups)
lease_as_user() {
	# curl writes nothing itself: $T is root's
	"${AS_USER[@]}" curl -s -w '\n%{http_code}' --unix-socket "$T/run/workload.sock" \
		-X POST --data '{}' http://x/v1/leases >"$T/lease.out" || true
	sed '$d' "$T/lease.out" >"$T/lease.json"
	tail -n1 "$T/lease.out"
}
code=$(lease_as_user)
[ "$code" = 201 ] || fail "lease as uid $U: $code $(cat "$T/lease.json")"
path=$(jq -r '.leases[0].host_path' "$T/lease.json")
inst=$(jq -r '.leases[0].instance' "$T/lease.json")
[ "$inst" = "host-uid$U" ] || fail "instance: $inst"
[ "$path" = "$T/secrets/$inst/db" ] || fail "host_path: $path"
[ "$(jq 'has("warnings")' "$T/lease.json")" = false ] || fail "a host caller was warned: $(cat "$T/lease.json")"
[ "$(stat -c '%a %u' "$T/secrets")" = "711 0" ] || fail "secrets_root: $(stat -c '%a %u' "$T/secrets")"
[ "$(stat -c '%a' "$T/secrets/$inst")" = 755 ] || fail "instance dir: $(stat -c '%a' "$T/secrets/$inst")"
[ "$(stat -c '%a %u' "$path")" = "400 $U" ] || fail "file: $(stat -c '%a %u' "$path")"
"${AS_USER[@]}" cat "$path" >"$T/read" || fail "uid $U cannot read its own file at $path"
cmp -s "$T/read" "$T/value" || fail "uid $U read other bytes"
"${AS_USER[@]}" ls "$T/secrets" >/dev/null 2>&1 && fail "uid $U listed secrets_root"
setpriv --reuid=1001 --regid=1001 --clear-groups cat "$path" >/dev/null 2>&1 && fail "another uid read the file"
stop_daemon

# a secrets_root of the daemon's own uid left 0700 is opened up at start
chmod 0700 "$T/secrets"
start_daemon --config "$T/secretd.json"
[ "$(stat -c '%a' "$T/secrets")" = 711 ] || fail "own secrets_root left $(stat -c '%a' "$T/secrets")"
"${AS_USER[@]}" cat "$path" >/dev/null || fail "uid $U cannot read its file after a restart"
stop_daemon

# one someone else owns keeps its mode: the daemon says so at start, naming
# the fix; a user's lease is made but its file is out of its reach
chown 1002:0 "$T/secrets"
chmod 0750 "$T/secrets"
start_daemon --config "$T/secretd.json"
expect_in "secrets_root '$T/secrets' has mode 0750" "$T/daemon.log"
expect_in "chmod 0711" "$T/daemon.log"
[ "$(lease_as_user)" = 201 ] || fail "lease with a 0750 root: $(cat "$T/lease.json")"
"${AS_USER[@]}" cat "$path" >/dev/null 2>&1 && fail "read through a 0750 secrets_root"
grep -qF "host-user-$$" "$T/daemon.log" "$T/audit.jsonl" && fail "the value leaked into the log"
echo "t-host-user: ok"
