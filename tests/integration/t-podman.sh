# t-podman.sh — real containers: Podman (runc, cgroupfs) runs a busybox
# image built offline with only the workload socket mounted in, and each
# container shows from inside: the lease and /run/secrets/<name> (as root,
# as a non-root user, in a user namespace, on a read-only root filesystem);
# rotation and its on_rotate signal while it runs; expiry; two containers of
# one workload on their own tmpfs, blind to each other's files; and after
# `podman rm -f` nothing is left on the host, neither directory nor mount.
source "$(dirname "$0")/lib.sh"
need_root
podman_init

IMG=localhost/secretd-test-$$
# probe BODY... (in the image) — leases with each JSON body, says what it
# sees, then waits: on SIGUSR1 (on_rotate) it shows db; on SIGUSR2 it leases
# the bodies marked "later:" and shows its files again; every change of
# /run/secrets is reported (now=, gone=).
mkdir -p "$T/img/bin"
cat >"$T/img/bin/probe" <<'SH'
#!/bin/sh
lease() { echo "lease=$(lease-client /run/secretd/workload.sock "$1" 2>&1 | tr '\n' ' ')"; }
listing() { echo " $(ls /run/secrets 2>/dev/null | tr '\n' ' ')"; }
show() {
	echo "files=$(ls /run/secrets 2>&1 | tr '\n' ' ')"
	for f in /run/secrets/*; do
		[ -f "$f" ] && echo "file=${f##*/} $(stat -c '%a %u' "$f") $(cat "$f")"
	done
}
later=
for body in "$@"; do
	case "$body" in
	later:*) later="$later ${body#later:}" ;;
	*) lease "$body" ;;
	esac
done
echo "uid=$(id -u)"
echo "dev=$(stat -c %d /run/secrets 2>/dev/null)"
echo "mounts=$(grep -c ' /run/secrets ' /proc/self/mountinfo)"
show
(echo x >/run/secrets/db) 2>/dev/null && echo WRITABLE-SECRET
touch /probe-was-here 2>/dev/null && echo WRITABLE-ROOT
n=0
trap 'echo "got USR1: $(cat /run/secrets/db)"' USR1
asked=0
trap 'asked=1' USR2 # handled in the loop, never between its listing and its comparison
seen=$(listing)
echo ready
while :; do
	if [ "$asked" = 1 ]; then
		asked=0
		for b in $later; do lease "$b"; done
		later=
		show
		n=$((n + 1))
		echo "shown $n"
	fi
	now=$(listing)
	if [ "$now" != "$seen" ]; then
		echo "now=$now"
		for f in $seen; do
			case "$now" in *" $f "*) ;; *) echo "gone=$f" ;; esac
		done
	fi
	seen=$now
	sleep 0.1
done
SH
chmod 0755 "$T/img/bin/probe"
podman_image "$IMG" "$T/img"

write_config "\"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGUSR1\" }, \"secrets\": [ \"db\", \"api\", \"tmp\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
printf 'podman-%s' "$$" >"$T/value"
VALUE=$(cat "$T/value")
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary @"$T/value"
expect_status 201 "$ADMIN" PUT /v1/secrets/api --data-binary 'api-token'
expect_status 201 "$ADMIN" PUT /v1/secrets/tmp --data-binary 'short-lived'
DB='{"secrets":["db"]}'

# probe NAME [podman options...] -- BODY... — a probe container, LOG its
# output once it is ready; CID and its host directory DIR.
probe() {
	local name=$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	podman_run "$name" --network none "${opts[@]}" -- "$IMG" /bin/probe "$@"
	podman_wait "$name" '^ready'
	LOG=$T/$name.log
	podman_log "$name" >"$LOG"
	DIR=$T/secrets/containers/podman-$CID
}
# has LINE — LOG has exactly this line
has() { grep -qx -- "$1" "$LOG" || fail "expected '$1' in $(basename "$LOG"): $(cat "$LOG")"; }

# root: leases, reads its file (0400, its own), cannot write it
probe plain -- "$DB"
grep -q '^lease=HTTP/1.1 201 ' "$LOG" || fail "lease from podman: $(cat "$LOG")"
has "uid=0"
has "files=db "
has "file=db 400 0 $VALUE"
has "mounts=1"
grep -q WRITABLE-SECRET "$LOG" && fail "root in the container could write its secret"
has WRITABLE-ROOT # the probe can tell a writable root from a read-only one
[ -f "$DIR/db" ] || fail "no host directory $DIR"
PLAIN=$CID
PLAIN_DEV=$(sed -n 's/^dev=//p' "$LOG")

# a user-namespaced container (--uidmap) with a non-root user in it: uid
# 1000 inside is 201000 on the host, and the file is its own
probe userns --uidmap 0:200000:65536 --gidmap 0:200000:65536 --user 1000:1000 -- "$DB"
grep -q '^lease=HTTP/1.1 201 ' "$LOG" || fail "userns lease: $(cat "$LOG")"
has "uid=1000"
has "file=db 400 1000 $VALUE"
[ "$(stat -c '%u %g %a' "$DIR/db")" = "201000 201000 400" ] ||
	fail "userns file on the host: $(stat -c '%u %g %a' "$DIR/db")"
