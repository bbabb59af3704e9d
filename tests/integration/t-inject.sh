# t-inject.sh — injection: a hand-made container (Docker-like cgroup,
# private mount and pid namespaces, its own /run, uid 1000 for the app)
# with nothing but the workload socket leases and finds its secret at
# /run/secrets/<name>, read-only; a second lease does not stack a second
# mount; revoking takes the mount away; a container whose /run cannot take
# the mount point gets a clear error and nothing is left half-made.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
A=$(hex64 "inject-a-$$")
B=$(hex64 "inject-b-$$")
C=$(hex64 "inject-c-$$")
D=$(hex64 "inject-d-$$")
for id in "$A" "$B" "$C" "$D"; do CT_DIRS+=("$CG/system.slice/docker-$id.scope"); done

write_config "\"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"db-password\", \"api-token\" ] },
    { \"name\": \"deep\", \"match\": { \"runtime\": \"docker\", \"uids\": [1001] },
      \"inject\": \"/run/app/secrets\", \"secrets\": [ \"api-token\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
printf 'inj-%s' "$$" >"$T/pw"
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/db-password --data-binary @"$T/pw"
expect_status 201 "$T/run/admin.sock" PUT /v1/secrets/api-token --data-binary 'tok'
host_mounts_before=$(grep -c ' /run/secrets ' /proc/self/mountinfo || true)

# container ID SCRIPT — root in fresh mount+pid namespaces inside the cgroup;
# the script drops to uid 1000 for the app's part ($APP prefix).
container() {
	mkdir -p "$CG/system.slice/docker-$1.scope"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/docker-$1.scope" \
		unshare -m -p --fork --mount-proc env WORK="$T/run/workload.sock" \
		APP="setpriv --reuid=1000 --regid=1000 --clear-groups" sh -ec "$2"
}

container "$A" '
mount -t tmpfs -o mode=0755 tmpfs /run
lease() { $APP curl -s --unix-socket "$WORK" -X POST --data "{\"secrets\":[\"$1\"]}" http://x/v1/leases; }
lease db-password >/tmp/lease-a.json 2>&1 || true
echo "content=$($APP cat /run/secrets/db-password)"
echo "mode=$(stat -c %a /run/secrets/db-password) owner=$(stat -c %u /run/secrets/db-password)"
$APP sh -c "echo x >/run/secrets/db-password" 2>/dev/null && echo "WRITABLE" || true
sh -c "echo x >/run/secrets/planted" 2>/dev/null && echo "ROOT-WRITABLE" || true
echo "opts=$(findmnt -n -o OPTIONS --mountpoint /run/secrets)"
lease api-token >/dev/null
echo "mounts=$(grep -c " /run/secrets " /proc/self/mountinfo)"
echo "token=$($APP cat /run/secrets/api-token)"
for id in $(grep -o "\"id\":\"[0-9a-f]*\"" /tmp/lease-a.json | cut -d\" -f4); do
	$APP curl -s -o /dev/null --unix-socket "$WORK" -X DELETE http://x/v1/leases/$id
done
echo "after-one-revoke=$(ls /run/secrets | tr "\n" " ")"
' >"$T/out-a" 2>&1 || fail "container A: $(cat "$T/out-a")"
expect_in "content=$(cat "$T/pw")" "$T/out-a"
expect_in "mode=400 owner=1000" "$T/out-a"
grep -q WRITABLE "$T/out-a" && fail "the container could write its secrets: $(cat "$T/out-a")"
grep -q 'opts=ro,nosuid,nodev,noexec' "$T/out-a" || fail "mount options inside: $(grep opts= "$T/out-a")"
expect_in "mounts=1" "$T/out-a"
expect_in "token=tok" "$T/out-a"
expect_in "after-one-revoke=api-token " "$T/out-a"
# the host saw nothing of it
[ "$(grep -c ' /run/secrets ' /proc/self/mountinfo || true)" = "$host_mounts_before" ] || fail "a mount leaked to the host"
[ ! -e /run/secrets/db-password ] || fail "host /run/secrets touched"

# a container that leases, then has its last lease revoked, loses the mount
container "$C" '
mount -t tmpfs -o mode=0755 tmpfs /run
$APP curl -s --unix-socket "$WORK" -X POST --data "{\"secrets\":[\"db-password\"]}" http://x/v1/leases >/tmp/l.json
echo "before=$(grep -c " /run/secrets " /proc/self/mountinfo)"
id=$(grep -o "\"id\":\"[0-9a-f]*\"" /tmp/l.json | head -n1 | cut -d\" -f4)
$APP curl -s -o /dev/null --unix-socket "$WORK" -X DELETE http://x/v1/leases/$id
echo "after=$(grep -c " /run/secrets " /proc/self/mountinfo || true)"
' >"$T/out-b" 2>&1 || fail "container C: $(cat "$T/out-b")"
expect_in "before=1" "$T/out-b"
expect_in "after=0" "$T/out-b"

# a read-only /run without the mount point: a clear error, nothing left
container "$B" '
mount -t tmpfs -o ro,mode=0755 tmpfs /run
$APP curl -s -w "\n%{http_code}\n" --unix-socket "$WORK" -X POST --data "{}" http://x/v1/leases
' >"$T/out-c" 2>&1 || true
grep -q '^503$' "$T/out-c" || fail "read-only /run: $(cat "$T/out-c")"
expect_in "cannot mount the secrets at '/run/secrets' inside the container" "$T/out-c"
expect_in "--tmpfs /run" "$T/out-c"
[ ! -e "$T/secrets/containers/docker-$B" ] || fail "a failed injection left a directory"
expect_status 200 "$T/run/admin.sock" GET /v1/leases
grep -q "docker-$B" "$T/body" && fail "a failed injection left a lease"

# a mount point whose parents are missing: they are made for the
# container's users to pass (0755), whatever the daemon's own umask
container "$D" '
mount -t tmpfs -o mode=0755 tmpfs /run
setpriv --reuid=1001 --regid=1001 --clear-groups curl -s -o /dev/null --unix-socket "$WORK" -X POST --data "{}" http://x/v1/leases
echo "parent=$(stat -c %a /run/app)"
echo "token=$(setpriv --reuid=1001 --regid=1001 --clear-groups cat /run/app/secrets/api-token)"
' >"$T/out-d" 2>&1 || fail "container D: $(cat "$T/out-d")"
expect_in "parent=755" "$T/out-d"
expect_in "token=tok" "$T/out-d"
# D has ended: its lease goes when the daemon sees its cgroup empty
for _ in $(seq 50); do
	grep -q "revoke of 'api-token' by secretd (workload 'deep'): workload exited" "$T/daemon.log" && break
	sleep 0.1
done
expect_in "revoke of 'api-token' by secretd (workload 'deep'): workload exited" "$T/daemon.log"

stop_daemon
grep -q " $T/secrets/" /proc/self/mountinfo && fail "mounts left after stop"
echo "t-inject: ok"
