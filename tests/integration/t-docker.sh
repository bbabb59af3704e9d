# t-docker.sh — real containers: a private Docker engine (Debian's docker.io,
# cgroupfs, no network) runs a busybox image built offline with only the
# workload socket mounted in, and each container shows from inside: that
# the daemon knows it as docker:<its full id>, its lease, and
# /run/secrets/<name> (as root and as uid 1000); a second container blind
# to the first's files; rotation reaching them while they run; and after
# `docker rm -f` nothing is left: directory, mount or lease.
source "$(dirname "$0")/lib.sh"
need_root
docker_init
docker_start

IMG=secretd-test-$$:1
# probe BODY... (in the image) — leases with each JSON body, says who the
# daemon takes it for and what it sees, then waits: it reports each new
# value of /run/secrets/db (db=), shows db on SIGUSR1 (on_rotate) and its
# files again on SIGUSR2.
mkdir -p "$T/img/bin"
cat >"$T/img/bin/probe" <<'PROBE'
#!/bin/sh
S=/run/secretd/workload.sock
show() {
	echo "files=$(ls /run/secrets 2>&1 | tr '\n' ' ')"
	for f in /run/secrets/*; do
		[ -f "$f" ] && echo "file=${f##*/} $(stat -c '%a %u' "$f") $(cat "$f")"
	done
}
for body in "$@"; do
	echo "lease=$(lease-client $S "$body" 2>&1 | tr '\n' ' ')"
done
echo "whoami=$(lease-client $S GET:/v1/whoami 2>&1 | tr '\n' ' ')"
echo "uid=$(id -u)"
echo "dev=$(stat -c %d /run/secrets 2>/dev/null)"
echo "mounts=$(grep -c ' /run/secrets ' /proc/self/mountinfo)"
show
(echo x >/run/secrets/db) 2>/dev/null && echo WRITABLE-SECRET
trap 'echo "got USR1: $(cat /run/secrets/db)"' USR1
asked=0 n=0
trap 'asked=1' USR2
seen=
echo ready
while :; do
	if [ "$asked" = 1 ]; then
		asked=0 n=$((n + 1))
		show
		echo "shown $n"
	fi
	now=$(cat /run/secrets/db 2>/dev/null)
	[ "$now" = "$seen" ] || echo "db=$now"
	seen=$now
	sleep 0.1
done
PROBE
chmod 0755 "$T/img/bin/probe"
docker_image "$IMG" "$T/img"

# the workload socket in a directory of its own, which the containers
# mount (the admin socket and lease records stay out of their reach)
write_config "\"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"docker\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGUSR1\" }, \"secrets\": [ \"db\", \"api\" ] } ]"
sed -i "s|\"workload_socket\": \"$T/run/workload.sock\"|\"workload_socket\": \"$T/wl/workload.sock\"|" "$T/secretd.json"
grep -q "\"$T/wl/workload.sock\"" "$T/secretd.json" || fail "workload_socket not moved: $(cat "$T/secretd.json")"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
printf 'docker-%s' "$$" >"$T/value"
VALUE=$(cat "$T/value")
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary @"$T/value"
expect_status 201 "$ADMIN" PUT /v1/secrets/api --data-binary 'api-token'

# probe NAME [docker options...] -- BODY... — a probe container, LOG its
# output once it is ready; CID and its host directory DIR.
probe() {
	local name=$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	docker_run "$name" -v "$T/wl:/run/secretd" "${opts[@]}" -- "$IMG" /bin/probe "$@"
	docker_wait "$name" '^ready'
	LOG=$T/$name.log
	docker_log "$name" >"$LOG"
	DIR=$T/secrets/containers/docker-$CID
}
# has LINE — LOG has exactly this line
has() { grep -qx -- "$1" "$LOG" || fail "expected '$1' in $(basename "$LOG"): $(cat "$LOG")"; }
main_pid() { "${DOCKER[@]}" inspect -f '{{.State.Pid}}' "secretd-t-$$-$1"; }

