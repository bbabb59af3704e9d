# t-watch.sh — the long poll, GET /v1/secrets/NAME/watch?after=N&timeout=D,
# and `secretctl watch` on top of it: it answers at once when the version
# is no longer N, wakes on a rotation (not on an unchanged one, which is no
# change) and on a delete (404), times out with "changed": false, is
# judged like a lease for a workload (granted secrets only, 403 otherwise,
# audited), refuses past limits.max_watchers_per_peer and
# limits.max_watchers with 429, lets go of peers that hang up at once (no
# waiter and no memory left: RSS before and after 1,000 of them), and
# answers every parked request when the daemon stops.  GET /v1/leases/watch
# does the same for all of a workload's own leases at once (a token for
# their versions), and `secretctl watch` without NAME on top of it.
source "$(dirname "$0")/lib.sh"
need_root

U=1000
AS_USER=(setpriv --reuid=$U --regid=$U --clear-groups)
write_config "\"limits\": { \"max_watchers\": 1100, \"max_watchers_per_peer\": 2, \"max_connections\": 2048 },
  \"workloads\": [
    { \"name\": \"tool\", \"match\": { \"runtime\": \"host\", \"uids\": [$U] }, \"secrets\": [ \"db\", \"db2\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary 'value-1'
expect_status 201 "$ADMIN" PUT /v1/secrets/other --data-binary 'other-1'
expect_status 201 "$ADMIN" PUT /v1/secrets/db2 --data-binary 'db2-1'

# watch_bg NAME SOCKET QUERY [setpriv...] — a parked watch in the
# background; its status and body land in $T/w-NAME.{code,body}.
watch_bg() {
	local name=$1 sock=$2 query=$3
	shift 3
	rm -f "$T/w-$name.code" "$T/w-$name.body"
	# the shell writes the files: a caller of another uid cannot write in $T
	( "$@" curl -s -w '\n%{http_code}' --unix-socket "$sock" \
		"http://secretd/v1/secrets/db/watch?$query" >"$T/w-$name.out" || true
	  sed '$d' "$T/w-$name.out" >"$T/w-$name.body"
	  tail -n1 "$T/w-$name.out" >"$T/w-$name.code.tmp"
	  mv "$T/w-$name.code.tmp" "$T/w-$name.code" ) &
}
# watch_done NAME — waits (up to 10 s) for a background watch's answer.
watch_done() {
	for _ in $(seq 1 200); do
		[ -e "$T/w-$1.code" ] && return 0
		sleep 0.05
	done
	fail "watch $1 did not answer"
}
# watchers N — waits until the daemon holds N parked watches.
watchers() {
	for _ in $(seq 1 200); do
		expect_status 200 "$ADMIN" GET /v1/status
		[ "$(json_field watchers)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "not $1 watchers: $(cat "$T/body")"
}

# --- at once: the version is no longer N ------------------------------------
expect_status 200 "$ADMIN" GET '/v1/secrets/db/watch?after=0&timeout=30s'
grep -q '"name":"db","version":1,"changed":true' "$T/body" || fail "after=0: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET '/v1/secrets/db/watch?after=1&timeout=0'
grep -q '"version":1,"changed":false' "$T/body" || fail "timeout=0: $(cat "$T/body")"
expect_status 400 "$ADMIN" GET '/v1/secrets/db/watch?after=x'
expect_status 400 "$ADMIN" GET '/v1/secrets/db/watch?timeout=2h'
expect_status 400 "$ADMIN" GET '/v1/secrets/db/watch?since=1'
expect_status 404 "$ADMIN" GET '/v1/secrets/nope/watch?after=1'

# --- a timeout: "no change" ------------------------------------------------
expect_status 200 "$ADMIN" GET '/v1/secrets/db/watch?after=1&timeout=1s'
grep -q '"version":1,"changed":false' "$T/body" || fail "timeout: $(cat "$T/body")"
watchers 0

# --- a rotation wakes it; an unchanged one does not -------------------------
watch_bg a "$ADMIN" 'after=1&timeout=30s'
watch_bg u "$WORK" 'after=1&timeout=30s' "${AS_USER[@]}"
watchers 2
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'value-1'
grep -q '"unchanged":true' "$T/body" || fail "not unchanged: $(cat "$T/body")"
sleep 0.5
[ -e "$T/w-a.code" ] && fail "an unchanged rotation woke a watcher: $(cat "$T/w-a.body")"
watchers 2
expect_status 200 "$ADMIN" POST /v1/secrets/other/rotate --data-binary 'other-2'
sleep 0.2
[ -e "$T/w-a.code" ] && fail "another secret's rotation woke a watcher"
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'value-2'
watch_done a
watch_done u
for w in a u; do
	[ "$(cat "$T/w-$w.code")" = 200 ] || fail "watch $w: $(cat "$T/w-$w.code") $(cat "$T/w-$w.body")"
	grep -q '"name":"db","version":2,"changed":true' "$T/w-$w.body" || fail "watch $w: $(cat "$T/w-$w.body")"
done
watchers 0

# --- a workload: its granted secrets only, judged before the store ----------
for s in other nope; do
	code=$("${AS_USER[@]}" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" \
		"http://secretd/v1/secrets/$s/watch?after=0")
	[ "$code" = 403 ] || fail "a workload watched '$s': $code"
done
grep -q '"action":"watch","decision":"deny","identity":"host:uid1000".*"secret":"other".*"status":403' \
	"$T/audit.jsonl" || fail "the refused watch is not audited: $(grep watch "$T/audit.jsonl")"
code=$(setpriv --reuid=4321 --regid=4321 --clear-groups curl -s -o /dev/null -w '%{http_code}' \
	--unix-socket "$WORK" "http://secretd/v1/secrets/db/watch?after=0")
[ "$code" = 403 ] || fail "a caller of no workload watched: $code"

# --- bounds: per peer, then in all -----------------------------------------
watch_bg p1 "$WORK" 'after=2&timeout=30s' "${AS_USER[@]}"
watch_bg p2 "$WORK" 'after=2&timeout=30s' "${AS_USER[@]}"
watchers 2
"${AS_USER[@]}" curl -s -w '\n%{http_code}' --unix-socket "$WORK" \
	"http://secretd/v1/secrets/db/watch?after=2&timeout=30s" >"$T/p3" || true
code=$(tail -n1 "$T/p3")
[ "$code" = 429 ] || fail "a third watcher of one peer: $code"
grep -q 'max_watchers_per_peer' "$T/p3" || fail "429 does not say which limit: $(cat "$T/p3")"
# an answer that needs no wait is no watcher: still served
code=$("${AS_USER[@]}" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" \
	"http://secretd/v1/secrets/db/watch?after=1")
[ "$code" = 200 ] || fail "an immediate answer refused at the limit: $code"

# --- a delete ends every wait on it: 404 ------------------------------------
expect_status 200 "$ADMIN" DELETE /v1/secrets/db
watch_done p1
watch_done p2
[ "$(cat "$T/w-p1.code")" = 404 ] || fail "watch after delete: $(cat "$T/w-p1.code")"
watchers 0
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary 'value-3'

# --- 1,000 peers that hang up leave nothing behind --------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status"; }
"$HELPER_DIR/watch-flood" "$ADMIN" db 1 20 >/dev/null || fail "watch-flood (warm-up)"
watchers 0
before=$(rss)
"$HELPER_DIR/watch-flood" "$ADMIN" db 1 1000 >"$T/flood" || fail "watch-flood: $(cat "$T/flood")"
grep -q '^parked 1000$' "$T/flood" || fail "watch-flood: $(cat "$T/flood")"
watchers 0
after=$(rss)
# (under ASan freed memory waits in its quarantine by design: there the
# leak check at exit is the test, not RSS)
if [ "${SANITIZE:-}" != 1 ]; then
	[ "$after" -le $((before + 1024)) ] || fail "1000 hung-up watchers: RSS $before kB -> $after kB"
fi
grep -q '"max_watchers"' "$T/flood" && fail "refused at the total"
# the total: 1100, and the 1101st of an admin is refused
"$HELPER_DIR/watch-flood" "$ADMIN" db 1 1101 >"$T/flood" && fail "1101 watchers parked: $(cat "$T/flood")"
grep -q 'max_watchers ' "$T/flood" || grep -q 'limits.max_watchers is' "$T/flood" || fail "the 1101st: $(cat "$T/flood")"
watchers 0

# --- secretctl watch --------------------------------------------------------
export SECRETD_SOCKET=$ADMIN
"$SECRETCTL" watch db --once >"$T/ctl.out" 2>"$T/ctl.err" &
ctl=$!
watchers 1
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'value-4'
wait "$ctl" || fail "secretctl watch --once: $? $(cat "$T/ctl.err")"
[ "$(cat "$T/ctl.out")" = "db version 2" ] || fail "secretctl watch printed: $(cat "$T/ctl.out")"
expect_exit 1 "$SECRETCTL" watch db --timeout 1s
expect_in "stayed at version 2" "$T/err"
"$SECRETCTL" --json watch db --after 1 --once >"$T/ctl.out" || fail "watch --after 1"
grep -q '"version":2' "$T/ctl.out" || fail "watch --after 1 --json: $(cat "$T/ctl.out")"
"$SECRETCTL" watch db --once -- sh -c 'echo "$SECRETD_WATCH_NAME $SECRETD_WATCH_VERSION" >"$0"' "$T/ran" &
ctl=$!
watchers 1
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'value-5'
wait "$ctl" || fail "secretctl watch -- CMD"
[ "$(cat "$T/ran")" = "db 3" ] || fail "the command saw: $(cat "$T/ran")"
expect_exit 4 "$SECRETCTL" watch nope --once
expect_exit 4 "$SECRETCTL" watch
expect_in "hold no leases" "$T/err"
expect_exit 2 "$SECRETCTL" watch --after 1
expect_exit 2 "$SECRETCTL" watch db --after x
unset SECRETD_SOCKET

# --- a workload's own leases, all at once: GET /v1/leases/watch -------------
code=$("${AS_USER[@]}" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" "http://secretd/v1/leases/watch")
[ "$code" = 404 ] || fail "a lease watch with no leases: $code"
"${AS_USER[@]}" env SECRETD_SOCKET="$WORK" "$SECRETCTL" lease db db2 --ttl 1h >"$T/lease.out" 2>&1 ||
	fail "lease db db2: $(cat "$T/lease.out")"
"${AS_USER[@]}" curl -s --unix-socket "$WORK" "http://secretd/v1/leases/watch" >"$T/body"
grep -q '"changed":true' "$T/body" || fail "a first lease watch: $(cat "$T/body")"
[ "$(jq -r '[.leases[] | "\(.secret)=\(.version)"] | join(",")' "$T/body")" = "db=3,db2=1" ] ||
	fail "lease watch leases: $(cat "$T/body")"
TOKEN=$(jq -r .token "$T/body")
case $TOKEN in [0-9a-f]*) [ ${#TOKEN} = 16 ] || fail "token: $TOKEN" ;; *) fail "token: $TOKEN" ;; esac
code=$("${AS_USER[@]}" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" "http://secretd/v1/leases/watch?after=xyz")
[ "$code" = 400 ] || fail "a malformed token: $code"
"${AS_USER[@]}" curl -s --unix-socket "$WORK" "http://secretd/v1/leases/watch?after=$TOKEN&timeout=1s" >"$T/body"
grep -q "\"token\":\"$TOKEN\",\"changed\":false" "$T/body" || fail "a lease watch that timed out: $(cat "$T/body")"
( "${AS_USER[@]}" curl -s --unix-socket "$WORK" "http://secretd/v1/leases/watch?after=$TOKEN&timeout=30s" >"$T/lw.out"
  touch "$T/lw.done" ) &
watchers 1
# a secret it does not hold, and its own rotated to the same value: no answer
expect_status 200 "$ADMIN" POST /v1/secrets/other/rotate --data-binary 'other-3'
expect_status 200 "$ADMIN" POST /v1/secrets/db2/rotate --data-binary 'db2-1'
sleep 0.5
[ -e "$T/lw.done" ] && fail "a lease watch woke for no change of its own: $(cat "$T/lw.out")"
watchers 1
expect_status 200 "$ADMIN" POST /v1/secrets/db2/rotate --data-binary 'db2-2'
for _ in $(seq 200); do [ -e "$T/lw.done" ] && break; sleep 0.05; done
[ -e "$T/lw.done" ] || fail "a lease watch did not wake on its db2's rotation"
grep -q '"changed":true' "$T/lw.out" || fail "lease watch after the rotation: $(cat "$T/lw.out")"
[ "$(jq -r '[.leases[] | "\(.secret)=\(.version)"] | join(",")' "$T/lw.out")" = "db=3,db2=2" ] ||
	fail "lease watch after the rotation: $(cat "$T/lw.out")"
[ "$(jq -r .token "$T/lw.out")" != "$TOKEN" ] || fail "the token did not change: $(cat "$T/lw.out")"
# secretctl watch without NAME: each of its secrets that changed
"${AS_USER[@]}" env SECRETD_SOCKET="$WORK" "$SECRETCTL" watch --once >"$T/ctl.out" 2>"$T/ctl.err" &
ctl=$!
watchers 1
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'value-6'
wait "$ctl" || fail "secretctl watch (leases) --once: $(cat "$T/ctl.err")"
[ "$(cat "$T/ctl.out")" = "db version 4" ] || fail "secretctl watch (leases) printed: $(cat "$T/ctl.out")"
"${AS_USER[@]}" env SECRETD_SOCKET="$WORK" "$SECRETCTL" watch --timeout 1s >"$T/out" 2>"$T/err" && fail "no timeout"
expect_in "no leased secret changed for 1s" "$T/err"

# --- the daemon stops with requests parked: each is answered ----------------
watch_bg s "$ADMIN" 'after=4&timeout=30s'
watchers 1
stop_daemon
watch_done s
[ "$(cat "$T/w-s.code")" = 200 ] || [ "$(cat "$T/w-s.code")" = 000 ] || fail "parked at stop: $(cat "$T/w-s.code")"
echo "t-watch: ok (RSS $before kB -> $after kB over 1000 hung-up watchers)"
