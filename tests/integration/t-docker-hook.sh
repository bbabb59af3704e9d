# t-docker-hook.sh — a real Docker engine with secretd-runc registered as
# a runtime (`--add-runtime secretd=…`): an unmodified busybox image (no
# client, no socket) whose command is `cat /run/secrets/db` finds its file
# from its first instruction, as root, as --user 1000 and --read-only; a
# normal exit and `docker rm -f` leave nothing; rotation reaches a running
# container and its on_rotate signal its pid 1; the daemon down, the
# container does not start and says why; plain runc stays untouched.
source "$(dirname "$0")/lib.sh"
need_root
docker_init
WRAPPER=$(dirname "$SECRETCTL")/secretd-runc
[ -x "$WRAPPER" ] && [ -x "$OCI_HOOK" ] || fail "no runc wrapper at $WRAPPER or hook at $OCI_HOOK"

write_config "\"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"docker\" },
      \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
VALUE=docker-hook-$$
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary "$VALUE"
docker_start SECRETD_CONFIG="$T/secretd.json" SECRETD_OCI_HOOK="$OCI_HOOK" --add-runtime "secretd=$WRAPPER"
IMG=secretd-test-hook-$$:1
mkdir -p "$T/img/bin"
docker_image "$IMG" "$T/img"
RUN=("${DOCKER[@]}" run --network none --runtime secretd)


for variant in "" "--user 1000:1000" "--read-only"; do
	# shellcheck disable=SC2086
	out=$("${RUN[@]}" --rm $variant "$IMG" sh -c \
		'cat /run/secrets/db; echo; stat -c "%a %u" /run/secrets/db; grep -c " /run/secrets ro," /proc/self/mountinfo' \
		2>"$T/err") || fail "docker run $variant: $(cat "$T/err")"
	uid=0
	case "$variant" in *"--user 1000"*) uid=1000 ;; esac
	[ "$out" = "$VALUE
400 $uid
1" ] || fail "docker run --runtime secretd $variant: got '$out'"
	expect_nothing_left "docker run --rm $variant"
done
grep -q "allowed lease of 'db' by docker:[0-9a-f]\{64\} (workload 'app')" "$T/daemon.log" ||
	fail "not leased as docker:<id>: $(cat "$T/daemon.log")"

# plain runc: no hook, nothing mounted
out=$("${DOCKER[@]}" run --rm --network none "$IMG" sh -c 'ls /run/secrets 2>&1; echo started') ||
	fail "a runc container did not start"
[ "$out" = "ls: /run/secrets: No such file or directory
started" ] || fail "a runc container got something: $out"

# a running container: rotation, then its pid 1 gets on_rotate; docker rm -f
docker_run live --runtime secretd -- "$IMG" sh -c \
	'trap "echo got HUP: \$(cat /run/secrets/db)" HUP; echo "first: $(cat /run/secrets/db)"; while :; do sleep 0.1; done'
docker_wait live "^first: $VALUE$"
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'rotated'
grep -q '"leases_updated":1' "$T/body" || fail "rotate: $(cat "$T/body")"
docker_wait live '^got HUP: rotated$'
docker_rm live
expect_nothing_left "docker rm -f"

# the daemon down: the container is not started, and the runtime says why
stop_daemon
rc=0
"${RUN[@]}" --rm "$IMG" sh -c 'echo RAN' >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" != 0 ] && ! grep -q RAN "$T/out" || fail "a container started with the daemon down"
grep -q "secretd-oci-hook: container [0-9a-f]\{12\}: cannot reach secretd at $T/hook/hook.sock" "$T/err" ||
	fail "daemon down: $(cat "$T/err")"
echo "t-docker-hook: ok"
