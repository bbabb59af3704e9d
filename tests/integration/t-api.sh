# t-api.sh — the real daemon over its Unix sockets, driven by curl from
# hand-made containers: attestation, the access matrix, the admin secret
# endpoints, reload, audit, and that no value ever leaks into logs.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
ID_A=$(hex64 "container-a-$$")
ID_B=$(hex64 "container-b-$$")
ID_C=$(hex64 "container-c-$$")
CT_DIRS+=("$CG/system.slice/docker-$ID_A.scope" "$CG/system.slice/docker-$ID_B.scope"
	"$CG/machine.slice/libpod-$ID_C.scope" "$CG/system.slice/secretd-test-backup-$$.service")
UNIT=secretd-test-backup-$$.service

write_config "\"admin\": { \"uids\": [0] },
  \"limits\": { \"max_value_size\": \"4K\", \"idle_timeout\": \"2s\" },
  \"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] },
      \"secrets\": [ \"db-password\", { \"name\": \"tls-key\", \"file\": \"tls.key\", \"mode\": \"0440\" } ] },
    { \"name\": \"backup\", \"match\": { \"runtime\": \"systemd\", \"unit\": \"$UNIT\" },
      \"secrets\": [ \"s3-key\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
[ "$(mode_of "$ADMIN")" = 660 ] || fail "admin.sock mode $(mode_of "$ADMIN")"
[ "$(mode_of "$WORK")" = 666 ] || fail "workload.sock mode $(mode_of "$WORK")"

# --- identity ---------------------------------------------------------------
expect_status 200 "$WORK" GET /v1/health
expect_status 200 "$WORK" GET /v1/whoami
[ "$(json_field admin)" = true ] || fail "root on the host is not admin: $(cat "$T/body")"

whoami_in() { # CGROUP UID PIDNS
	in_cgroup "$1" "$2" "$3" curl -s --unix-socket "$WORK" http://secretd/v1/whoami >"$T/body"
}
whoami_in "/system.slice/docker-$ID_B.scope" 1000 yes
grep -q "\"identity\":\"docker:$ID_B\"" "$T/body" || fail "docker container: $(cat "$T/body")"
grep -q '"admin":false' "$T/body" || fail "container is admin"
grep -q '"name":"web"' "$T/body" || fail "docker uid 1000 did not match 'web': $(cat "$T/body")"
grep -q '"file":"tls.key","mode":"0440"' "$T/body" || fail "grant details missing: $(cat "$T/body")"

whoami_in "/system.slice/docker-$ID_A.scope/init.scope" 0 yes
grep -q "\"identity\":\"docker:$ID_A\"" "$T/body" || fail "sub-cgroup of a container: $(cat "$T/body")"
grep -q '"admin":false' "$T/body" || fail "root in a container is admin: $(cat "$T/body")"
grep -q '"workload":null' "$T/body" || fail "root in container matched a uid-1000 workload"

whoami_in "/machine.slice/libpod-$ID_C.scope" 1000 yes
grep -q "\"identity\":\"podman:$ID_C\"" "$T/body" || fail "podman container: $(cat "$T/body")"
grep -q '"workload":null' "$T/body" || fail "podman container matched a docker workload"

whoami_in "/system.slice/$UNIT" 0 no
grep -q "\"identity\":\"systemd:$UNIT\"" "$T/body" || fail "systemd service: $(cat "$T/body")"
grep -q '"name":"backup"' "$T/body" || fail "service did not match 'backup'"
# its root has a mount namespace of its own (whoami_in): not the host's, so not admin
grep -q '"admin":false' "$T/body" || fail "a service's root outside the host's mount namespace is admin: $(cat "$T/body")"

setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --unix-socket "$WORK" http://secretd/v1/whoami >"$T/body"
grep -q '"identity":"host:uid65534"' "$T/body" || fail "host user: $(cat "$T/body")"
grep -q '"admin":false' "$T/body" || fail "nobody is admin"
grep -q '"same_pid_namespace":true,"same_mount_namespace":true,"same_user_namespace":true' "$T/body" ||
	fail "a host user is not in the host's namespaces: $(cat "$T/body")"
grep -q '"reason"' "$T/body" && fail "a host user has a reason to be unknown: $(cat "$T/body")"

# --- the admin endpoints ----------------------------------------------------
head -c 3000 /dev/urandom >"$T/value1"
printf 'sup3r-s3cret-m4rker-%s' "$$" >"$T/marker"
expect_status 201 "$ADMIN" PUT /v1/secrets/db-password --data-binary @"$T/value1" -H 'Content-Type: application/octet-stream'
grep -q '"version":1' "$T/body" || fail "create reply: $(cat "$T/body")"
expect_status 409 "$ADMIN" PUT /v1/secrets/db-password --data-binary @"$T/value1"
grep -q '"code":"conflict"' "$T/body" || fail "409 body: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET /v1/secrets/db-password
cmp -s "$T/body" "$T/value1" || fail "value read back differs"
expect_status 201 "$ADMIN" PUT /v1/secrets/marker --data-binary @"$T/marker"
expect_status 200 "$ADMIN" POST /v1/secrets/marker/rotate --data-binary "rotated-$(cat "$T/marker")"
grep -q '"version":2,.*"unchanged":false' "$T/body" || fail "rotate reply: $(cat "$T/body")"
# the same value again is no rotation: version 2 stays, nothing is written
expect_status 200 "$ADMIN" POST /v1/secrets/marker/rotate --data-binary "rotated-$(cat "$T/marker")"
grep -q '"version":2,.*"unchanged":true,"leases_updated":0' "$T/body" || fail "same-value rotate reply: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET '/v1/secrets/marker?version=1'
cmp -s "$T/body" "$T/marker" || fail "version 1 differs"
expect_status 404 "$ADMIN" GET '/v1/secrets/marker?version=7'
expect_status 200 "$ADMIN" POST '/v1/secrets/db-password/rotate?generate=16&encoding=hex'
expect_status 200 "$ADMIN" GET /v1/secrets/db-password
grep -Eq '^[0-9a-f]{32}$' "$T/body" || fail "generated hex value: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET /v1/secrets/db-password/meta
grep -q '"version":2' "$T/body" && grep -q '"size":32' "$T/body" || fail "meta: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET /v1/secrets
grep -q '"name":"db-password"' "$T/body" && grep -q '"name":"marker"' "$T/body" || fail "list: $(cat "$T/body")"
grep -q "$(cat "$T/marker")" "$T/body" && fail "list shows a value"
# an empty value is refused unless asked for (an empty prompt is a mistake)
expect_status 400 "$ADMIN" PUT /v1/secrets/empty --data-binary ''
expect_in "allow_empty" "$T/body"
expect_status 404 "$ADMIN" GET /v1/secrets/empty
expect_status 201 "$ADMIN" PUT '/v1/secrets/empty?allow_empty=1' --data-binary ''
expect_status 400 "$ADMIN" POST /v1/secrets/empty/rotate --data-binary ''
expect_in "the value is empty" "$T/body"
expect_status 400 "$ADMIN" POST '/v1/secrets/empty/rotate?allow_empty=yes' --data-binary ''
expect_status 200 "$ADMIN" POST '/v1/secrets/empty/rotate?allow_empty=1' --data-binary ''
# empty to empty changes nothing: still version 1, and the reply says so
grep -q '"version":1,.*"unchanged":true' "$T/body" || fail "empty rotation: $(cat "$T/body")"
# what refuses the request anyway is said first: a name that exists, one that does not
expect_status 409 "$ADMIN" PUT /v1/secrets/empty --data-binary ''
expect_status 404 "$ADMIN" POST /v1/secrets/no-such/rotate --data-binary ''
expect_status 200 "$ADMIN" GET /v1/secrets/empty
[ ! -s "$T/body" ] || fail "empty value not empty"
expect_status 200 "$ADMIN" DELETE /v1/secrets/empty
expect_status 404 "$ADMIN" GET /v1/secrets/empty
expect_status 404 "$ADMIN" DELETE /v1/secrets/empty
expect_status 200 "$ADMIN" GET /v1/status
grep -q '"secrets":2' "$T/body" || fail "status: $(cat "$T/body")"
expect_status 200 "$ADMIN" GET /metrics
grep -q '^secretd_requests_total{route="/v1/secrets/{name}",status="2xx"}' "$T/body" || fail "metrics: $(head -5 "$T/body")"
grep -q '^secretd_request_duration_seconds_count ' "$T/body" || fail "no latency histogram"

# --- access matrix: every endpoint × every kind of caller -------------------
ENDPOINTS=(
	"GET /v1/secrets" "GET /v1/secrets/marker" "GET /v1/secrets/marker/meta"
	"PUT /v1/secrets/matrix" "POST /v1/secrets/marker/rotate" "DELETE /v1/secrets/marker"
	"POST /v1/reload" "GET /v1/status" "GET /metrics"
)
probe() { # CALLER-PREFIX... -- METHOD PATH: prints the status
	"$@" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" -X "$M" --data-binary x "http://secretd$P"
}
for ep in "${ENDPOINTS[@]}"; do
	M=${ep%% *} P=${ep#* }
	for caller in user root-in-container granted ungranted; do
		case $caller in
		user) got=$(probe setpriv --reuid=65534 --regid=65534 --clear-groups) ;;
		root-in-container) got=$(probe in_cgroup "/system.slice/docker-$ID_A.scope" 0 yes) ;;
		granted) got=$(probe in_cgroup "/system.slice/docker-$ID_B.scope" 1000 yes) ;;
		ungranted) got=$(probe in_cgroup "/machine.slice/libpod-$ID_C.scope" 1000 yes) ;;
		esac
		[ "$got" = 403 ] || fail "$caller: $M $P gave $got, expected 403"
	done
