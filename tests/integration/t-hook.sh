# t-hook.sh — secrets before the first instruction: real Podman runs an
# unmodified busybox image (no client, no socket mounted) whose command is
# `cat /run/secrets/db`, with the OCI hook at createRuntime: as root, as
# --user 1000, --read-only, in a user namespace (alone, with --user 1000,
# with --read-only).  A normal exit and `podman rm -f` leave nothing; a
# running container gets rotations and its on_rotate signal, keeps its
# lease across a daemon restart, shows in `secretctl leases`, and gets its
# files again on `podman start`.  The policy decides: a container no
# workload matches starts with nothing mounted; annotations pick the
# workload.  Refusals fail closed with a reason: a secret not in the store,
# a /run/secrets already holding Podman's own --secret, the daemon down.
source "$(dirname "$0")/lib.sh"
need_root
podman_init

IMG=localhost/secretd-test-hook-$$
mkdir -p "$T/img/bin"
podman_image "$IMG" "$T/img"
write_config "\"workloads\": [
    { \"name\": \"api\", \"match\": { \"runtime\": \"podman\", \"annotations\": { \"io.secretd.workload\": \"api\" } },
      \"secrets\": [ \"api\" ] },
    { \"name\": \"broken\", \"match\": { \"runtime\": \"podman\", \"annotations\": { \"io.secretd.workload\": \"broken\" } },
      \"secrets\": [ \"db\", \"missing\" ] },
    { \"name\": \"none\", \"match\": { \"runtime\": \"podman\", \"annotations\": { \"io.secretd.workload\": \"none\" } },
      \"secrets\": [] },
    { \"name\": \"web\", \"match\": { \"runtime\": \"podman\", \"annotations\": { \"io.secretd.workload\": \"web*\" } },
      \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
hook_dir
VALUE=hook-$$
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary "$VALUE"
expect_status 201 "$ADMIN" PUT /v1/secrets/api --data-binary 'api-token'

RUN=("${PODMAN[@]}" --hooks-dir "$T/hooks.d" run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
WEB=(--annotation io.secretd.workload=web)


# the unmodified image, six ways: the file is there from the first
# instruction, read-only, 0400, the container user's
for variant in "" "--user 1000:1000" "--read-only" "--uidmap 0:200000:65536 --gidmap 0:200000:65536" \
	"--uidmap 0:200000:65536 --gidmap 0:200000:65536 --user 1000:1000" \
	"--uidmap 0:200000:65536 --gidmap 0:200000:65536 --read-only"; do
	# shellcheck disable=SC2086
	out=$("${RUN[@]}" --rm "${WEB[@]}" $variant "$IMG" sh -c \
		'cat /run/secrets/db; echo; stat -c "%a %u %g" /run/secrets/db; grep -c " /run/secrets ro," /proc/self/mountinfo
		 (echo x >/run/secrets/db) 2>/dev/null && echo WRITABLE; true' 2>"$T/err") ||
		fail "podman run $variant: $(cat "$T/err")"
	uid=0
	case "$variant" in *"--user 1000"*) uid=1000 ;; esac
	[ "$out" = "$VALUE
400 $uid $uid
1" ] || fail "podman run $variant: got '$out'"
	expect_nothing_left "podman run --rm $variant"
done

# no workload matches: it starts with nothing mounted; a workload without
# grants: the same; annotations pick another workload's secrets
out=$("${RUN[@]}" --rm "$IMG" sh -c 'ls /run/secrets 2>&1; echo started') || fail "unmatched container did not start"
[ "$out" = "ls: /run/secrets: No such file or directory
started" ] || fail "unmatched container: $out"
out=$("${RUN[@]}" --rm --annotation io.secretd.workload=none "$IMG" sh -c 'ls /run/secrets 2>&1; echo started') ||
	fail "container of a workload without grants did not start"
grep -q '^started$' <<<"$out" && ! grep -q db <<<"$out" || fail "workload without grants: $out"
out=$("${RUN[@]}" --rm --annotation io.secretd.workload=api "$IMG" sh -c 'ls /run/secrets; cat /run/secrets/api') ||
	fail "api container"
[ "$out" = "api
api-token" ] || fail "the api workload's container: $out"
expect_nothing_left "annotated runs"

# fail closed: a secret not in the store; the container never runs
rc=0
"${RUN[@]}" --rm --annotation io.secretd.workload=broken "$IMG" sh -c 'echo RAN' >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" != 0 ] && ! grep -q RAN "$T/out" || fail "a container without its secrets ran: $(cat "$T/out")"
grep -q "secretd-oci-hook: container [0-9a-f]\{12\}: secret 'missing' of workload 'broken' is not in the store" "$T/err" ||
	fail "missing secret: $(cat "$T/err")"
expect_nothing_left "missing secret"

# never hide what is there: Podman's own --secret lives in /run/secrets
printf 'podman-own' >"$T/own"
podman secret rm "secretd-t-$$" >/dev/null 2>&1 || true
podman secret create "secretd-t-$$" "$T/own" >/dev/null || fail "podman secret create"
rc=0
"${RUN[@]}" --rm "${WEB[@]}" --secret "secretd-t-$$" "$IMG" sh -c 'echo RAN' >"$T/out" 2>"$T/err" || rc=$?
podman secret rm "secretd-t-$$" >/dev/null
[ "$rc" != 0 ] && ! grep -q RAN "$T/out" || fail "a container ran over its own /run/secrets: $(cat "$T/out")"
grep -q "'/run/secrets' in the container already holds files or a mount" "$T/err" || fail "--secret: $(cat "$T/err")"
expect_nothing_left "podman --secret"

# a running container: listed as leased until exit, rotated with its
# on_rotate signal to pid 1, kept across a daemon restart
NAME=secretd-t-$$-live
POD_NAMES+=("$NAME")
"${RUN[@]}" -d --name "$NAME" "${WEB[@]}" "$IMG" sh -c \
	'trap "echo got HUP: \$(cat /run/secrets/db)" HUP; echo "first: $(cat /run/secrets/db)"; while :; do sleep 0.1; done' \
	>/dev/null || fail "podman run -d"
podman_wait live "^first: $VALUE$"
CID=$(podman inspect -f '{{.Id}}' "$NAME")
expect_exit 0 env SECRETD_SOCKET="$ADMIN" "$SECRETCTL" leases
grep -q " db .* at exit " "$T/out" || fail "secretctl leases: $(cat "$T/out")"
expect_status 200 "$ADMIN" GET /v1/leases
grep -q '"expires":null,"until":"exit"' "$T/body" || fail "lease JSON: $(cat "$T/body")"
# renewing such a lease gives it no deadline
ID=$(json_field id)
expect_status 200 "$ADMIN" POST "/v1/leases/$ID/renew" --data-binary '{"ttl":"1m"}'
grep -q '"expires":null,"until":"exit"' "$T/body" || fail "renewed: $(cat "$T/body")"
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'rotated-1'
podman_wait live '^got HUP: rotated-1$'
stop_daemon
start_daemon --config "$T/secretd.json"
grep -q "leases recovered: 1 live" "$T/daemon.log" || fail "restart: $(cat "$T/daemon.log")"
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'rotated-2'
grep -q '"leases_updated":1' "$T/body" || fail "rotate after restart: $(cat "$T/body")"
podman_wait live '^got HUP: rotated-2$'
[ "$(podman exec "$NAME" cat /run/secrets/db)" = rotated-2 ] || fail "file after restart"

# podman stop: its leases go with it; podman start: the hook runs again
# (a new init) and the files are back
podman stop -t 0 "$NAME" >/dev/null
expect_nothing_left "podman stop"
"${PODMAN[@]}" --hooks-dir "$T/hooks.d" start "$NAME" >/dev/null || fail "podman start"
podman_wait live '^first: rotated-2$'
[ -f "$T/secrets/containers/podman-$CID/db" ] || fail "no files after podman start"
podman_rm "$NAME"
expect_nothing_left "podman rm -f"

# daemon down: the container does not start, and says why
stop_daemon
rc=0
"${RUN[@]}" --rm "${WEB[@]}" "$IMG" sh -c 'echo RAN' >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" != 0 ] && ! grep -q RAN "$T/out" || fail "a container started with the daemon down"
grep -q "secretd-oci-hook: container [0-9a-f]\{12\}: cannot reach secretd at $T/hook/hook.sock: " "$T/err" ||
	fail "daemon down: $(cat "$T/err")"
echo "t-hook: ok"
