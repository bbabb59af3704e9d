# t-etcd.sh — one store for many hosts: a 3-member etcd cluster on loopback
# (its own ports and data directories, started and stopped here) and three
# secretd "hosts" A, B and C (their own configs, sockets, state and secrets
# roots), sharing the store under one prefix and one master key.
#  - what one host writes, the others read; a lease on C serves the store's
#    current value;
#  - hundreds of concurrent rotations of one secret from all three hosts:
#    every acknowledged rotation has a version of its own, the versions are
#    dense, and every host ends with the same value, the last acknowledged;
#  - kill -9 of the etcd leader, and of host B, under rotations: nothing
#    acknowledged lost, B back and agreeing;
#  - etcd cut off altogether: writes 503 naming etcd, status and /metrics
#    say so and since when, reads and lease renewals are served from the
#    sealed copy the host last saw; back once etcd is;
#  - etcd holds no plaintext: a canary is in no key, no value, no file of
#    its data directories;
#  - a host with another master key refuses to start, naming the key;
#  - hostile blobs in etcd (truncated, too large, sealed with another key)
#    are refused for their secret alone;
#  - a rotation on B reaches the files of a hand-made container and of a
#    real Podman container on C by C's watch of etcd, with their on_rotate; C's own rotation, come back by the watch, changes
#    nothing more; C cut off alone (its proxy to etcd killed) while etcd
#    compacts resynchronizes when it is back; a delete on A revokes C's
#    lease.
source "$(dirname "$0")/lib.sh"
need_root
for b in etcd etcdctl; do command -v $b >/dev/null || fail "$b is needed (.ci/deps installs etcd-server, etcd-client)"; done
containers_init
podman_init
IMG=localhost/secretd-test-etcd-$$
podman_image "$IMG" "$T/img"

# --- the cluster --------------------------------------------------------------
free_port() {
	local p=$1
	while [ -n "$(ss -Htln "sport = :$p")" ]; do p=$((p + 1)); done
	echo "$p"
}
port=$((21000 + ($$ % 400) * 20))
CLIENT=() PEER=() INITIAL=""
for i in 1 2 3; do
	CLIENT[i]=$(free_port "$port"); port=$((CLIENT[i] + 1))
	PEER[i]=$(free_port "$port"); port=$((PEER[i] + 1))
	INITIAL="$INITIAL${INITIAL:+,}m$i=http://127.0.0.1:${PEER[i]}"
done
ENDPOINTS="http://127.0.0.1:${CLIENT[1]},http://127.0.0.1:${CLIENT[2]},http://127.0.0.1:${CLIENT[3]}"
ETCD_PIDS=()
start_member() {
	local i=$1 state=$2
	etcd --name "m$i" --data-dir "$T/etcd$i" --initial-cluster-state "$state" --initial-cluster "$INITIAL" \
		--listen-client-urls "http://127.0.0.1:${CLIENT[i]}" --advertise-client-urls "http://127.0.0.1:${CLIENT[i]}" \
		--listen-peer-urls "http://127.0.0.1:${PEER[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PEER[i]}" \
		--initial-cluster-token "secretd-t-$$" --max-request-bytes 8388608 >>"$T/etcd$i.log" 2>&1 &
	ETCD_PIDS[i]=$!
}
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s "$@"; }
cluster_healthy() {
	for _ in $(seq 200); do
		ectl endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "the etcd cluster is not healthy: $(ectl endpoint health 2>&1 | tr '\n' ' ') $(tail -n 3 "$T/etcd1.log")"
}
HOST_PIDS=()
etcd_cleanup() {
	for p in "${HOST_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${ETCD_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	return 0
}
trap 'etcd_cleanup; cleanup' EXIT
for i in 1 2 3; do start_member "$i" new; done
cluster_healthy

