# t-podman.sh — real containers: Podman (runc, cgroupfs) runs a busybox
# image built offline with only the workload socket mounted in; the
# container leases its secret and reads it at /run/secrets/<name>, also as
# a non-root user in a user namespace; `podman rm -f` takes the directory
# and the mount away.
source "$(dirname "$0")/lib.sh"
need_root
command -v podman >/dev/null && command -v runc >/dev/null || fail "podman and runc are needed (.ci/deps installs them)"
[ -x "${LEASE_CLIENT:-}" ] || fail "LEASE_CLIENT not built"

IMG=localhost/secretd-test-$$
NAMES=()
cleanup_all() {
	for n in "${NAMES[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1 || true; done
	podman rmi -f "$IMG" >/dev/null 2>&1 || true
	cleanup
}
trap cleanup_all EXIT
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)

# the image: busybox and the static client, nothing else
mkdir -p "$T/img/bin" "$T/img/run" "$T/img/tmp" && chmod 1777 "$T/img/tmp"
cp "$(command -v busybox)" "$T/img/bin/busybox"
for c in sh cat ls sleep stat id; do ln -s busybox "$T/img/bin/$c"; done
cp "$LEASE_CLIENT" "$T/img/bin/lease-client"
tar -C "$T/img" -cf "$T/img.tar" .
podman import -q "$T/img.tar" "$IMG" >/dev/null || fail "podman import"

write_config "\"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGUSR1\" }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
printf 'podman-%s' "$$" >"$T/value"
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/db --data-binary @"$T/value"

# run NAME [podman options...] — a container that leases, shows its file, waits
run() {
	local name=secretd-t-$$-$1
	shift
	NAMES+=("$name")
	"${PODMAN[@]}" run -d --name "$name" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		-v "$T/run/workload.sock:/run/secretd/workload.sock" "$@" "$IMG" \
		sh -c 'lease-client /run/secretd/workload.sock "{\"secrets\":[\"db\"]}" >/tmp/lease.out 2>&1;
		       echo "status=$(head -n1 /tmp/lease.out)"; echo "whoami=$(id -u)";
		       echo "value=$(cat /run/secrets/db)"; echo "mode=$(stat -c %a /run/secrets/db)";
		       (echo x >/run/secrets/db) 2>/dev/null && echo WRITABLE;
		       trap "echo \"got USR1: \$(cat /run/secrets/db)\"" USR1;
		       echo ready; while :; do sleep 0.1; done' >/dev/null ||
		fail "podman run $name"
	for _ in $(seq 100); do podman logs "$name" 2>/dev/null | grep -q '^ready' && break; sleep 0.05; done
	podman logs "$name" >"$T/$name.log" 2>&1
	CID=$(podman inspect -f '{{.Id}}' "$name")
	LOG=$T/$name.log
}

run plain
grep -q '^status=HTTP/1.1 201' "$LOG" || fail "lease from podman: $(cat "$LOG")"
grep -q "^value=$(cat "$T/value")\$" "$LOG" || fail "value inside podman: $(cat "$LOG")"
grep -q '^mode=400$' "$LOG" || fail "mode inside: $(cat "$LOG")"
grep -q WRITABLE "$LOG" && fail "root in the container could write its secret"
[ -e "$T/secrets/podman-$CID/db" ] || fail "no host directory podman-$CID"
PLAIN=$CID

# a non-root user in a user namespace (host uid 201000) reads its own file
run userns --uidmap 0:200000:65536 --gidmap 0:200000:65536 --user 1000:1000
grep -q '^status=HTTP/1.1 201' "$LOG" || fail "userns lease: $(cat "$LOG")"
grep -q '^whoami=1000$' "$LOG" || fail "userns container user: $(cat "$LOG")"
grep -q "^value=$(cat "$T/value")\$" "$LOG" || fail "userns value: $(cat "$LOG")"
[ "$(stat -c '%u %g %a' "$T/secrets/podman-$CID/db")" = "201000 201000 400" ] ||
	fail "userns file on the host: $(stat -c '%u %g %a' "$T/secrets/podman-$CID/db")"

# rotation reaches the running containers at once
expect_status 200 "$T/run/admin.sock" POST /v1/secrets/db/rotate --data-binary 'rotated'
grep -q '"leases_updated":2' "$T/body" || fail "rotate: $(cat "$T/body")"
for n in plain userns; do
	[ "$(podman exec "secretd-t-$$-$n" cat /run/secrets/db)" = rotated ] || fail "$n did not see the rotation"
	# on_rotate: the container's main process got SIGUSR1, after the file was new
	for _ in $(seq 50); do podman logs "secretd-t-$$-$n" 2>&1 | grep -q '^got USR1' && break; sleep 0.05; done
	podman logs "secretd-t-$$-$n" 2>&1 | grep -q '^got USR1: rotated$' ||
		fail "$n: no on_rotate signal seen: $(podman logs "secretd-t-$$-$n" 2>&1 | tail -3)"
done

# podman rm -f: the directory and the mount go
podman rm -f -t 0 "secretd-t-$$-plain" >/dev/null
for _ in $(seq 100); do [ -e "$T/secrets/podman-$PLAIN" ] || break; sleep 0.02; done
[ ! -e "$T/secrets/podman-$PLAIN" ] || fail "directory left after podman rm -f"
grep -q " $T/secrets/podman-$PLAIN " /proc/self/mountinfo && fail "mount left after podman rm -f"
echo "t-podman: ok"
