# t-socket-dir.sh — the workload socket in a directory of its own, which a
# container bind-mounts: a daemon restarted by hand (a clean stop, or kill -9)
# makes a new socket inode, which a bind of the *directory* sees and a bind
# of the socket *file* does not.  The admin socket is not in that directory.
source "$(dirname "$0")/lib.sh"
need_root

write_config
# the layout of the defaults: admin socket and records in runtime_dir, the
# workload socket alone in a directory below it
sed -i "s|\"$T/run/workload.sock\"|\"$T/run/workload/workload.sock\"|" "$T/secretd.json"
expect_exit 0 "$SECRETD" --check-config --config "$T/secretd.json"
grep -q 'warning' "$T/err" && fail "the layout of the defaults warned: $(cat "$T/err")"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
WDIR=$T/run/workload
[ "$(ls -A "$WDIR")" = workload.sock ] || fail "the workload socket's directory holds more: $(ls -A "$WDIR")"
[ "$(mode_of "$WDIR")" = 755 ] || fail "workload dir mode $(mode_of "$WDIR")"

# a hand-made container: a mount namespace of its own with the directory
# bound at /run/secretd/workload (on a tmpfs /run of its own) and, for
# contrast, the socket file bound at /run/file.sock; it answers each
# "go.N" file with the health of both, in "seen.N"
mkdir -p "$T/ct"
unshare -m --propagation private sh -c '
	mount -t tmpfs none /run && mkdir -p /run/secretd/workload && touch /run/file.sock &&
	mount --bind "$0/run/workload" /run/secretd/workload &&
	mount --bind "$0/run/workload/workload.sock" /run/file.sock || exit 1
	: >"$0/ct/ready"
	for n in 1 2 3; do
		while [ ! -e "$0/ct/go.$n" ]; do sleep 0.05; done
		d=$(curl -s -o /dev/null -w "%{http_code}" --unix-socket /run/secretd/workload/workload.sock http://x/v1/health)
		f=$(curl -s -o /dev/null -w "%{http_code}" --unix-socket /run/file.sock http://x/v1/health)
		echo "dir=$d file=$f" >"$0/ct/seen.$n"
	done' "$T" &
CT_PID=$!
for _ in $(seq 100); do [ -e "$T/ct/ready" ] && break; sleep 0.05; done
[ -e "$T/ct/ready" ] || fail "the hand-made container did not start"

# ask ROUND — the container's view after "go.ROUND"
ask() {
	: >"$T/ct/go.$1"
	for _ in $(seq 100); do [ -s "$T/ct/seen.$1" ] && break; sleep 0.05; done
	cat "$T/ct/seen.$1" 2>/dev/null || echo "no answer"
}
[ "$(ask 1)" = "dir=200 file=200" ] || fail "before any restart: $(cat "$T/ct/seen.1")"

stop_daemon
start_daemon --config "$T/secretd.json"
seen=$(ask 2)
case $seen in "dir=200 file=000") ;; *) fail "after a clean restart the container saw: $seen" ;; esac

kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
start_daemon --config "$T/secretd.json"
seen=$(ask 3)
case $seen in "dir=200"*) ;; *) fail "after kill -9 and a start the container saw: $seen" ;; esac
wait "$CT_PID" || fail "the hand-made container failed"
stop_daemon
# a clean stop takes the socket, never the directory containers mounted
[ -d "$WDIR" ] && [ ! -e "$WDIR/workload.sock" ] || fail "after a stop: $(ls -la "$WDIR" 2>&1)"
echo "t-socket-dir: ok"
