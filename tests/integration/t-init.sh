# t-init.sh — `secretd init`, the master key's checks, the key check of the
# store, the development mode, and the process hardening of the real daemon.
source "$(dirname "$0")/lib.sh"

write_config

# init creates the key (0400, 32 bytes) and the state directory (0700)
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
[ "$(mode_of "$T/keys/master.key")" = 400 ] || fail "key mode $(mode_of "$T/keys/master.key")"
[ "$(stat -c %s "$T/keys/master.key")" = 32 ] || fail "key size"
[ "$(mode_of "$T/state")" = 700 ] || fail "state dir mode $(mode_of "$T/state")"
[ -f "$T/state/.keycheck.sealed" ] || fail "no key check written"
sum=$(sha256sum <"$T/keys/master.key")

# init twice keeps the first key
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
expect_in "already exists" "$T/err"
[ "$(sha256sum <"$T/keys/master.key")" = "$sum" ] || fail "init replaced the key"

# the daemon starts, refuses a second instance, stops cleanly on SIGTERM
start_daemon --config "$T/secretd.json"
expect_exit 1 "$SECRETD" --config "$T/secretd.json"
expect_in "in use by another secretd" "$T/err"

# init while the daemon runs: nothing to do, so it succeeds, and nothing of
# the running daemon's (key, state, key check, sockets) is touched
find "$T/keys" "$T/state" "$T/run" -maxdepth 1 -printf '%p %i %s %T@ %m\n' | sort >"$T/before"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
expect_in "in use by a running secretd" "$T/err"
expect_in "nothing to do" "$T/err"
find "$T/keys" "$T/state" "$T/run" -maxdepth 1 -printf '%p %i %s %T@ %m\n' | sort >"$T/after"
cmp -s "$T/before" "$T/after" || fail "init touched the running daemon's files: $(diff "$T/before" "$T/after")"
[ "$(sha256sum <"$T/keys/master.key")" = "$sum" ] || fail "init replaced the key"
curl -sf --unix-socket "$T/run/workload.sock" http://x/v1/health >/dev/null || fail "the daemon stopped serving"
# ... but a broken key is still an error, running daemon or not
chmod 0440 "$T/keys/master.key"
expect_exit 1 "$SECRETD" init --config "$T/secretd.json"
expect_in "must be owned" "$T/err"
chmod 0400 "$T/keys/master.key"

