# t-sets.sh — a set: one secret of several parts (a certificate and its
# key), created and rotated in one call, leased into real Podman
# containers as one directory, /run/secrets/web/{tls.crt,tls.key}, that
# switches whole in one rename.  Eight readers in two containers read both
# parts in tight loops through 1,000 set rotations and never see a mixed
# pair, an empty or a partial part (a reader inside a generation that was
# just replaced finds its parts gone and starts again: counted, allowed).
# A watcher of /run/secrets sees IN_MOVED_TO web and nothing else: one per
# rotation when they are spaced, fewer in a burst (the kernel merges an
# event with the same one still unread); on_rotate comes once per set
# rotation.  The same parts again (in another
# order) are "unchanged": the link and every part stay, no event.  A set
# and a value never replace each other (409); a malformed set is 400 and
# changes nothing; GET ?part= and `secretctl get --part` read one part;
# a restart rewrites nothing; a delete takes the directory and every
# generation away.
source "$(dirname "$0")/lib.sh"
need_root
podman_init
command -v inotifywait >/dev/null || fail "inotifywait is needed (.ci/deps installs inotify-tools)"

IMG=localhost/secretd-test-sets-$$
mkdir -p "$T/img"
copy_with_libs "$(command -v inotifywait)" "$T/img"
podman_image "$IMG" "$T/img"

write_config "\"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGUSR1\" }, \"secrets\": [ \"web\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
export SECRETD_SOCKET=$ADMIN

# set_body N — the set's encoding for pair N, parts in either order
set_body() {
	local c="cert-$1-end" k="key-$1-end"
	if [ "${2:-}" = reversed ]; then
		printf 'tls.key %d\n%s\ntls.crt %d\n%s\n' ${#k} "$k" ${#c} "$c"
	else
		printf 'tls.crt %d\n%s\ntls.key %d\n%s\n' ${#c} "$c" ${#k} "$k"
	fi
}
rotate_set() { # N [reversed]
	set_body "$@" >"$T/set"
	expect_status 200 "$ADMIN" POST /v1/secrets/web/rotate -H "Content-Type: application/x-secretd-set" \
		--data-binary @"$T/set"
}

# --- created with secretctl, from files ---------------------------------------
printf 'cert-1-end' >"$T/c1"
printf 'key-1-end' >"$T/k1"
expect_exit 0 "$SECRETCTL" put web --part tls.crt="$T/c1" --part tls.key=- <"$T/k1"
expect_in "created set web, version 1 (2 parts)" "$T/out"
expect_exit 0 "$SECRETCTL" info web
expect_in "tls.crt (10 B)" "$T/out"
expect_in "tls.key (9 B)" "$T/out"
expect_exit 0 "$SECRETCTL" get web --part tls.key
[ "$(cat "$T/out")" = key-1-end ] || fail "get --part: $(cat "$T/out")"
expect_status 200 "$ADMIN" GET '/v1/secrets/web?part=tls.crt'
[ "$(cat "$T/body")" = cert-1-end ] || fail "GET ?part=: $(cat "$T/body")"
expect_status 404 "$ADMIN" GET '/v1/secrets/web?part=nope'
expect_status 200 "$ADMIN" GET /v1/secrets/web
set_body 1 | cmp -s - "$T/body" || fail "GET of a set: $(cat "$T/body")"
expect_exit 2 "$SECRETCTL" put other --part tls.crt="$T/c1" --part tls.crt="$T/k1"
expect_exit 2 "$SECRETCTL" put other --part tls.crt="$T/c1" -f "$T/k1"
expect_exit 2 "$SECRETCTL" put other --part '../x'="$T/c1"

# --- a set and a value never replace each other; a malformed set changes nothing
expect_status 201 "$ADMIN" PUT /v1/secrets/plain --data-binary 'v'
set_body 2 >"$T/set"
expect_status 409 "$ADMIN" POST /v1/secrets/plain/rotate -H "Content-Type: application/x-secretd-set" \
	--data-binary @"$T/set"
expect_status 409 "$ADMIN" POST /v1/secrets/web/rotate --data-binary 'just bytes'
expect_status 409 "$ADMIN" POST '/v1/secrets/web/rotate?generate=16'
printf 'tls.crt 99\nshort\n' >"$T/bad"
expect_status 400 "$ADMIN" POST /v1/secrets/web/rotate -H "Content-Type: application/x-secretd-set" \
	--data-binary @"$T/bad"
grep -q 'short' "$T/body" && fail "the error repeats the body's bytes: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET /v1/secrets/web/meta
[ "$(json_field version)" = 1 ] || fail "a refused rotation moved the version: $(cat "$T/body")"
expect_status 400 "$ADMIN" GET '/v1/secrets/plain?part=x'

# --- two containers, four readers each, one watcher -----------------------------
READER='reader() { ok=0; mixed=0; bad=0; retry=0
	while [ ! -e /tmp/stop ]; do
		if cd /run/secrets/web 2>/dev/null && a=$(cat tls.crt 2>/dev/null) && b=$(cat tls.key 2>/dev/null); then
			cd /
			case "$a" in cert-*-end) ;; *) bad=$((bad + 1)); continue ;; esac
			case "$b" in key-*-end) ;; *) bad=$((bad + 1)); continue ;; esac
			n=${a#cert-}; m=${b#key-}
			if [ "$n" = "$m" ]; then ok=$((ok + 1)); else mixed=$((mixed + 1)); echo "mixed $a $b"; fi
		else
			cd /; retry=$((retry + 1))
		fi
	done
	echo "reader $1 ok=$ok mixed=$mixed bad=$bad retry=$retry"; }'
