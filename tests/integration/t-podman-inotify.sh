# t-podman-inotify.sh — a real consumer of file events: Debian's inotify-tools
# `inotifywait`, copied with its libraries into a Podman container, watches
# /run/secrets (injected) while the secret is rotated several times.  Each
# rotation is one event on the directory, IN_MOVED_TO on the file's name: a
# temp file is written and closed in the hidden .tmp/ directory (inotify is
# not recursive, so its IN_CLOSE_WRITE reaches no watcher of /run/secrets),
# then renamed over the live name.  The common pattern
# `inotifywait -e close_write,moved_to /run/secrets | reload` sees exactly
# one event per rotation, as do `-e moved_to` and the pattern with
# `--exclude '/\.'` that earlier versions documented.  A rotation to the
# value already there changes nothing: 200 "unchanged", the same version,
# inode and mtime, no event, no on_rotate signal, audited as
# rotate-unchanged; a daemon restart rewrites nothing either.
source "$(dirname "$0")/lib.sh"
need_root
podman_init
command -v inotifywait >/dev/null || fail "inotifywait is needed (.ci/deps installs inotify-tools)"

IMG=localhost/secretd-test-inotify-$$
mkdir -p "$T/img"
copy_with_libs "$(command -v inotifywait)" "$T/img"
podman_image "$IMG" "$T/img"

write_config "\"workloads\": [
    { \"name\": \"watcher\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGUSR1\" }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary 'version-1'

# three watchers, their lines told apart by a prefix: the common pattern
# (A), it without the temp names (B), renames only (C)
W='/usr/bin/inotifywait -m -q'
podman_run watch --network none -- "$IMG" sh -c "
	lease-client /run/secretd/workload.sock '{}' >/dev/null || { echo lease-failed; exit 1; }
	$W -e close_write,moved_to --format 'A %e %f' /run/secrets &
	$W -e close_write,moved_to --exclude '/\\.' --format 'B %e %f' /run/secrets &
	$W -e moved_to --format 'C %e %f' /run/secrets &
	trap 'echo signal-USR1' USR1
	sleep 1; echo ready; while :; do wait; done"
podman_wait watch '^ready$'
podman_log watch | grep -q lease-failed && fail "the container could not lease: $(podman_log watch)"

N=5
for i in $(seq 2 $((N + 1))); do
	expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary "version-$i"
	grep -q '"leases_updated":1' "$T/body" || fail "rotation $i: $(cat "$T/body")"
	sleep 0.3 # one rotation's events apart from the next one's
done
# the log reaches podman through conmon: wait for the last rotation's events,
# then a little more for any that should not come
for _ in $(seq 100); do
	[ "$(podman_log watch | grep -c '^C ' || true)" -ge "$N" ] && break
	sleep 0.1
done
sleep 0.5
podman_log watch >"$T/events"
on_file=$(grep -c '^A .* db$' "$T/events" || true)
[ "$on_file" = "$N" ] || fail "events on /run/secrets/db for $N rotations: $on_file; $(cat "$T/events")"
grep '^A .* db$' "$T/events" | grep -qv '^A MOVED_TO db$' && fail "an event other than MOVED_TO on db: $(cat "$T/events")"
[ "$(grep -c '^B ' "$T/events" || true)" = "$N" ] || fail "close_write,moved_to without temp names: $(grep '^B ' "$T/events")"
[ "$(grep -c '^C ' "$T/events" || true)" = "$N" ] || fail "moved_to: $(grep '^C ' "$T/events")"
# the common pattern sees nothing else: not the temp files, not the .tmp
# directory, no IN_CLOSE_WRITE on the live name
[ "$(grep -c '^A ' "$T/events" || true)" = "$N" ] || fail "close_write,moved_to: not $N events: $(cat "$T/events")"
podman exec "secretd-t-$$-watch" ls -A /run/secrets >"$T/ls" || fail "podman exec ls"
[ "$(sort "$T/ls" | tr '\n' ' ')" = ".tmp db " ] || fail "the container's /run/secrets holds: $(cat "$T/ls")"
podman exec "secretd-t-$$-watch" ls -A /run/secrets/.tmp >"$T/ls" 2>&1 || fail "podman exec ls .tmp"
[ -s "$T/ls" ] && fail "a temp file left in .tmp/: $(cat "$T/ls")"
podman exec "secretd-t-$$-watch" cat /run/secrets/db >"$T/now" || fail "podman exec cat"
[ "$(cat "$T/now")" = "version-$((N + 1))" ] || fail "the container reads '$(cat "$T/now")'"
[ "$(podman_log watch | grep -c '^signal-USR1$' || true)" = "$N" ] || fail "on_rotate: not $N signals: $(podman_log watch)"

# the same value again: nothing changes, nothing is announced
podman exec "secretd-t-$$-watch" stat -c '%i %Y %y' /run/secrets/db >"$T/before" || fail "podman exec stat"
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary "version-$((N + 1))"
grep -q '"unchanged":true' "$T/body" || fail "same-value rotation not unchanged: $(cat "$T/body")"
grep -q "\"version\":$((N + 1))," "$T/body" || fail "same-value rotation moved the version: $(cat "$T/body")"
grep -q '"leases_updated":0' "$T/body" || fail "same-value rotation updated leases: $(cat "$T/body")"
sleep 1
podman exec "secretd-t-$$-watch" stat -c '%i %Y %y' /run/secrets/db >"$T/after" || fail "podman exec stat"
cmp -s "$T/before" "$T/after" || fail "the file changed: $(cat "$T/before") -> $(cat "$T/after")"
podman_log watch >"$T/events2"
[ "$(grep -c '^[ABC] ' "$T/events2" || true)" = "$((3 * N))" ] || fail "events after an unchanged rotation: $(cat "$T/events2")"
[ "$(grep -c '^signal-USR1$' "$T/events2" || true)" = "$N" ] || fail "a signal for an unchanged rotation"
grep -q '"action":"rotate-unchanged"' "$T/audit.jsonl" || fail "no rotate-unchanged audit: $(tail -n 3 "$T/audit.jsonl")"
[ "$(grep -c '"action":"rotate"' "$T/audit.jsonl")" = "$N" ] || fail "rotations audited: $(grep -c '"action":"rotate"' "$T/audit.jsonl")"

# a daemon restart re-attaches the lease and rewrites nothing: the file's
# version is the store's, so no event and no signal reach the consumer
stop_daemon
start_daemon --config "$T/secretd.json"
expect_in "leases recovered: 1 live" "$T/daemon.log"
sleep 1
podman exec "secretd-t-$$-watch" stat -c '%i %Y %y' /run/secrets/db >"$T/after" || fail "podman exec stat"
cmp -s "$T/before" "$T/after" || fail "the restart rewrote the file: $(cat "$T/before") -> $(cat "$T/after")"
podman_log watch >"$T/events3"
[ "$(grep -c '^[ABC] ' "$T/events3" || true)" = "$((3 * N))" ] || fail "events after a restart: $(cat "$T/events3")"
[ "$(grep -c '^signal-USR1$' "$T/events3" || true)" = "$N" ] || fail "a signal for a restart"
echo "t-podman-inotify: ok ($N rotations, $on_file events on the file)"
