# t-limits.sh — the daemon takes the hard file descriptor limit as its soft
# one: each container instance holds three or four descriptors, so a
# thousand containers need more than the 1024 systemd gives a service.
source "$(dirname "$0")/lib.sh"

write_config
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
hard=$(ulimit -Hn)
[ "$hard" -gt 256 ] || { echo "skipped: hard fd limit is only $hard"; exit 77; }
ulimit -Sn 256
start_daemon --config "$T/secretd.json"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$DAEMON_PID/limits")
[ "$soft" = "$hard" ] || fail "soft fd limit $soft, expected the hard limit $hard"
stop_daemon
echo "t-limits: ok"