for ct in r1 r2; do
	podman_run "$ct" --network none -- "$IMG" sh -c "
		lease-client /run/secretd/workload.sock '{}' >/dev/null || { echo lease-failed; exit 1; }
		trap 'echo signal-USR1' USR1
		$READER
		[ $ct = r1 ] && /usr/bin/inotifywait -m -q -e close_write,moved_to --format 'E %e %f' \
			-o /tmp/events /run/secrets &
		pids=
		for i in 1 2 3 4; do reader \$i & pids=\"\$pids \$!\"; done
		sleep 1; echo ready
		# (a trapped signal ends a wait early)
		while [ ! -e /tmp/stop ]; do wait \$pids; done; wait \$pids; echo finished
		# a trap runs at once in a wait, not only after a sleep
		while :; do sleep 1 & wait \$!; done"
	eval "CID_$ct=\$CID"
done
podman_wait r1 '^ready$'
podman_wait r2 '^ready$'
for ct in r1 r2; do podman_log "$ct" | grep -q lease-failed && fail "$ct could not lease: $(podman_log "$ct")"; done
podman exec "secretd-t-$$-r1" stat -L -c '%a %u' /run/secrets/web/tls.key >"$T/st" || fail "stat in r1"
[ "$(cat "$T/st")" = "400 0" ] || fail "a part's mode and owner: $(cat "$T/st")"

N=1000
start=$(date +%s%N)
for i in $(seq 2 $((N + 1))); do
	set_body "$i" >"$T/set"
	code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$ADMIN" -X POST \
		-H "Content-Type: application/x-secretd-set" --data-binary @"$T/set" http://x/v1/secrets/web/rotate)
	[ "$code" = 200 ] || fail "set rotation $i: $code $(cat "$T/body")"
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q '"leases_updated":2' "$T/body" || fail "the last rotation: $(cat "$T/body")"
for ct in r1 r2; do podman exec "secretd-t-$$-$ct" touch /tmp/stop || fail "stop $ct"; done
podman_wait r1 '^finished$'
podman_wait r2 '^finished$'
podman_log r1 >"$T/r1.log"
podman_log r2 >"$T/r2.log"
cat "$T/r1.log" "$T/r2.log" | grep '^reader ' >"$T/readers"
[ "$(wc -l <"$T/readers")" = 8 ] || fail "not 8 readers reported: $(cat "$T/readers")"
grep -v ' mixed=0 bad=0 ' "$T/readers" && fail "a reader saw a mixed pair or a bad part: $(cat "$T/readers"; grep -h '^mixed' "$T/r1.log" "$T/r2.log" | head)"
reads=$(sed 's/.* ok=\([0-9]*\) .*/\1/' "$T/readers" | awk '{ s += $1 } END { print s }')
retries=$(sed 's/.* retry=\([0-9]*\).*/\1/' "$T/readers" | awk '{ s += $1 } END { print s }')
[ "$reads" -gt 1000 ] || fail "the readers read only $reads pairs: $(cat "$T/readers")"
podman exec "secretd-t-$$-r2" cat /run/secrets/web/tls.key >"$T/now" || fail "cat in r2"
[ "$(cat "$T/now")" = "key-$((N + 1))-end" ] || fail "r2 reads $(cat "$T/now")"

