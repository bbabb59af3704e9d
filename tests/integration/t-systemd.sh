# t-systemd.sh — life as a systemd service without systemd as PID 1: the
# units pass `systemd-analyze verify`, READY=1/STATUS/STOPPING and watchdog
# pings reach a NOTIFY_SOCKET, and socket activation hands over both sockets.
source "$(dirname "$0")/lib.sh"
need_root
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing"
command -v socat >/dev/null || fail "socat missing"

top=$(cd "$(dirname "$0")/../.." && pwd)

# --- the units, installed into a scratch root, verify cleanly ----------------
make -s -C "$top" install PREFIX=/usr/local DESTDIR="$T/root" >"$T/make.log" 2>&1 || fail "make install: $(cat "$T/make.log")"
units=$T/root/usr/local/lib/systemd/system
for u in secretd.service secretd.socket secretd-admin.socket; do
	[ -f "$units/$u" ] || fail "$u not installed"
done
grep -q '^ExecStart=/usr/local/sbin/secretd ' "$units/secretd.service" || fail "ExecStart path not substituted"
# verify resolves ExecStart= on the real root, so point it at the scratch copy
mkdir -p "$T/verify"
sed "s|/usr/local/sbin/secretd|$T/root/usr/local/sbin/secretd|" "$units/secretd.service" >"$T/verify/secretd.service"
cp "$units/secretd.socket" "$units/secretd-admin.socket" "$T/verify/"
( cd "$T/verify" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	./secretd.service ./secretd.socket ./secretd-admin.socket ) >"$T/verify.log" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$T/verify.log")"
grep -v -e 'Failed to .*cgroup' -e '^$' "$T/verify.log" | grep -qi -e error -e warning -e 'unknown' &&
	fail "systemd-analyze verify complained: $(cat "$T/verify.log")"
systemd-analyze security --offline=yes --no-pager "$T/verify/secretd.service" >"$T/security.log" 2>&1 || true
score=$(grep -o 'Overall exposure level for secretd.service: [0-9.]*' "$T/security.log" | awk '{print $NF}')
echo "systemd-analyze security exposure: ${score:-unknown}"

# --- sd_notify: READY=1 after the sockets listen, then STOPPING=1 -----------
write_config
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
socat -u UNIX-RECV:"$T/notify.sock" OPEN:"$T/notify.log",creat,append &
socat_pid=$!
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 start_daemon --config "$T/secretd.json"
for _ in $(seq 50); do grep -q 'READY=1' "$T/notify.log" 2>/dev/null && break; sleep 0.05; done
grep -q 'READY=1' "$T/notify.log" || fail "no READY=1 on NOTIFY_SOCKET: $(cat "$T/notify.log" 2>/dev/null)"
grep -q 'STATUS=serving' "$T/notify.log" || fail "no STATUS="
[ -S "$T/run/workload.sock" ] || fail "READY before the sockets existed"
sleep 1
pings=$(grep -o 'WATCHDOG=1' "$T/notify.log" | wc -l)
[ "$pings" -ge 3 ] || fail "expected watchdog pings every 200 ms, got $pings in 1 s"
stop_daemon
sleep 0.2
grep -q 'STOPPING=1' "$T/notify.log" || fail "no STOPPING=1"
kill "$socat_pid" 2>/dev/null || true
[ ! -e "$T/run/workload.sock" ] || fail "socket file left after a clean stop"

# --- socket activation: started by the first connection ---------------------
rm -rf "$T/run" && mkdir -p "$T/run"
systemd-socket-activate -l "$T/run/admin.sock" -l "$T/run/workload.sock" --fdname=admin:workload \
	"$SECRETD" --config "$T/secretd.json" 2>"$T/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 50); do [ -S "$T/run/workload.sock" ] && break; sleep 0.05; done
ino=$(stat -c %i "$T/run/workload.sock")
grep -q serving "$T/daemon.log" && fail "daemon started before any connection"
expect_status 200 "$T/run/workload.sock" GET /v1/health
expect_status 200 "$T/run/admin.sock" GET /v1/status
grep -q serving "$T/daemon.log" || fail "daemon did not start on the first connection"
[ "$(stat -c %i "$T/run/workload.sock")" = "$ino" ] || fail "daemon replaced systemd's socket"
stop_daemon
[ -S "$T/run/workload.sock" ] || fail "daemon removed systemd's socket file"
echo "t-systemd: ok (exposure ${score:-unknown})"