done
# the admin socket's mode is a second fence, not the first: admins may use
# either socket, and everything above was refused on the open one
expect_status 200 "$WORK" GET /v1/secrets/marker
# the secrets survived all of that
expect_status 200 "$ADMIN" GET /v1/secrets/marker
[ "$(cat "$T/body")" = "rotated-$(cat "$T/marker")" ] || fail "marker changed under the matrix"
expect_status 404 "$ADMIN" GET /v1/secrets/matrix

# --- a client that hands its socket on and exits gets nothing ---------------
out=$("$PEER_HANDOFF" "$WORK" /v1/whoami)
case $out in
"HTTP/1.1 403"*|closed) ;;
*) fail "handed-off socket got: $out" ;;
esac

# --- bad requests get their 4xx; the daemon keeps serving --------------------
expect_status 405 "$ADMIN" PATCH /v1/secrets/marker
grep -q '"code":"method_not_allowed"' "$T/body" || fail "405 body"
expect_status 404 "$ADMIN" GET /v1/nope
expect_status 404 "$ADMIN" GET /v1/secrets/marker/
expect_status 400 "$ADMIN" GET /v1/secrets/.hidden
expect_status 400 "$ADMIN" GET '/v1/secrets/a%2Fb'
expect_status 400 "$ADMIN" GET '/v1/secrets/marker%00x'
expect_status 400 "$ADMIN" GET "/v1/secrets/$(printf 'n%.0s' $(seq 129))"
expect_status 400 "$ADMIN" GET '/v1/secrets/marker?version=abc'
expect_status 400 "$ADMIN" GET '/v1/secrets/marker?version=0'
expect_status 400 "$ADMIN" GET '/v1/secrets/marker?colour=blue'
expect_status 400 "$ADMIN" POST '/v1/secrets/marker/rotate?generate=999999'
expect_status 400 "$ADMIN" POST '/v1/secrets/marker/rotate?generate=8&encoding=rot13'
expect_status 400 "$ADMIN" POST /v1/secrets/marker/rotate
expect_status 415 "$ADMIN" PUT /v1/secrets/form -F value=@"$T/marker"
head -c 5000 /dev/zero >"$T/big"
expect_status 413 "$ADMIN" PUT /v1/secrets/big --data-binary @"$T/big"
# chunked framing is refused as a whole: every body has a Content-Length
expect_status 411 "$ADMIN" PUT /v1/secrets/big -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
expect_status 404 "$ADMIN" GET /v1/secrets/big
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ADMIN" -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" http://secretd/v1/health) || true
case $code in 4*) ;; *) fail "oversize header got $code" ;; esac
# a slow client holds a connection open without finishing its request …
"$SLOW_CLIENT" "$WORK" 6 >"$T/slow" &
slow=$!
sleep 0.3
# … while everyone else is served, and the idle timeout (2 s) ends it
expect_status 200 "$WORK" GET /v1/health
expect_status 200 "$ADMIN" GET /v1/secrets/marker
wait "$slow"
grep -q '^closed after' "$T/slow" || fail "slow client was not timed out: $(cat "$T/slow")"

