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
echo "t-config: ok"