# --- three hosts ------------------------------------------------------------
PREFIX=/secretd-t-$$/
# host_config H [ENDPOINTS] — $T/H/secretd.json: H's own paths, the shared
# store (at ENDPOINTS, comma-separated, when given)
host_config() {
	local d=$T/$1 eps=${2:-$ENDPOINTS}
	mkdir -p "$d"
	cat >"$d/secretd.json" <<JSON
{ "admin_socket": "$d/run/admin.sock", "workload_socket": "$d/run/workload.sock",
  "hook_socket": "$d/hook/hook.sock", "runtime_dir": "$d/run", "state_dir": "$d/state",
  "secrets_root": "$d/secrets", "master_key": "$d/master.key", "audit_log": "$d/audit.jsonl",
  "etcd": { "endpoints": [ "${eps//,/\", \"}" ], "prefix": "$PREFIX" },
  "workloads": [ { "name": "app", "match": { "runtime": "docker" }, "ttl": "1h",
                   "on_rotate": { "signal": "SIGHUP" }, "secrets": [ "db", "web" ] },
                 { "name": "pod", "match": { "runtime": "podman" }, "inject": "/run/secrets",
                   "on_rotate": { "signal": "SIGUSR1" }, "secrets": [ "web" ] } ] }
JSON
}
start_host() {
	"$SECRETD" --config "$T/$1/secretd.json" >"$T/$1/daemon.stdout" 2>>"$T/$1/daemon.log" &
	HOST_PIDS+=("$!")
	eval "PID_$1=$!"
	for _ in $(seq 100); do
		grep -q serving "$T/$1/daemon.log" && return 0
		kill -0 "$!" 2>/dev/null || fail "host $1 exited: $(cat "$T/$1/daemon.log")"
		sleep 0.05
	done
	fail "host $1 did not start: $(cat "$T/$1/daemon.log")"
}
# C reaches etcd through a proxy of its own, to be cut off alone
PROXY=$(free_port "$port"); port=$((PROXY + 1))
start_proxy() {
	socat "TCP-LISTEN:$PROXY,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:${CLIENT[1]}" 2>/dev/null &
	ETCD_PIDS[9]=$!
	for _ in $(seq 100); do [ -n "$(ss -Htln "sport = :$PROXY")" ] && return 0; sleep 0.05; done
	fail "the proxy did not listen"
}
# (its connections are children of the listener: all go)
stop_proxy() { pkill -KILL -f "TCP-LISTEN:$PROXY," || true; }
start_proxy
host_config a
host_config b
host_config c "http://127.0.0.1:$PROXY"
expect_exit 0 "$SECRETD" init --config "$T/a/secretd.json"
expect_in "store in etcd under '$PREFIX'" "$T/err"
# one key for the fleet: B and C get A's
for h in b c; do install -m 0400 "$T/a/master.key" "$T/$h/master.key"; done
for h in a b c; do start_host $h; done
A=$T/a/run/admin.sock B=$T/b/run/admin.sock C=$T/c/run/admin.sock

# --- another key: refused, naming it -----------------------------------------
host_config d
expect_exit 1 "$SECRETD" init --config "$T/d/secretd.json"
expect_in "master key '$T/d/master.key' is not the key the store in etcd under '$PREFIX'" "$T/err"
"$SECRETD" --config "$T/d/secretd.json" >"$T/out" 2>"$T/err" && fail "a host with another key started"
expect_in "master key '$T/d/master.key' is not the key" "$T/err"
echo "another key: refused"

# reads_as SOCK VALUE — the host at SOCK reads db as VALUE within 2 s: a
# host serves reads from its memory of the store, current once the other
# host's change has come by its watch (milliseconds)
reads_as() {
	for _ in $(seq 200); do
		[ "$(curl -s --unix-socket "$1" http://x/v1/secrets/db)" = "$2" ] && return 0
		sleep 0.01
	done
	return 1
}

# --- one host writes, the others read ----------------------------------------
CANARY=canary-$$-$RANDOM-plaintext
printf '%s' "$CANARY" >"$T/canary"
expect_status 201 "$A" PUT /v1/secrets/db --data-binary @"$T/canary"
for s in "$B" "$C"; do
	reads_as "$s" "$CANARY" || fail "another host reads '$(curl -s --unix-socket "$s" http://x/v1/secrets/db)'"