# --- reload -------------------------------------------------------------------
cp "$T/secretd.json" "$T/good.json"
echo '{ "workloads": [ { "name": "broken" } ], "bogus": 1 }' >"$T/secretd.json"
expect_status 400 "$ADMIN" POST /v1/reload
grep -q '"code":"config_invalid"' "$T/body" || fail "bad reload: $(cat "$T/body")"
grep -q 'bogus: unknown key' "$T/body" || fail "bad reload does not say why: $(cat "$T/body")"
whoami_in "/system.slice/docker-$ID_B.scope" 1000 yes
grep -q '"name":"web"' "$T/body" || fail "old policy lost after a bad reload"
sed 's/"name": "web"/"name": "web2"/' "$T/good.json" >"$T/secretd.json"
kill -HUP "$DAEMON_PID"
sleep 0.3
whoami_in "/system.slice/docker-$ID_B.scope" 1000 yes
grep -q '"name":"web2"' "$T/body" || fail "SIGHUP reload not applied: $(cat "$T/body")"

# --- audit, and no value anywhere -------------------------------------------
[ "$(mode_of "$T/audit.jsonl")" = 600 ] || fail "audit file mode"
grep -q '"action":"create".*"secret":"db-password"' "$T/audit.jsonl" || fail "create not audited"
grep -q '"action":"read","decision":"deny"' "$T/audit.jsonl" ||
	grep -q '"decision":"deny"' "$T/audit.jsonl" || fail "denials not audited"
