# t-podman-nginx.sh — a real consumer: Debian's nginx, copied with its
# libraries into a busybox image, runs in a Podman container (read-only
# root) whose only secretd contact is the workload socket.  secretctl leases its
# TLS certificate and key, one set "web" of two parts, and keeps renewing it
# (--keep), and nginx as its main process serves them from
# /run/secrets/web/{tls.crt,tls.key}.  The pair is rotated in one call: nginx
# reloads once, with the new pair, never logs `key values mismatch`, and a
# TLS client on the host sees the new certificate from the same, never
# restarted, container: on_rotate SIGHUP reached the nginx master.
source "$(dirname "$0")/lib.sh"
need_root
podman_init
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
[ -x "$NGINX" ] || fail "nginx is needed (.ci/deps installs it)"
command -v openssl >/dev/null || fail "openssl is needed (.ci/deps installs it)"

# two self-signed pairs for 127.0.0.1
for i in 1 2; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=secretd-nginx-$i" -addext "subjectAltName=IP:127.0.0.1" \
		-keyout "$T/key$i.pem" -out "$T/cert$i.pem" 2>"$T/err" || fail "openssl req: $(cat "$T/err")"
	openssl x509 -noout -fingerprint -sha256 -in "$T/cert$i.pem" >"$T/fp$i"
done
[ "$(cat "$T/fp1")" != "$(cat "$T/fp2")" ] || fail "the two certificates are the same"

# a free port on the host's loopback
PORT=$((20000 + $$ % 20000))
while [ -n "$(ss -Htln "sport = :$PORT")" ]; do PORT=$((PORT + 1)); done

# the image: busybox, the lease client, nginx and what it links, a config
# that writes only to /run and /tmp (tmpfs under --read-only)
IMG=localhost/secretd-nginx-$$
mkdir -p "$T/img/etc/nginx"
copy_with_libs "$NGINX" "$T/img"
# secretctl as the container's agent, with the libraries it links
copy_with_libs "$SECRETCTL" "$T/img"
mkdir -p "$T/img/bin" && ln -sf "$SECRETCTL" "$T/img/bin/secretctl"
echo 'root:x:0:0::/:/bin/sh
nobody:x:65534:65534::/:/bin/false' >"$T/img/etc/passwd"
echo 'root:x:0:
nogroup:x:65534:' >"$T/img/etc/group"
cat >"$T/img/etc/nginx/nginx.conf" <<'CONF'
user nobody nogroup;
worker_processes 1;
error_log stderr notice;
pid /run/nginx.pid;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path /tmp/body;
	proxy_temp_path /tmp/proxy;
	fastcgi_temp_path /tmp/fastcgi;
	uwsgi_temp_path /tmp/uwsgi;
	scgi_temp_path /tmp/scgi;
	server {
		listen 8443 ssl;
		ssl_certificate /run/secrets/web/tls.crt;
		ssl_certificate_key /run/secrets/web/tls.key;
		location / { default_type text/plain; return 200 "served by nginx\n"; }
	}
}
CONF
podman_image "$IMG" "$T/img"

write_config "\"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",
      \"on_rotate\": { \"signal\": \"SIGHUP\" }, \"secrets\": [ \"web\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
expect_exit 0 "$SECRETCTL" --socket "$ADMIN" put web --part tls.crt="$T/cert1.pem" --part tls.key="$T/key1.pem"

# secretctl leases with a short TTL and keeps renewing in the background
# (an agent in one flag), then nginx runs in the foreground as the main
# process; secretctl finds the workload socket by itself
podman_run nginx --read-only -p "127.0.0.1:$PORT:8443" -- "$IMG" sh -c \
	'secretctl lease web --ttl 3s --keep >/dev/null &
	 for i in $(seq 100); do [ -e /run/secrets/web/tls.key ] && break; sleep 0.1; done
	 exec /usr/sbin/nginx -p /tmp -c /etc/nginx/nginx.conf -e stderr -g "daemon off;"'
LEASED_AT=$SECONDS

# served — the SHA-256 fingerprint of the certificate the host is served
served() {
	openssl s_client -connect "127.0.0.1:$PORT" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null || true
}
# wait_served N — until the host is served certificate N (up to 20 s)
wait_served() {
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		[ "$(served)" = "$(cat "$T/fp$1")" ] && return 0
		sleep 0.2
	done
	fail "the host is not served certificate $1 (got '$(served)'); nginx: $(podman_log nginx | tail -n 5)"
}
state() { podman inspect -f '{{.Id}}|{{.State.Pid}}|{{.RestartCount}}|{{.State.Running}}|{{.State.StartedAt}}' "secretd-t-$$-nginx"; }

