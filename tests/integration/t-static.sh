# t-static.sh — the client for containers: secretctl-static needs no loader
# and no library (no PT_INTERP, no DT_NEEDED), is a static PIE with full
# RELRO, runs in a busybox-only chroot where the dynamic secretctl fails,
# and in a real busybox Podman container
# it is the whole agent: `secretctl lease --keep -- app` as the entrypoint,
# the app reads its file at once, gets on_rotate's SIGHUP through the agent
# (the container's pid 1), and `podman stop` ends the app, whose exit status
# becomes the container's; no lease is left.
source "$(dirname "$0")/lib.sh"
need_root
[ -n "${SECRETCTL_STATIC:-}" ] || { echo "skipped: no secretctl-static in this build (SANITIZE=1)"; exit 77; }
[ -x "$SECRETCTL_STATIC" ] || fail "$SECRETCTL_STATIC not built"
podman_init

# --- no loader, no library ----------------------------------------------------------
readelf -lW "$SECRETCTL_STATIC" | grep -q INTERP && fail "secretctl-static names a loader"
readelf -dW "$SECRETCTL_STATIC" | grep -q NEEDED && fail "secretctl-static needs libraries: $(readelf -dW "$SECRETCTL_STATIC" | grep NEEDED)"
# hardened like the dynamic one: a static PIE, full RELRO, no executable stack
readelf -dW "$SECRETCTL_STATIC" | grep -Eq 'FLAGS_1.*PIE' || fail "secretctl-static is not a static PIE"
readelf -dW "$SECRETCTL_STATIC" | grep -Eq 'FLAGS.*BIND_NOW' || fail "secretctl-static: no BIND_NOW"
readelf -lW "$SECRETCTL_STATIC" | grep -q GNU_RELRO || fail "secretctl-static: no GNU_RELRO"
readelf -lW "$SECRETCTL_STATIC" | grep GNU_STACK | grep -q RWE && fail "secretctl-static: executable stack"
ldd "$SECRETCTL" | grep -q libcurl && fail "secretctl still links libcurl"
echo "secretctl links: $(ldd "$SECRETCTL" | awk '/=>/ { print $1 }' | tr '\n' ' ')"

write_config "\"workloads\": [
    { \"name\": \"app\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
printf 'one' | "$SECRETCTL" --socket "$ADMIN" put db >/dev/null || fail "put db"

# --- a busybox-only chroot ---------------------------------------------------------------
CH=$T/chroot
mkdir -p "$CH/bin" "$CH/usr/local/bin" "$CH/run/secretd"
cp "$(command -v busybox)" "$CH/bin/busybox"
ln -s busybox "$CH/bin/sh"
cp "$SECRETCTL_STATIC" "$CH/usr/local/bin/secretctl"
cp "$SECRETCTL" "$CH/usr/local/bin/secretctl-dynamic"
in_chroot() { unshare -m sh -c 'mount --bind "$0/run" "$1/run/secretd" && d=$1 && shift && exec chroot "$d" "$@"' "$T" "$CH" "$@"; }
# (root in a mount namespace of its own is no admin: whoami, which anyone may ask)
in_chroot /usr/local/bin/secretctl --socket /run/secretd/workload.sock whoami >"$T/out" 2>&1 ||
	fail "secretctl-static in a busybox chroot: $(cat "$T/out")"
expect_in "identity:" "$T/out"
# what it spares: the dynamic build's loader is not there
in_chroot /bin/sh -c '/usr/local/bin/secretctl-dynamic whoami' >"$T/out" 2>&1 && fail "the dynamic secretctl ran without its loader"
echo "chroot: secretctl-static runs; the dynamic one says: $(cat "$T/out")"

# --- a real busybox container: the agent as its entrypoint ------------------------------
IMG=localhost/secretd-static-$$
mkdir -p "$T/img/usr/local/bin"
cp "$SECRETCTL_STATIC" "$T/img/usr/local/bin/secretctl"
podman_image "$IMG" "$T/img"
podman_run app --network none -- "$IMG" /usr/local/bin/secretctl lease --ttl 2s --keep -- \
	sh -c 'cat /run/secrets/db; echo; trap "echo got-HUP; cat /run/secrets/db; echo" HUP;
	       trap "echo got-TERM; exit 5" TERM; echo ready; while :; do sleep 0.1; done'
podman_wait app '^ready'
[ "$(podman_log app | grep -v '^secretctl:' | head -n1)" = one ] || fail "the app's first read: $(podman_log app)"
printf 'two' | "$SECRETCTL" --socket "$ADMIN" rotate db -f - >/dev/null || fail "rotate"
podman_wait app '^got-HUP'
podman_log app | grep -A1 '^got-HUP' | grep -qx two || fail "after SIGHUP the app read: $(podman_log app)"
sleep 3 # past the 2 s TTL: renewed beside the app
"$SECRETCTL" --socket "$ADMIN" --json leases | grep -q '"secret": "db"' || fail "the lease lapsed: $(podman_log app)"
podman stop -t 10 "secretd-t-$$-app" >/dev/null || fail "podman stop"
# (the container's log may come a moment after `podman stop` returns)
podman_wait app '^got-TERM'
code=$(podman inspect -f '{{.State.ExitCode}}' "secretd-t-$$-app")
[ "$code" = 5 ] || fail "the container exited $code, not the app's 5: $(podman_log app)"
"$SECRETCTL" --socket "$ADMIN" --json leases | grep -q '"leases": \[\]' || fail "leases left: $("$SECRETCTL" --socket "$ADMIN" leases)"
echo "t-static: ok"