# root: the daemon names it by its full id, it leases db and reads it
# (0400, its own), and cannot write it
probe plain -- '{"secrets":["db"]}'
[[ $CID =~ ^[0-9a-f]{64}$ ]] || fail "docker run gave no full id: $CID"
grep -q '^lease=HTTP/1.1 201 ' "$LOG" || fail "lease from docker: $(cat "$LOG")"
grep -q "^whoami=.*\"identity\":\"docker:$CID\"" "$LOG" || fail "identity in the container: $(cat "$LOG")"
grep -q '^whoami=.*"name":"app"' "$LOG" || fail "workload in the container: $(cat "$LOG")"
has "uid=0"
has "files=db "
has "file=db 400 0 $VALUE"
has "mounts=1"
grep -q WRITABLE-SECRET "$LOG" && fail "root in the container could write its secret"
[ "$(stat -c '%a %u' "$DIR/db" 2>&1)" = "400 0" ] || fail "host file $DIR/db: $(stat -c '%a %u' "$DIR/db" 2>&1)"
PLAIN=$CID
PLAIN_DEV=$(sed -n 's/^dev=//p' "$LOG")
expect_status 200 "$ADMIN" GET /v1/leases
grep -q "\"instance\":\"docker-$PLAIN\"" "$T/body" || fail "the lease is not docker:$PLAIN's: $(cat "$T/body")"
grep -q "\"action\":\"lease\",\"decision\":\"allow\",\"identity\":\"docker:$PLAIN\"" "$T/audit.jsonl" ||
	fail "no allowed lease for docker:$PLAIN in the audit log: $(cat "$T/audit.jsonl")"

# a second container, uid 1000, leasing api: its own tmpfs, its own files
probe other --user 1000:1000 -- '{"secrets":["api"]}'
grep -q '^lease=HTTP/1.1 201 ' "$LOG" || fail "lease as uid 1000: $(cat "$LOG")"
grep -q "^whoami=.*\"identity\":\"docker:$CID\"" "$LOG" || fail "identity of the second: $(cat "$LOG")"
has "uid=1000"
has "files=api "
has "file=api 400 1000 api-token"
has "mounts=1"
OTHER=$CID
OTHER_DEV=$(sed -n 's/^dev=//p' "$LOG")
[ "$OTHER" != "$PLAIN" ] || fail "two containers, one id"
[ -n "$OTHER_DEV" ] && [ "$OTHER_DEV" != "$PLAIN_DEV" ] || fail "two containers share a tmpfs (dev $OTHER_DEV)"
# plain, asked to look again now that the other has api, still sees only db
kill -USR2 "$(main_pid plain)"
docker_wait plain '^shown 1$'
[ "$(docker_log plain | grep '^files=' | tail -n 1)" = "files=db " ] || fail "plain sees the other's files: $(docker_log plain)"
[ -f "$T/secrets/containers/docker-$OTHER/api" ] && [ ! -e "$T/secrets/containers/docker-$PLAIN/api" ] &&
	[ ! -e "$T/secrets/containers/docker-$OTHER/db" ] || fail "host directories mixed up"

# rotation reaches the running container: the file changes in place and
# on_rotate (SIGUSR1) follows; the other, holding no db, gets neither
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'rotated'
grep -q '"leases_updated":1' "$T/body" || fail "rotate: $(cat "$T/body")"
docker_wait plain '^db=rotated$'
docker_wait plain '^got USR1: rotated$'
[ "$(stat -c '%a %u' "$T/secrets/containers/docker-$PLAIN/db")" = "400 0" ] || fail "rotated file's mode or owner"
docker_log other | grep -q '^got USR1' && fail "a container without db got on_rotate"

# docker rm -f: every directory, mount and lease goes
docker_rm plain
docker_rm other
for _ in $(seq 100); do
	[ -z "$(ls "$T/secrets/containers")" ] && ! grep -q " $T/secrets/" /proc/self/mountinfo && break
	sleep 0.05
done
for id in "$PLAIN" "$OTHER"; do
	[ ! -e "$T/secrets/containers/docker-$id" ] || fail "directory left after docker rm -f: docker-$id"
done
[ "$(ls "$T/secrets")" = containers ] && [ -z "$(ls "$T/secrets/containers")" ] || fail "left in the secrets root: $(ls "$T/secrets" "$T/secrets/containers")"
grep " $T/secrets/" /proc/self/mountinfo && fail "mounts left after docker rm -f"
expect_status 200 "$ADMIN" GET /v1/leases
grep -q '"leases":\[\]' "$T/body" || fail "leases left after docker rm -f: $(cat "$T/body")"
[ -z "$(ls -A "$T/run/leases")" ] || fail "lease records left after docker rm -f: $(ls -A "$T/run/leases")"
echo "t-docker: ok (2 containers)"
