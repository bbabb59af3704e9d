# t-config.sh — `secretd --check-config`: every error with its key path,
# exit codes, and that a daemon never starts on a broken file.
source "$(dirname "$0")/lib.sh"

write_config
expect_exit 0 "$SECRETD" --check-config --config "$T/secretd.json"
expect_in "ok" "$T/out"

echo '{}' >"$T/empty.json"
expect_exit 0 "$SECRETD" --check-config --config "$T/empty.json"

cat >"$T/bad.json" <<'JSON'
{ "limits": { "max_value_size": "64Q", "idle_timeout": "forever" },
  "admin": { "uids": ["root"] },
  "state_dir": "relative/path",
  "colour": "blue" }
JSON
expect_exit 1 "$SECRETD" --check-config --config "$T/bad.json"
expect_in "$T/bad.json: limits.max_value_size: '64Q' is not a valid size" "$T/err"
expect_in "$T/bad.json: limits.idle_timeout: 'forever' is not a valid duration" "$T/err"
expect_in "$T/bad.json: admin.uids: element 0 is not a uid" "$T/err"
expect_in "$T/bad.json: state_dir: 'relative/path' is not an absolute path" "$T/err"
expect_in "$T/bad.json: colour: unknown key" "$T/err"

# every class of error in one run: a top-level unknown key does not hide the
# workloads' errors, nor a bad limit the cross-field ones
cat >"$T/mixed.json" <<'JSON'
{ "colour": "blue",
  "limits": { "max_value_size": "64Q" },
  "defaults": { "ttl": "2h", "max_ttl": "1h" },
  "workloads": [ { "name": "web", "match": { "runtime": "dokcer" }, "secrets": [ "db" ], "ttl": "soon" } ] }
JSON
expect_exit 1 "$SECRETD" --check-config --config "$T/mixed.json"
expect_in "$T/mixed.json: colour: unknown key" "$T/err"
expect_in "$T/mixed.json: limits.max_value_size: '64Q' is not a valid size" "$T/err"
expect_in "$T/mixed.json: defaults.ttl: longer than defaults.max_ttl" "$T/err"
grep -q "workloads\[0\]\.match\.runtime" "$T/err" || fail "workload runtime error hidden: $(cat "$T/err")"
grep -q "workloads\[0\]\.ttl" "$T/err" || fail "workload ttl error hidden: $(cat "$T/err")"
grep -q ': ok' "$T/out" && fail "a broken file said ok"
# ... and the warnings of what did parse, in the same run
printf '{ "colour": 1, "admin": { "groups": [ "no-such-group-%s" ] } }' "$$" >"$T/both.json"
expect_exit 1 "$SECRETD" --check-config --config "$T/both.json"
expect_in "$T/both.json: colour: unknown key" "$T/err"
expect_in "admin group 'no-such-group-$$' does not exist" "$T/err"

# warnings are printed, and do not fail the check: an admin group that does
# not exist, the admin socket beside the workload socket (containers mount
# that directory), a secrets_root others cannot traverse
mkdir -m 0700 "$T/closed-root"
cat >"$T/warn.json" <<JSON
{ "admin": { "groups": [ "no-such-group-$$" ] },
  "admin_socket": "$T/w/admin.sock", "workload_socket": "$T/w/workload.sock",
  "runtime_dir": "$T/w", "secrets_root": "$T/closed-root" }
JSON
expect_exit 0 "$SECRETD" --check-config --config "$T/warn.json"
expect_in "admin group 'no-such-group-$$' does not exist" "$T/err"
expect_in "$T/warn.json: admin_socket: is in the directory of workload_socket" "$T/err"
expect_in "$T/warn.json: runtime_dir: is in the directory of workload_socket" "$T/err"
expect_in "secrets_root '$T/closed-root' has mode 0700" "$T/err"
expect_in "$T/warn.json: ok, 4 warnings" "$T/out"
# the defaults need no warning: the workload socket has a directory of its own
printf '{ "secrets_root": "%s/open-root" }' "$T" >"$T/defaults.json"
expect_exit 0 "$SECRETD" --check-config --config "$T/defaults.json"
[ ! -s "$T/err" ] || fail "the defaults warned: $(cat "$T/err")"
expect_in "$T/defaults.json: ok" "$T/out"

printf '{ "state_dir": "/x",\n  oops }' >"$T/syntax.json"
expect_exit 1 "$SECRETD" --check-config --config "$T/syntax.json"
expect_in "$T/syntax.json: line 2 column" "$T/err"

expect_exit 1 "$SECRETD" --check-config --config "$T/missing.json"
expect_in "$T/missing.json: (file): cannot read: No such file or directory" "$T/err"

# a broken file stops the daemon before it touches anything
printf '{ "state_dir": "%s/state2", "master_key": "%s/k2/master.key", "colour": 1 }' "$T" "$T" >"$T/bad2.json"
expect_exit 1 "$SECRETD" --config "$T/bad2.json"
expect_exit 1 "$SECRETD" init --config "$T/bad2.json"
[ ! -e "$T/state2" ] && [ ! -e "$T/k2" ] || fail "a broken config still created files"

# the shipped example config is valid
expect_exit 0 "$SECRETD" --check-config --config "$(dirname "$0")/../../config/secretd.json"
# ... and says so when its admin group is missing on this host
if ! getent group secretd-admin >/dev/null; then
	expect_in "admin group 'secretd-admin' does not exist" "$T/err"
	expect_in "ok, 1 warning" "$T/out"
fi
echo "t-config: ok"