# hardening of the running process: no core files, no new privileges
grep -q '^Max core file size *0 *0' "/proc/$DAEMON_PID/limits" || fail "core files not disabled"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$DAEMON_PID/status" || fail "no_new_privs not set"
if [ "$(id -u)" = 0 ]; then
	bnd=$(awk '/^CapBnd/ { print $2 }' "/proc/$DAEMON_PID/status")
	[ "$bnd" != 000001ffffffffff ] && [ "$bnd" != 0000003fffffffff ] || fail "bounding set not narrowed: $bnd"
	# CAP_NET_ADMIN (12) and CAP_SYS_MODULE (16) must be gone
	(( (16#$bnd >> 12 & 1) == 0 && (16#$bnd >> 16 & 1) == 0 )) || fail "dangerous capabilities kept: $bnd"
fi
stop_daemon
expect_in "stopping on signal 15" "$T/daemon.log"
[ ! -e "$T/run/admin.sock" ] || fail "socket left after a clean stop"

# after a crash the stale sockets are replaced; a live daemon's never are
start_daemon --config "$T/secretd.json"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
[ -S "$T/run/workload.sock" ] || fail "kill -9 left no socket to test with"
start_daemon --config "$T/secretd.json"
sed "s|$T/state|$T/state-other|" "$T/secretd.json" >"$T/other.json"
mkdir -m 0700 "$T/state-other"
cp -p "$T/state/.keycheck.sealed" "$T/state-other/"
expect_exit 1 "$SECRETD" --config "$T/other.json"
expect_in "another secretd is listening on '$T/run/admin.sock'" "$T/err"
curl -sf --unix-socket "$T/run/workload.sock" http://x/v1/health >/dev/null || fail "the running daemon lost its socket"
stop_daemon

# a key readable by others is refused, naming the file
chmod 0440 "$T/keys/master.key"
expect_exit 1 "$SECRETD" --config "$T/secretd.json"
expect_in "master key '$T/keys/master.key' must be owned" "$T/err"
chmod 0400 "$T/keys/master.key"

# a key of the wrong size is refused, naming the file
cp -p "$T/keys/master.key" "$T/good.key"
head -c 31 "$T/good.key" >"$T/keys/short" && chmod 0400 "$T/keys/short"
mv "$T/keys/short" "$T/keys/master.key"
expect_exit 1 "$SECRETD" --config "$T/secretd.json"
expect_in "master key '$T/keys/master.key' is not exactly 32 bytes" "$T/err"

# another 32-byte key is told apart from the store's own
rm -f "$T/keys/master.key"
head -c 32 /dev/urandom >"$T/keys/master.key" && chmod 0400 "$T/keys/master.key"
expect_exit 1 "$SECRETD" --config "$T/secretd.json"
expect_in "is not the key the store in '$T/state' was written with" "$T/err"

# a missing key says how to make one
rm -f "$T/keys/master.key"
expect_exit 1 "$SECRETD" --config "$T/secretd.json"
expect_in "create it with 'secretd init'" "$T/err"

# the key as a systemd credential wins over the (missing) file
mkdir -m 0700 "$T/creds"
cp -p "$T/good.key" "$T/creds/master.key"
CREDENTIALS_DIRECTORY=$T/creds start_daemon --config "$T/secretd.json"
stop_daemon
[ ! -e "$T/keys/master.key" ] || fail "a key file appeared though the credential was used"

# a damaged secret is reported after start-up (the store is checked once,
# in slices between requests) and only that one fails; the others serve
cp -p "$T/good.key" "$T/keys/master.key"
start_daemon --config "$T/secretd.json"
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/intact --data-binary 'intact-value'
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/broken --data-binary 'broken-value'
stop_daemon
printf '\377' | dd of="$T/state/broken.sealed" bs=1 seek=40 conv=notrunc status=none
start_daemon --config "$T/secretd.json"
for _ in $(seq 50); do
	grep -q "secret 'broken' cannot be read" "$T/daemon.log" && break
	sleep 0.05
done
expect_in "secret 'broken' cannot be read" "$T/daemon.log"
expect_in "store check: 1 of 2 secrets cannot be read" "$T/daemon.log"
grep -q "'intact' cannot" "$T/daemon.log" && fail "an intact secret was reported damaged"
expect_status 200 "$T/run/admin.sock" GET /v1/secrets/intact
[ "$(cat "$T/body")" = intact-value ] || fail "intact secret: $(cat "$T/body")"
got=$(api "$T/run/admin.sock" GET /v1/secrets/broken) || true
case $got in 5*) ;; *) fail "a damaged secret answered $got" ;; esac
grep -q broken-value "$T/body" "$T/daemon.log" && fail "damaged secret's value shown"
stop_daemon

# development mode: a key made on first run, reused on the second
expect_exit 0 "$SECRETD" --dev "$T/dev" --check-config
start_daemon --dev "$T/dev"
expect_in "created master key" "$T/daemon.log"
stop_daemon
devsum=$(sha256sum <"$T/dev/master.key")
start_daemon --dev "$T/dev"
stop_daemon
[ "$(sha256sum <"$T/dev/master.key")" = "$devsum" ] || fail "dev key replaced"

# usage errors exit 2, help exits 0
expect_exit 0 "$SECRETD" --help
expect_in "secretd init" "$T/out"
expect_exit 2 "$SECRETD" --no-such-option
expect_exit 2 "$SECRETD" frobnicate
expect_exit 2 "$SECRETD" --config "$T/secretd.json" --dev "$T/dev"
echo "t-init: ok"
