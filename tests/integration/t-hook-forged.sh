# t-hook-forged.sh — forged and hostile OCI hook requests, each refused
# with nothing mounted or created: a running container's real pid with its
# id, a host pid with a container's id, a container pid with another
# container's id, a dead pid, pid 1, uid 1000, root of a new user
# namespace, a bundle whose config.json is not root's, an image whose /run
# is a symlink to a host path, and state JSON that is truncated, huge or not
# JSON.  The hook's route exists on the hook's socket alone.
source "$(dirname "$0")/lib.sh"
need_root
podman_init

IMG=localhost/secretd-test-forged-$$
mkdir -p "$T/img/bin"
podman_image "$IMG" "$T/img"
write_config "\"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"podman\" }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
HOOK=$T/hook/hook.sock
ROUTE=/v1/hook/create-runtime
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary 'forged-value'

[ "$(stat -c '%a %u' "$HOOK")" = "600 0" ] || fail "hook socket: $(stat -c '%a %u' "$HOOK")"
[ "$(stat -c '%a %u' "$T/hook")" = "700 0" ] || fail "hook socket's directory: $(stat -c '%a %u' "$T/hook")"

# forged STATUS MESSAGE-PART JSON — posts JSON as the hook would
forged() {
	printf "%s" "$3" >"$T/state.json"
	expect_status "$1" "$HOOK" POST "$ROUTE" -H 'Content-Type: application/json' --data-binary @"$T/state.json"
	grep -qF -- "$2" "$T/body" || fail "forged ($2): $(cat "$T/body")"
	expect_nothing_left "$2"
}

# a running container: its real pid and id, then its pid with another id
podman_run running --network none -- "$IMG" sleep 600
RUN_ID=$CID
RUN_PID=$(podman inspect -f '{{.State.Pid}}' "secretd-t-$$-running")
RUN_BUNDLE=$(podman inspect -f "{{.StaticDir}}" "secretd-t-$$-running")
[ -f "$RUN_BUNDLE/config.json" ] || fail "no bundle at $RUN_BUNDLE"
state() { printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%s,"bundle":"%s"}' "$1" "$2" "$3"; }
forged 403 "is not runc's container init" "$(state "$RUN_ID" "$RUN_PID" "$RUN_BUNDLE")"
OTHER=$(hex64 other-$$)
forged 403 "is in container ${RUN_ID:0:12}, not ${OTHER:0:12}" "$(state "$OTHER" "$RUN_PID" "$RUN_BUNDLE")"
# a host pid with the container's id
forged 403 "not a root container runtime's" "$(state "$RUN_ID" "$$" "$RUN_BUNDLE")"
# a dead pid
sleep 0.01 & DEAD=$!
wait "$DEAD"
forged 403 "pid $DEAD: No such process" "$(state "$RUN_ID" "$DEAD" "$RUN_BUNDLE")"
# pid 1
forged 400 "not a process's" "$(state "$RUN_ID" 1 "$RUN_BUNDLE")"
# not a createRuntime state
forged 403 'status is not \"creating\"' '{"ociVersion":"1.0.2","id":"'"$RUN_ID"'","status":"running","pid":'"$RUN_PID"',"bundle":"'"$RUN_BUNDLE"'"}'
# a bundle whose config.json is not root's: refused before any process is
# looked at (its root.path would be its owner's choice)
mkdir -p "$T/bundle"
cp "$RUN_BUNDLE/config.json" "$T/bundle/config.json"
chown 1000 "$T/bundle/config.json"
forged 403 "config.json is not a file root alone may write" "$(state "$RUN_ID" "$RUN_PID" "$T/bundle")"
chown 0 "$T/bundle/config.json"
chmod 0666 "$T/bundle/config.json"
forged 403 "config.json is not a file root alone may write" "$(state "$RUN_ID" "$RUN_PID" "$T/bundle")"
# state JSON truncated, not JSON, not an object, without id, huge
STATE=$(state "$RUN_ID" "$RUN_PID" "$RUN_BUNDLE")
forged 400 "the state is not JSON" "${STATE:0:40}"
forged 400 "the state is not JSON" "hello"
forged 400 "not a JSON object" '[1,2]'
forged 400 '\"id\" is missing' '{"pid":2,"bundle":"/x"}'
forged 400 '\"id\" is missing' '{"id":"../../etc","pid":2,"bundle":"/x"}'
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
expect_status 413 "$HOOK" POST "$ROUTE" -H 'Content-Type: application/json' --data-binary @"$T/huge.json"
expect_nothing_left huge
expect_status 400 "$HOOK" POST "$ROUTE" -H 'Content-Type: application/json'
grep -q "OCI state JSON" "$T/body" || fail "empty body: $(cat "$T/body")"

# uid 1000: the socket is root's (0600), so it cannot even connect; with the
# socket opened to all, the daemon refuses it by its uid
rc=0
setpriv --reuid=1000 --regid=1000 --clear-groups curl -s --unix-socket "$HOOK" -X POST \
	--data-binary "$STATE" "http://secretd$ROUTE" >/dev/null 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "uid 1000 reached the hook socket (curl exit $rc)"
chmod 0711 "$T/hook"
chmod 0666 "$HOOK"
# as_other WHO... — the hook's request from another caller; body on stdout
as_other() {
	"$@" curl -s -w '\n%{http_code}' --unix-socket "$HOOK" -X POST --data-binary "$STATE" "http://secretd$ROUTE"
}
got=$(as_other setpriv --reuid=1000 --regid=1000 --clear-groups)
[ "${got##*$'\n'}" = 403 ] && grep -q "peer uid 1000: hook requests are taken from uid 0 alone" <<<"$got" ||
	fail "uid 1000: $got"
# root of a new user namespace is not our root
got=$(as_other unshare -U --map-root-user)
[ "${got##*$'\n'}" = 403 ] && grep -q "not in our user namespace" <<<"$got" || fail "userns root: $got"
chmod 0600 "$HOOK"
chmod 0700 "$T/hook"
expect_nothing_left "other callers"

# the route is the hook socket's alone; the hook socket serves nothing else
expect_status 404 "$ADMIN" POST "$ROUTE" --data-binary "$STATE"
expect_status 404 "$T/run/workload.sock" POST "$ROUTE" --data-binary "$STATE"
expect_status 404 "$HOOK" GET /v1/secrets
expect_status 404 "$HOOK" GET /v1/health

# an image whose /run is a symlink to a host path: the real hook's request
# is refused, the container does not start, and nothing is made on the host
# (a walk from "/" or one that followed the link would make the host's
# $T/evil/secrets)
mkdir -p "$T/evil-img/bin" "$T/evil"
ln -s "$T/evil" "$T/evil-img/run"
podman_image "$IMG-evil" "$T/evil-img"
hook_dir
rc=0
"${PODMAN[@]}" --hooks-dir "$T/hooks.d" run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
	"$IMG-evil" cat /run/secrets/db >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" != 0 ] || fail "a container whose /run is a symlink started: $(cat "$T/out")"
grep -q "goes through a symlink" "$T/err" || fail "symlinked /run: $(cat "$T/err")"
[ ! -e "$T/evil/secrets" ] || fail "the hook made $T/evil/secrets on the host"
grep -q "forged-value" "$T/out" && fail "the secret leaked"
expect_nothing_left "symlinked /run"
echo "t-hook-forged: ok"