USERNS=$CID

# a read-only root filesystem: the daemon makes the mount point
# /run/secrets, so its parent must be writable — podman's plain --read-only
# mounts a tmpfs on /run (--read-only-tmpfs, the default); here that is
# turned off and only /run is given, explicitly
probe ro --read-only --read-only-tmpfs=false --tmpfs /run -- "$DB"
grep -q '^lease=HTTP/1.1 201 ' "$LOG" || fail "read-only lease: $(cat "$LOG")"
has "file=db 400 0 $VALUE"
grep -q WRITABLE-ROOT "$LOG" && fail "the read-only container wrote to its root: $(cat "$LOG")"
RO=$CID
# ...and without a writable /run (nor /run/secrets in the image) the lease
# is refused with a reason, and nothing is left behind
probe ro-bare --read-only --read-only-tmpfs=false -- "$DB"
grep -q "^lease=HTTP/1.1 503 .*cannot mount the secrets at '/run/secrets'" "$LOG" ||
	fail "read-only without /run: $(cat "$LOG")"
[ ! -e "$DIR" ] || fail "a refused lease left $DIR"

# same workload, a second container (non-root, no user namespace) leasing
# db and api: its own tmpfs, and neither sees the other's files
probe iso --user 1000:1000 -- '{"secrets":["db","api"]}' 'later:{"secrets":["tmp"],"ttl":"2s"}'
grep -q '^lease=HTTP/1.1 201 ' "$LOG" || fail "iso lease: $(cat "$LOG")"
has "uid=1000"
has "files=api db "
has "file=api 400 1000 api-token"
has "mounts=1"
ISO=$CID
ISO_DEV=$(sed -n 's/^dev=//p' "$LOG")
[ -n "$ISO_DEV" ] && [ "$ISO_DEV" != "$PLAIN_DEV" ] || fail "two containers share a tmpfs (dev $ISO_DEV)"
# plain, asked to look again now that iso has api, still sees only db
kill -USR2 "$(podman inspect -f '{{.State.Pid}}' "secretd-t-$$-plain")"
podman_wait plain '^shown 1$'
[ "$(podman_log plain | grep '^files=' | tail -n 1)" = "files=db " ] || fail "plain sees other files: $(podman_log plain)"
[ -f "$T/secrets/containers/podman-$ISO/api" ] && [ ! -e "$T/secrets/containers/podman-$PLAIN/api" ] || fail "host directories mixed up"

# expiry: iso leases tmp for 2 s (on SIGUSR2), sees the file come and go;
# db and api stay
kill -USR2 "$(podman inspect -f '{{.State.Pid}}' "secretd-t-$$-iso")"
podman_wait iso '^gone=tmp$'
podman_log iso >"$LOG"
grep -q '^lease=HTTP/1.1 201 .*"secret":"tmp"' "$LOG" || fail "lease of tmp: $(cat "$LOG")"
grep -qx 'file=tmp 400 1000 short-lived' "$LOG" || fail "iso never saw tmp: $(cat "$LOG")"
[ "$(grep '^now=' "$LOG" | tail -n 1)" = "now= api db " ] || fail "iso after expiry: $(cat "$LOG")"
grep '^gone=' "$LOG" | grep -qvx 'gone=tmp' && fail "more went with tmp: $(cat "$LOG")"
[ ! -e "$T/secrets/containers/podman-$ISO/tmp" ] || fail "expired tmp still on the host"

# rotation reaches the four running containers holding db at once, then
# their main process gets on_rotate (SIGUSR1) and reads the new value
expect_status 200 "$ADMIN" POST /v1/secrets/db/rotate --data-binary 'rotated'
grep -q '"leases_updated":4' "$T/body" || fail "rotate: $(cat "$T/body")"
for n in plain userns ro iso; do
	podman_wait "$n" '^got USR1: rotated$'
done
podman_log ro-bare | grep -q '^got USR1' && fail "a container without a lease got on_rotate"

# podman rm -f: every directory, mount and lease goes
for n in plain userns ro iso ro-bare; do
	podman_rm "secretd-t-$$-$n"
done
for _ in $(seq 240); do # the 5 s sweep, twice, catches what a watch missed
	[ -z "$(ls "$T/secrets/containers")" ] && ! grep -q " $T/secrets/" /proc/self/mountinfo && break
	sleep 0.05
done
for id in "$PLAIN" "$USERNS" "$RO" "$ISO"; do
	[ ! -e "$T/secrets/containers/podman-$id" ] || fail "directory left after podman rm -f: podman-$id"
done
[ "$(ls "$T/secrets")" = containers ] && [ -z "$(ls "$T/secrets/containers")" ] || fail "left in the secrets root: $(ls "$T/secrets" "$T/secrets/containers")"
grep " $T/secrets/" /proc/self/mountinfo && fail "mounts left after podman rm -f"
expect_status 200 "$ADMIN" GET /v1/leases
grep -q '"leases":\[\]' "$T/body" || fail "leases left after podman rm -f: $(cat "$T/body")"
[ -z "$(ls -A "$T/run/leases")" ] || fail "lease records left after podman rm -f: $(ls -A "$T/run/leases")"
echo "t-podman: ok (5 containers)"