grep -q "docker:$ID_A" "$T/audit.jsonl" || fail "container identity not in audit"

# --- the master key is unreadable while the daemon is idle ---------------------
# Anonymous, locked (sodium_mlock) mappings that are read-only: the master
# key while it is open (the secbuf pool is read-write, guard pages are not
# locked).  A read opens it; 20 ms without use closes it (keys.h).
open_keys() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { perms = $2; anon = (NF < 6) }
	     /^VmFlags:/ && perms == "r--p" && anon && / lo( |$)/ { n++ }
	     END { print n + 0 }' "/proc/$DAEMON_PID/smaps"
}
if [ "${SANITIZE:-0}" = 1 ]; then
	echo "master key mapping: not checked under SANITIZE=1 (ASan makes mlock a no-op)"
else
	expect_status 200 "$ADMIN" GET /v1/secrets/marker
	for _ in $(seq 50); do
		[ "$(open_keys)" = 0 ] && break
		sleep 0.02
	done
	[ "$(open_keys)" = 0 ] || fail "the master key is still readable 1 s after the last request"
fi
stop_daemon
for f in "$T/daemon.log" "$T/audit.jsonl"; do
	! grep -qF "$(cat "$T/marker")" "$f" || fail "a secret value leaked into $f"
done
echo "t-api: ok"