wait_served 1
# a verifying client: the first pair's CA is accepted, the second's is not
curl -sS --cacert "$T/cert1.pem" "https://127.0.0.1:$PORT/" >"$T/out" 2>&1 || fail "curl: $(cat "$T/out")"
[ "$(cat "$T/out")" = "served by nginx" ] || fail "nginx answered: $(cat "$T/out")"
curl -s --cacert "$T/cert2.pem" "https://127.0.0.1:$PORT/" >/dev/null && fail "certificate 2 served before the rotation"
BEFORE=$(state)
MAIN=$(echo "$BEFORE" | cut -d'|' -f2)
[ "$(cat "/proc/$MAIN/comm")" = nginx ] || fail "the container's main process is $(cat "/proc/$MAIN/comm"), not nginx"
[ -f "$T/secrets/containers/podman-$CID/web/tls.key" ] || fail "no host directory podman-$CID"

# rotate certificate and key in one call: one switch of the set's
# directory, then one SIGHUP, whose reload finds the new pair whole
expect_exit 0 "$SECRETCTL" --socket "$ADMIN" rotate web --part tls.crt="$T/cert2.pem" --part tls.key="$T/key2.pem"
expect_in "1 leased file updated" "$T/out"
wait_served 2
# an old worker may still answer a connection or two while it drains
for _ in $(seq 50); do
	curl -sS --cacert "$T/cert2.pem" "https://127.0.0.1:$PORT/" >"$T/out" 2>&1 && break
	sleep 0.1
done
curl -sS --cacert "$T/cert2.pem" "https://127.0.0.1:$PORT/" >"$T/out" 2>&1 || fail "curl after rotation: $(cat "$T/out")"
[ "$(cat "$T/out")" = "served by nginx" ] || fail "nginx answered after rotation: $(cat "$T/out")"
# and, once the old workers have drained, certificate 1 is no longer
# served: five refusals in a row (a connection may still reach an old
# worker while it closes; up to 15 s)
refused=0
for _ in $(seq 150); do
	if curl -s --cacert "$T/cert1.pem" "https://127.0.0.1:$PORT/" >/dev/null; then refused=0; else refused=$((refused + 1)); fi
	[ "$refused" -ge 5 ] && break
	sleep 0.1
done
[ "$refused" -ge 5 ] || fail "certificate 1 still served 15 s after the rotation"

# the same container and main process, never restarted, got the SIGHUPs
AFTER=$(state)
[ "$AFTER" = "$BEFORE" ] || fail "the container changed: '$BEFORE' → '$AFTER'"
case "$AFTER" in *"|0|true|"*) ;; *) fail "container not running or restarted: $AFTER" ;; esac
podman_log nginx >"$T/nginx.log"
HUPS=$(grep -c 'signal 1 (SIGHUP) received' "$T/nginx.log" || true)
[ "$HUPS" = 1 ] || fail "nginx got $HUPS SIGHUPs for one set rotation: $(tail -n 5 "$T/nginx.log")"
grep -q 'key values mismatch' "$T/nginx.log" && fail "nginx saw a torn pair: $(grep 'key values mismatch' "$T/nginx.log")"
# the 3 s leases outlived several TTLs: secretctl --keep renewed them
while [ $((SECONDS - LEASED_AT)) -lt 8 ]; do sleep 0.5; done
[ -f "$T/secrets/containers/podman-$CID/web/tls.key" ] || fail "the kept lease expired: $(podman_log nginx | grep -v "\[notice\]" | tail -n 5)"
"$SECRETCTL" --socket "$ADMIN" --json leases | jq -e '.leases | length == 1' >/dev/null ||
	fail "expected 1 kept lease: $("$SECRETCTL" --socket "$ADMIN" leases)"
# podman rm -f: the directory, its mount and the leases go
podman_rm "secretd-t-$$-nginx"
for _ in $(seq 100); do [ -e "$T/secrets/containers/podman-$CID" ] || break; sleep 0.05; done
[ ! -e "$T/secrets/containers/podman-$CID" ] || fail "directory left after podman rm -f"
grep -q " $T/secrets/containers/podman-$CID " /proc/self/mountinfo && fail "mount left after podman rm -f"
expect_status 200 "$ADMIN" GET /v1/leases
grep -q '"leases":\[\]' "$T/body" || fail "leases left after podman rm -f: $(cat "$T/body")"
echo "t-podman-nginx: ok (1 container; one set rotation, nginx got $HUPS SIGHUP, 0 mismatched pairs)"