done
expect_status 200 "$B" GET /v1/status
[ "$(json_field backend)" = etcd ] && [ "$(json_field backend_reachable)" = true ] || fail "status: $(cat "$T/body")"
expect_exit 0 "$SECRETCTL" --socket "$B" status
grep -qx 'store:        etcd' "$T/out" || fail "secretctl status: $(cat "$T/out")"
expect_status 409 "$C" PUT /v1/secrets/db --data-binary 'again'
expect_status 200 "$B" POST /v1/secrets/db/rotate --data-binary 'from-b'
[ "$(json_field version)" = 2 ] || fail "rotate on B: $(cat "$T/body")"
reads_as "$C" from-b || fail "C does not read B's rotation"
# a lease on C: the store's current value
new_container etcd-c
code=$(in_cgroup "/system.slice/docker-$ID.scope" 1000 yes curl -s -o /dev/null -w '%{http_code}' \
	--unix-socket "$T/c/run/workload.sock" -X POST --data '{"secrets":["db"]}' http://secretd/v1/leases)
[ "$code" = 201 ] || fail "lease on C: $code"
[ "$(cat "$T/c/secrets/containers/docker-$ID/db")" = from-b ] || fail "C's leased file: $(cat "$T/c/secrets/containers/docker-$ID/db")"
LEASE_C=$(curl -s --unix-socket "$C" http://x/v1/leases | jq -r '.leases[0].id')

# --- concurrent rotations from all three hosts -------------------------------
ROUNDS=${ETCD_ROUNDS:-100}
rotate_loop() {
	local h=$1 sock=$2 n=$3 tag=$4
	for i in $(seq "$n"); do
		curl -s -w '\n%{http_code}\n' --unix-socket "$sock" -X POST --data-binary "$tag-$h-$i" \
			http://x/v1/secrets/db/rotate >"$T/r.$tag.$h.$i" || true
	done
}
# acked TAG — "version value" of every acknowledged rotation of the run
acked() {
	for f in "$T"/r."$1".*; do
		[ "$(tail -n1 "$f")" = 200 ] || continue
		printf '%s %s\n' "$(head -n1 "$f" | jq -r .version)" "${f#"$T/r.$1."}"
	done
}
start_v=$(curl -s --unix-socket "$A" http://x/v1/secrets/db/meta | jq -r '.versions[0].version')
LOOPS=()
# (never a bare wait, nor jobs -p: the members and hosts are jobs too)
wait_bg() { for p in "${LOOPS[@]}"; do wait "$p" || true; done; LOOPS=(); }
for h in a b c; do rotate_loop $h "$T/$h/run/admin.sock" "$ROUNDS" c & LOOPS+=("$!"); done
wait_bg
acked c | sort -n >"$T/acked.c"
n=$(wc -l <"$T/acked.c")
[ "$n" -ge $((ROUNDS * 3 * 9 / 10)) ] || fail "only $n of $((ROUNDS * 3)) concurrent rotations acknowledged: $(grep -h -v '^200$' "$T"/r.c.* | sort | uniq -c | head)"
[ "$(cut -d' ' -f1 "$T/acked.c" | uniq -d | wc -l)" = 0 ] || fail "two acknowledged rotations share a version"
[ "$(cut -d' ' -f1 "$T/acked.c" | tr '\n' ' ')" = "$(seq -s ' ' $((start_v + 1)) $((start_v + n))) " ] ||
	fail "versions not dense from $((start_v + 1)): $(cut -d' ' -f1 "$T/acked.c" | tr '\n' ' ' | head -c 300)"
last=$(tail -n1 "$T/acked.c")
for s in "$A" "$B" "$C"; do
	reads_as "$s" "c-$(echo "$last" | cut -d' ' -f2 | tr . -)" ||
		fail "a host ends with '$(curl -s --unix-socket "$s" http://x/v1/secrets/db)', the last acknowledged is $last"
done
echo "concurrent: $n rotations from 3 hosts, versions $((start_v + 1))..$((start_v + n)), all hosts agree"

# --- kill -9 of the leader under rotations -----------------------------------
leader=
for i in 1 2 3; do
	ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:${CLIENT[i]}" endpoint status -w json 2>/dev/null |
		jq -e '.[0].Status.leader == .[0].Status.header.member_id' >/dev/null && leader=$i
done
[ -n "$leader" ] || fail "no etcd leader found"
start_v=$(curl -s --unix-socket "$A" http://x/v1/secrets/db/meta | jq -r '.versions[0].version')
for h in a b c; do rotate_loop $h "$T/$h/run/admin.sock" 100 k & LOOPS+=("$!"); done
sleep 0.2
kill -KILL "${ETCD_PIDS[leader]}"
wait "${ETCD_PIDS[leader]}" 2>/dev/null || true
# and a daemon too: host B, killed -9 in the middle of its rotations
sleep 0.2
kill -KILL "$PID_b"
wait "$PID_b" 2>/dev/null || true
wait_bg
start_member "$leader" existing
cluster_healthy
start_host b
acked k | sort -n >"$T/acked.k"
[ "$(cut -d' ' -f1 "$T/acked.k" | uniq -d | wc -l)" = 0 ] || fail "leader kill: two acknowledged rotations share a version"
final=$(curl -s --unix-socket "$B" http://x/v1/secrets/db/meta | jq -r '.versions[0].version')
max=$(tail -n1 "$T/acked.k" | cut -d' ' -f1)
[ "$final" -ge "$max" ] || fail "leader kill: version $final is older than the acknowledged $max"
curl -s --unix-socket "$B" http://x/v1/secrets/db >"$T/v"
for s in "$A" "$C"; do
	reads_as "$s" "$(cat "$T/v")" || fail "leader kill: the hosts disagree"
done
echo "leader m$leader and host B killed -9: $(wc -l <"$T/acked.k") of 300 rotations acknowledged, none lost (version $final), B back and agreeing"

# --- hostile blobs: refused for their secret alone ---------------------------
expect_status 201 "$A" PUT /v1/secrets/victim --data-binary 'v'
# (etcdctl prints a value with a newline after it)
ectl get "${PREFIX}victim" --print-value-only | head -c -1 >"$T/victim.blob"
head -c 40 "$T/victim.blob" | ectl put "${PREFIX}trunc" >/dev/null
# past what any blob of ours may be (etcd here takes 8 MiB requests)
head -c 1950000 /dev/zero | tr '\0' 'x' | ectl put "${PREFIX}huge" >/dev/null
ectl put "${PREFIX}foreign" <"$T/victim.blob" >/dev/null # another name's blob: sealed for "victim"
for bad in trunc huge foreign; do
	expect_status 500 "$B" GET "/v1/secrets/$bad"
	expect_in "damaged" "$T/body"
done
expect_status 200 "$B" GET /v1/secrets/db
expect_status 200 "$C" GET /v1/secrets/victim
for k in trunc huge foreign; do ectl del "${PREFIX}$k" >/dev/null; done

# --- no plaintext in etcd --------------------------------------------------
ectl get --prefix "$PREFIX" -w json >"$T/dump.json"
ectl get --prefix "$PREFIX" >"$T/dump.txt"
grep -qF "$CANARY" "$T/dump.txt" "$T/dump.json" && fail "the canary is in etcd's keys or values"
grep -qF "$(printf '%s' "$CANARY" | base64)" "$T/dump.json" && fail "the canary is in etcd, base64"
grep -rqF "$CANARY" "$T/etcd1" "$T/etcd2" "$T/etcd3" && fail "the canary is in an etcd data directory"
echo "no plaintext in etcd"

# --- cut off: all members gone -----------------------------------------------
for i in 1 2 3; do kill -TERM "${ETCD_PIDS[i]}"; wait "${ETCD_PIDS[i]}" 2>/dev/null || true; done
expect_status 503 "$A" POST /v1/secrets/db/rotate --data-binary 'while-cut-off'
expect_in "the store (etcd) cannot be reached; nothing was changed" "$T/body"
expect_status 200 "$A" GET /v1/status
[ "$(json_field backend_reachable)" = false ] || fail "cut off, status says: $(cat "$T/body")"
[ "$(jq -r .backend_cut_off_since "$T/body")" != null ] || fail "cut off since: $(cat "$T/body")"
curl -s --unix-socket "$A" http://x/metrics | grep -q '^secretd_backend_reachable 0$' || fail "metrics: reachable"
expect_exit 0 "$SECRETCTL" --socket "$A" status
expect_in "store:        etcd, cut off since 20" "$T/out"
expect_status 200 "$A" GET /v1/secrets/db # the sealed copy A last saw
code=$(in_cgroup "/system.slice/docker-$ID.scope" 1000 yes curl -s -o /dev/null -w '%{http_code}' \
	--unix-socket "$T/c/run/workload.sock" -X POST --data '{}' "http://secretd/v1/leases/$LEASE_C/renew")
[ "$code" = 200 ] || fail "a renewal on C while cut off: $code"
[ -s "$T/c/secrets/containers/docker-$ID/db" ] || fail "C's leased file is gone while cut off"
for i in 1 2 3; do start_member "$i" existing; done
cluster_healthy
expect_status 200 "$A" POST /v1/secrets/db/rotate --data-binary 'after-cut-off'
expect_status 200 "$A" GET /v1/status
[ "$(json_field backend_reachable)" = true ] || fail "back, status says: $(cat "$T/body")"
reads_as "$C" after-cut-off || fail "C after the cut: $(curl -s --unix-socket "$C" http://x/v1/secrets/db)"
echo "cut off: writes 503, reads and renewals served, back after"

# --- a change on one host reaches another's leases, by watch -----------------
# a container on C whose main process is a probe of the signals it gets
PROBE=$HELPER_DIR/signal-probe
[ -x "$PROBE" ] || fail "helper $PROBE not built"
expect_status 201 "$A" PUT /v1/secrets/web --data-binary 'web-1'
PID2=$(hex64 "etcd-probe-$$")
mkdir -p "$CG/system.slice/docker-$PID2.scope"
CT_DIRS+=("$CG/system.slice/docker-$PID2.scope")
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/system.slice/docker-$PID2.scope" "$PROBE" "$T/probe" &
CT_KEEPERS+=("$!")
for _ in $(seq 100); do [ -e "$T/probe" ] && break; sleep 0.05; done
code=$(in_cgroup "/system.slice/docker-$PID2.scope" 1000 no curl -s -o /dev/null -w '%{http_code}' \
	--unix-socket "$T/c/run/workload.sock" -X POST --data '{"secrets":["web"]}' http://secretd/v1/leases)
[ "$code" = 201 ] || fail "lease of web on C: $code"
WEB=$T/c/secrets/containers/docker-$PID2/web
[ "$(cat "$WEB")" = web-1 ] || fail "C's web: $(cat "$WEB")"
# wait_file FILE VALUE — until FILE holds VALUE (5 s); prints the ms it took
wait_file() {
	local t0
	t0=$(date +%s%N)
	for _ in $(seq 500); do
		[ "$(cat "$1" 2>/dev/null)" = "$2" ] && { echo $((($(date +%s%N) - t0) / 1000000)); return 0; }
		sleep 0.01
	done
	fail "$1 holds '$(cat "$1" 2>/dev/null)', not '$2'; C's log: $(tail -n 5 "$T/c/daemon.log")"
}
# and a real Podman container on C, its only contact C's workload socket
POD=secretd-t-$$-etcd
POD_NAMES+=("$POD")
"${PODMAN[@]}" run -d --name "$POD" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
	-v "$T/c/run/workload.sock:/run/secretd/workload.sock" "$IMG" sh -c '
	lease-client /run/secretd/workload.sock "{}" >/dev/null || { echo lease-failed; exit 1; }
	trap "echo usr1 \$(cat /run/secrets/web)" USR1
	echo ready $(cat /run/secrets/web)
	while :; do sleep 0.2 & wait $!; done' >/dev/null || fail "podman run on C"
for _ in $(seq 100); do podman logs "$POD" 2>&1 | grep -q '^ready' && break; sleep 0.1; done
[ "$(podman logs "$POD" 2>&1 | grep '^ready')" = "ready web-1" ] || fail "the Podman container on C: $(podman logs "$POD" 2>&1)"
: >"$T/probe"
expect_status 200 "$B" POST /v1/secrets/web/rotate --data-binary 'web-2'
ms=$(wait_file "$WEB" web-2)
for _ in $(seq 100); do podman logs "$POD" 2>&1 | grep -q '^usr1' && break; sleep 0.05; done
[ "$(podman logs "$POD" 2>&1 | grep '^usr1')" = "usr1 web-2" ] ||
	fail "the Podman container on C after B's rotation: $(podman logs "$POD" 2>&1)"
podman_rm "$POD"
for _ in $(seq 200); do
	[ "$(curl -s --unix-socket "$C" http://x/v1/leases | jq '[.leases[] | select(.workload == "pod")] | length')" = 0 ] && break
	sleep 0.05
done
for _ in $(seq 100); do [ -s "$T/probe" ] && break; sleep 0.02; done
[ "$(cat "$T/probe")" = SIGHUP ] || fail "C's container got '$(cat "$T/probe")' for B's rotation, not SIGHUP"
grep -q "secret 'web' changed on another host: 2 leased files updated" "$T/c/daemon.log" || fail "C's log: $(tail -n 3 "$T/c/daemon.log")"
echo "B's rotation in C's containers (hand-made and Podman) after $ms ms, and their on_rotate"
# this host's own rotation comes back by the watch too, and changes nothing more
: >"$T/probe"
expect_status 200 "$C" POST /v1/secrets/web/rotate --data-binary 'web-3'
[ "$(cat "$WEB")" = web-3 ] || fail "C's own rotation"
sleep 0.5
[ "$(cat "$T/probe")" = SIGHUP ] || fail "C's own rotation signalled '$(tr '\n' ' ' <"$T/probe")', not SIGHUP once"

# --- C cut off alone while etcd compacts: it resynchronizes ------------------
stop_proxy
for i in 4 5 6; do expect_status 200 "$A" POST /v1/secrets/web/rotate --data-binary "web-$i"; done
rev=$(ectl endpoint status -w json | jq -r '.[0].Status.header.revision')
ectl compact "$rev" >/dev/null
sleep 1
[ "$(cat "$WEB")" = web-3 ] || fail "C changed while cut off"
start_proxy
ms=$(wait_file "$WEB" web-6)
grep -q "etcd compacted past the last revision seen" "$T/c/daemon.log" || fail "C did not say it resynchronized: $(tail -n 5 "$T/c/daemon.log")"
echo "C back after a compaction: resynchronized in $ms ms"

# --- a delete on A revokes C's lease -----------------------------------------
expect_status 200 "$A" DELETE /v1/secrets/web
for _ in $(seq 200); do [ -e "$WEB" ] || break; sleep 0.02; done
[ ! -e "$WEB" ] || fail "A's delete left C's leased file"
[ "$(curl -s --unix-socket "$C" http://x/v1/leases | jq '[.leases[] | select(.secret == "web")] | length')" = 0 ] ||
	fail "A's delete left C's lease"
grep -q "secret 'web' was deleted on another host: 1 leases revoked" "$T/c/daemon.log" || fail "C's log on the delete"

for h in a b c; do grep -qF -e "$CANARY" -e from-b "$T/$h/daemon.log" && fail "a value in host $h's log"; done
# each host stops cleanly, its watch thread with it (and under ASan, with
# no leak)
for h in a b c; do
	pid_var=PID_$h
	kill -TERM "${!pid_var}"
	rc=0
	wait "${!pid_var}" || rc=$?
	[ "$rc" = 0 ] || fail "host $h exited $rc on SIGTERM: $(tail -n 20 "$T/$h/daemon.log")"
done
HOST_PIDS=()
echo "t-etcd: ok"