# the watcher: IN_MOVED_TO web and nothing else.  In a burst the kernel
# merges an event with the same one still unread before it (inotify does
# not compare rename cookies), so 1,000 rotations show as at most 1,000;
# spaced ones below are counted one by one.
events() { podman exec "secretd-t-$$-r1" cat /tmp/events >"$T/events" || fail "cat events in r1"; }
sleep 1
events
burst=$(grep -c '^E MOVED_TO web$' "$T/events" || true)
[ "$burst" -ge 1 ] && [ "$burst" -le "$N" ] || fail "IN_MOVED_TO web for $N set rotations: $burst"
[ "$(wc -l <"$T/events")" = "$burst" ] || fail "other events on /run/secrets: $(grep -v '^E MOVED_TO web$' "$T/events" | head)"

# one on_rotate per set rotation (spaced: a shell's trap does not count
# signals that arrive together)
sig0=$(podman_log r2 | grep -c '^signal-USR1$' || true)
for i in $((N + 2)) $((N + 3)) $((N + 4)); do rotate_set "$i"; sleep 0.3; done
sleep 0.5
sig1=$(podman_log r2 | grep -c '^signal-USR1$' || true)
[ $((sig1 - sig0)) = 3 ] || fail "on_rotate for 3 set rotations: $((sig1 - sig0))"
events
[ "$(grep -c '^E MOVED_TO web$' "$T/events")" = $((burst + 3)) ] || fail "events for 3 spaced set rotations: $(tail -n 5 "$T/events")"
[ "$(wc -l <"$T/events")" = $((burst + 3)) ] || fail "other events on /run/secrets: $(grep -v '^E MOVED_TO web$' "$T/events" | head)"

# --- the same parts again, in another order: unchanged --------------------------
ls_sets() { podman exec "secretd-t-$$-r1" sh -c 'readlink /run/secrets/web; stat -L -c "%i %Y" /run/secrets/web/tls.crt /run/secrets/web/tls.key; ls -A /run/secrets/.sets'; }
ls_sets >"$T/before" || fail "ls in r1"
rotate_set $((N + 4)) reversed
grep -q '"unchanged":true' "$T/body" || fail "the same set again: $(cat "$T/body")"
sleep 0.5
ls_sets >"$T/after" || fail "ls in r1"
cmp -s "$T/before" "$T/after" || fail "an unchanged set changed: $(cat "$T/before") -> $(cat "$T/after")"
events
[ "$(grep -c '^E ' "$T/events" || true)" = $((burst + 3)) ] || fail "an event for an unchanged set"
[ "$(grep -c . <(podman exec "secretd-t-$$-r1" ls -A /run/secrets/.sets))" = 1 ] || fail "old generations left: $(cat "$T/after")"

# --- a restart rewrites nothing ---------------------------------------------------
stop_daemon
start_daemon --config "$T/secretd.json"
expect_in "leases recovered: 2 live" "$T/daemon.log"
sleep 0.5
ls_sets >"$T/after" || fail "ls in r1"
cmp -s "$T/before" "$T/after" || fail "the restart rewrote the set: $(cat "$T/before") -> $(cat "$T/after")"

# --- a delete takes the directory and every generation ----------------------------
expect_status 200 "$ADMIN" DELETE /v1/secrets/web
# (its last lease gone, the instance directory goes too: .sets with it)
podman exec "secretd-t-$$-r1" sh -c 'ls -A /run/secrets; ls -A /run/secrets/.sets 2>/dev/null; true' >"$T/ls" 2>&1 ||
	fail "ls in r1: $(cat "$T/ls")"
grep -q '^web$' "$T/ls" && fail "the set outlived its delete: $(cat "$T/ls")"
grep -q '^web\.' "$T/ls" && fail "a generation outlived the delete: $(cat "$T/ls")"
unset SECRETD_SOCKET
echo "t-sets: ok ($N set rotations to 2 containers in $ms ms; 8 readers read $reads whole pairs, 0 mixed, 0 bad, $retries retries)"
