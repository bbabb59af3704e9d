# t-get-output.sh — `secretctl get -o FILE` never writes into a file that
# is already there: a file another user made at FILE, or a hard link to
# theirs, keeps its owner's bytes and never gets the value; FILE becomes a
# new file of the caller's, mode 0600.  A symbolic link or a device at FILE
# is refused, and a failed get leaves no temporary file behind.
source "$(dirname "$0")/lib.sh"
need_root

CTL=$SECRETCTL
write_config "\"admin\": { \"uids\": [0, 1001] }"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
export SECRETD_CONFIG=$T/secretd.json
unset SECRETD_SOCKET
chmod 0755 "$T/run"
chmod 0666 "$T/run/admin.sock" # uid 1001 is an admin by uid; the socket mode is not the point here
as_uid() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
printf 'the-value-%s' "$$" >"$T/value"
expect_exit 0 "$CTL" put db -f "$T/value"

# a shared sticky directory (like /tmp) where uid 1000 has left a file
# named like the one we are about to write, and kept a hard link to it
mkdir -m 1777 "$T/shared"
mkdir -m 0700 "$T/own1000" && chown 1000:1000 "$T/own1000"
as_uid 1000 sh -c "echo planted >'$T/shared/db' && chmod 0666 '$T/shared/db' && ln '$T/shared/db' '$T/own1000/keep'"
inode_before=$(stat -c %i "$T/shared/db")

# root replaces the name; the planted inode is untouched
expect_exit 0 "$CTL" get db -o "$T/shared/db"
cmp -s "$T/shared/db" "$T/value" || fail "get -o wrote something else"
[ "$(stat -c '%u %a' "$T/shared/db")" = "0 600" ] || fail "get -o left $(stat -c '%U %a' "$T/shared/db")"
[ "$(stat -c %i "$T/shared/db")" != "$inode_before" ] || fail "get -o wrote into the planted file"
[ "$(as_uid 1000 cat "$T/own1000/keep")" = planted ] || fail "the planted file (a hard link) got the value"

# another admin uid cannot replace uid 1000's file in the sticky directory:
# refused, and the file keeps its bytes
as_uid 1000 sh -c "echo planted >'$T/shared/other' && chmod 0666 '$T/shared/other'"
expect_exit 1 as_uid 1001 "$CTL" get db -o "$T/shared/other"
expect_in "cannot replace" "$T/err"
[ "$(cat "$T/shared/other")" = planted ] || fail "uid 1001 wrote into uid 1000's file"
[ -z "$(find "$T/shared" -name '.other.*')" ] || fail "a temporary file was left: $(ls -a "$T/shared")"

# a fresh name: created 0600 whatever the umask
(umask 0 && "$CTL" get db -o "$T/fresh") || fail "get -o to a new file"
[ "$(mode_of "$T/fresh")" = 600 ] || fail "new file at mode $(mode_of "$T/fresh")"
# a symbolic link, a device and a directory at FILE are refused
ln -s "$T/fresh" "$T/link"
expect_exit 1 "$CTL" get db -o "$T/link"
[ -L "$T/link" ] || fail "the symlink was replaced"
expect_exit 1 "$CTL" get db -o /dev/null
expect_exit 1 "$CTL" get db -o "$T/shared"
# a failed read leaves nothing behind
expect_exit 4 "$CTL" get nope -o "$T/nope"
[ ! -e "$T/nope" ] || fail "a failed get made its file"
stop_daemon
echo "t-get-output: ok"
