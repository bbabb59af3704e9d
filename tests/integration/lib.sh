# lib.sh — helpers for integration tests (sourced, bash).
# Each test gets a private directory and config; the daemon runs with its
# stderr in $T/daemon.log.  Failures print what was expected and exit 1.
set -euo pipefail

T=$(mktemp -d /tmp/secretd-it.XXXXXX)
chmod 0755 "$T" # callers of other uids must reach the sockets inside
DAEMON_PID=
cleanup() {
	podman_cleanup
	docker_cleanup
	containers_cleanup
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	# leases outlive the daemon: their tmpfs mounts go with the test
	awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/daemon.log" ]; then
		echo "--- daemon log:" >&2
		cat "$T/daemon.log" >&2
	fi
	exit 1
}

# write_config [extra JSON members...] — a config with every path under $T.
write_config() {
	local extra=${1:-}
	cat >"$T/secretd.json" <<JSON
{
  "admin_socket": "$T/run/admin.sock",
  "workload_socket": "$T/run/workload.sock",
  "hook_socket": "$T/hook/hook.sock",
  "runtime_dir": "$T/run",
  "state_dir": "$T/state",
  "secrets_root": "$T/secrets",
  "master_key": "$T/keys/master.key",
  "audit_log": "$T/audit.jsonl"${extra:+,
  $extra}
}
JSON
}

# start_daemon ARGS... — runs secretd in the background, waits until it
# says it is serving (or fails if it exits first).
start_daemon() {
	: >"$T/daemon.log"
	# stdout away from the caller's pipes: a stray daemon must not hold them
	"$SECRETD" "$@" >"$T/daemon.stdout" 2>"$T/daemon.log" &
	DAEMON_PID=$!
	for _ in $(seq 1 100); do
		grep -q 'serving' "$T/daemon.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during start-up"
		sleep 0.05
	done
	fail "daemon did not become ready in 5 s"
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ "$rc" -eq 0 ] || fail "daemon exited $rc on SIGTERM"
}

# expect_exit CODE CMD... — runs CMD, checks its exit status, keeps stderr
# in $T/err.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$T/err")"
}

expect_in() {
	grep -qF -- "$1" "$2" || fail "expected '$1' in $2: $(cat "$2")"
}

mode_of() { stat -c %a "$1"; }

# --- API helpers -----------------------------------------------------------

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "skipped: needs root (cgroups, namespaces, other uids)"
		exit 77
	fi
}

# The cgroup2 mount, wherever this host has it (never assume /sys/fs/cgroup).
cgroup2_root() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -n1
}

# api SOCKET METHOD PATH [curl args...] — prints the status; body in $T/body.
api() {
	local sock=$1 method=$2 path=$3
	shift 3
	curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$sock" -X "$method" "$@" "http://secretd$path"
}

# expect_status WANT SOCKET METHOD PATH [curl args...]
expect_status() {
	local want=$1 got
	shift
	got=$(api "$@") || true
	[ "$got" = "$want" ] || fail "$2 $3 on $(basename "$1"): status $got, expected $want; body: $(cat "$T/body" 2>/dev/null)"
}

# in_cgroup CGROUP UID PIDNS(yes|no) CMD... — runs CMD in the cgroup2
# directory CGROUP (created if missing), as UID, in private mount (and
# optionally pid) namespaces: a hand-made container.
in_cgroup() {
	local cg=$1 uid=$2 pidns=$3
	shift 3
	mkdir -p "$CG$cg"
	local ns=(unshare -m)
	[ "$pidns" = yes ] && ns=(unshare -m -p --fork --mount-proc)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG$cg" \
		"${ns[@]}" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

hex64() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# A JSON field from $T/body (jq-free: the daemon's output is compact JSON).
json_field() { grep -o "\"$1\":[^,}]*" "$T/body" | head -n1 | cut -d: -f2- | tr -d '"'; }

# --- hand-made containers ----------------------------------------------------
# A "container" is a cgroup2 directory named like a runtime's, with a
# long-lived process in it (its main process: while it lives the cgroup is
# populated), and callers run into it with in_cgroup.  Everything made here
# is removed by cleanup.
CT_DIRS=()
CT_KEEPERS=()
CT_MADE=()

containers_init() {
	CG=$(cgroup2_root)
	[ -n "$CG" ] || fail "no cgroup2 mount in /proc/self/mountinfo"
	for d in system.slice machine.slice; do
		[ -d "$CG/$d" ] || { mkdir "$CG/$d"; CT_MADE+=("$CG/$d"); }
	done
}

# new_container NAME [PARENT] — sets ID (64 hex) and KEEPER (its main pid);
# the cgroup is PARENT/docker-ID.scope (PARENT defaults to /system.slice).
new_container() {
	local parent=${2:-/system.slice}
	ID=$(hex64 "$1-$$")
	CT_DIRS+=("$CG$parent/docker-$ID.scope")
	mkdir -p "$CG$parent/docker-$ID.scope"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec sleep 600' "$CG$parent/docker-$ID.scope" &
	KEEPER=$!
	CT_KEEPERS+=("$KEEPER")
}

containers_cleanup() {
	# never a bare `wait`: it would also wait for the daemon
	if [ ${#CT_KEEPERS[@]} -gt 0 ]; then
		kill "${CT_KEEPERS[@]}" 2>/dev/null || true
		wait "${CT_KEEPERS[@]}" 2>/dev/null || true
	fi
	for d in "${CT_DIRS[@]}"; do
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
	for d in "${CT_MADE[@]}"; do rmdir "$d" 2>/dev/null || true; done
	CT_KEEPERS=() CT_DIRS=() CT_MADE=()
}

# lease_in ID UID BODY — POST /v1/leases from inside container ID as UID;
# prints the status, the body lands in $T/lease.json.
lease_in() {
	in_cgroup "/system.slice/docker-$1.scope" "$2" yes curl -s -w '\n%{http_code}' \
		--unix-socket "$T/run/workload.sock" -X POST -H 'Content-Type: application/json' \
		--data "$3" http://secretd/v1/leases >"$T/lease.out" || true
	sed '$d' "$T/lease.out" >"$T/lease.json"
	tail -n1 "$T/lease.out"
}

# --- real containers (Podman) -------------------------------------------------
# Debian's podman with runc and cgroupfs (no systemd needed), ulimits within
# the host's, images built offline from busybox-static and the static lease
# client.  Every container and image made here is removed by cleanup.
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
POD_NAMES=()
POD_IMAGES=()

podman_init() {
	command -v podman >/dev/null && command -v runc >/dev/null || fail "podman and runc are needed (.ci/deps installs them)"
	command -v busybox >/dev/null || fail "busybox is needed (.ci/deps installs busybox-static)"
	[ -x "${LEASE_CLIENT:-}" ] || fail "LEASE_CLIENT not built"
}

# podman_rm NAME — remove the container, stopping it at once.  Debian's
# podman 4.3 races its own exit-cleanup process (conmon runs `podman
# container cleanup` as `rm -f` kills the container) and may fail with
# "unlinkat userdata/shm: device or resource busy" (podman issues 10454 and
# 11594, fixed in 4.4); a second try finds the mount gone.  The test still
# fails if the container outlives the tries.
podman_rm() {
	local i
	for i in 1 2 3 4 5; do
		podman rm -f -t 0 "$1" >/dev/null 2>"$T/podman-rm.err" && return 0
		podman container exists "$1" || return 0
		sleep 0.2
	done
	fail "podman rm $1: $(cat "$T/podman-rm.err")"
}

podman_cleanup() {
	if [ ${#POD_NAMES[@]} -gt 0 ]; then podman rm -f -t 0 "${POD_NAMES[@]}" >/dev/null 2>&1 || true; fi
	if [ ${#POD_IMAGES[@]} -gt 0 ]; then podman rmi -f "${POD_IMAGES[@]}" >/dev/null 2>&1 || true; fi
	POD_NAMES=() POD_IMAGES=()
}

# copy_with_libs BIN DIR — BIN and the libraries ldd lists, at their paths
# under DIR (the loader too: its path is written in BIN).
copy_with_libs() {
	local bin=$1 dir=$2 f
	for f in "$bin" $(ldd "$bin" | grep -o '/[^ ]*'); do
		mkdir -p "$dir$(dirname "$f")"
		cp -L "$f" "$dir$f"
	done
}

# image_dir DIR — what every test image holds besides DIR's own files:
# busybox and its links in /bin, the lease client, /run, /tmp and /etc.
image_dir() {
	local dir=$1 c
	mkdir -p "$dir/bin" "$dir/run" "$dir/tmp" "$dir/etc"
	chmod 1777 "$dir/tmp"
	cp "$(command -v busybox)" "$dir/bin/busybox"
	for c in sh cat ls sleep stat id touch grep tr basename head; do ln -sf busybox "$dir/bin/$c"; done
	cp "$LEASE_CLIENT" "$dir/bin/lease-client"
}

# podman_image TAG DIR — imports DIR, plus busybox and the lease client in
# /bin, as the image TAG.  The image has /run but no /run/secrets.
podman_image() {
	local tag=$1 dir=$2
	image_dir "$dir"
	tar -C "$dir" -cf "$dir.tar" .
	POD_IMAGES+=("$tag")
	podman import -q "$dir.tar" "$tag" >/dev/null || fail "podman import $tag"
}

# podman_run NAME [podman options...] -- IMAGE CMD... — a detached container
# named secretd-t-PID-NAME with only the workload socket mounted in; sets CID.
podman_run() {
	local name=secretd-t-$$-$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	POD_NAMES+=("$name")
	"${PODMAN[@]}" run -d --name "$name" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		-v "$T/run/workload.sock:/run/secretd/workload.sock" "${opts[@]}" "$@" >/dev/null ||
		fail "podman run $name"
	CID=$(podman inspect -f '{{.Id}}' "$name")
}

# expect_nothing_left WHAT — waits up to 5 s for the instance directories
# and lease records to go, then checks that none, no mount under the
# secrets root and no lease (GET /v1/leases on $T/run/admin.sock) is left.
expect_nothing_left() {
	for _ in $(seq 100); do
		[ -z "$(ls "$T/secrets/containers")" ] && [ -z "$(ls -A "$T/run/leases")" ] && break
		sleep 0.05
	done
	[ -z "$(ls "$T/secrets/containers")" ] || fail "$1: left $(ls "$T/secrets/containers")"
	[ -z "$(ls -A "$T/run/leases")" ] || fail "$1: lease records left"
	grep -q " $T/secrets/" /proc/self/mountinfo && fail "$1: a mount was left"
	expect_status 200 "$T/run/admin.sock" GET /v1/leases
	grep -q '"leases":\[\]' "$T/body" || fail "$1: leases left: $(cat "$T/body")"
}

# The OCI hook as installed (beside secretctl in this build), and
# hook_dir: a hooks.d of its own in $T/hooks.d that runs it at
# createRuntime for every container, pointed at this test's daemon
# (`podman --hooks-dir "$T/hooks.d"`).
OCI_HOOK=${OCI_HOOK:-$(dirname "${SECRETCTL:-.}")/secretd-oci-hook}
hook_dir() {
	[ -x "$OCI_HOOK" ] || fail "no OCI hook at $OCI_HOOK"
	mkdir -p "$T/hooks.d"
	cat >"$T/hooks.d/secretd.json" <<JSON
{ "version": "1.0.0",
  "hook": { "path": "$OCI_HOOK", "args": [ "secretd-oci-hook", "--config", "$T/secretd.json" ], "timeout": 10 },
  "when": { "always": true },
  "stages": [ "createRuntime" ] }
JSON
}

# podman_log NAME — the container's output so far (stdout and stderr).
podman_log() { podman logs "secretd-t-$$-$1" 2>&1; }

# podman_wait NAME REGEX — waits (up to 20 s) for a line of the container's
# output to match REGEX.
podman_wait() {
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		podman_log "$1" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	fail "container $1: no '$2' in its output: $(podman_log "$1" | tail -n 5)"
}

# --- real containers (Docker) -------------------------------------------------
# Debian's docker.io, a dockerd of the test's own (no systemd, no iptables,
# no bridge: containers run with --network none) whose data, exec state,
# sockets and the containerd it starts all live in DOCKER_DIR; images built
# offline like podman_image's.  cleanup removes the containers, stops dockerd
# (and so its containerd), unmounts what they left and removes DOCKER_DIR.
# Always /usr/bin/docker: another `docker` (a newer client) may be on PATH.
DOCKER_DIR=
DOCKERD_PID= # tini's, which hands SIGTERM on to dockerd
DOCKER=()
DOCKER_NAMES=()
DOCKER_CGROUPS=() # /docker directories absent before our dockerd: cleanup's
DOCKER_RUNDIRS=() # so are these, which dockerd and containerd make outside D

docker_init() {
	[ -x /usr/bin/docker ] && command -v dockerd >/dev/null && command -v containerd >/dev/null &&
		command -v tini >/dev/null ||
		fail "Debian's docker.io is needed (.ci/deps installs it)"
	command -v busybox >/dev/null || fail "busybox is needed (.ci/deps installs busybox-static)"
	[ -x "${LEASE_CLIENT:-}" ] || fail "LEASE_CLIENT not built"
}

# docker_start [NAME=VALUE...] [DOCKERD ARGS...] — starts the private dockerd
# with the NAME=VALUE pairs in its environment (dockerd hands its environment
# on to the runtimes it runs, e.g. one added with --add-runtime) and the
# extra arguments; sets DOCKER, the client on its socket.  Waits up to 20 s.
docker_start() {
	local env=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do env+=("$1"); shift; done
	DOCKER_DIR=$T/docker
	# containerd's sockets are made under the exec root: stay well inside
	# sun_path's 108 bytes
	[ ${#DOCKER_DIR} -le 40 ] || DOCKER_DIR=$(mktemp -d /tmp/sd-dk.XXXXXX)
	mkdir -p "$DOCKER_DIR"
	local d=$DOCKER_DIR cg
	# runc makes /docker in every cgroup hierarchy and leaves it; only ones
	# that were not there before are ours to remove
	for cg in $(awk '$3 ~ /^cgroup2?$/ { print $2 }' /proc/self/mounts); do
		[ -e "$cg/docker" ] || DOCKER_CGROUPS+=("$cg/docker")
	done
	# fixed paths: plugin discovery, and containerd 1.6's shim sockets
	for cg in /run/docker/plugins /run/docker /run/containerd/s /run/containerd; do
		[ -e "$cg" ] || DOCKER_RUNDIRS+=("$cg")
	done
	# its trust key, by default /etc/docker/key.json, stays in D too
	printf '{ "deprecated-key-path": "%s/key.json" }\n' "$d" >"$d/daemon.json"
	# under tini -s, a subreaper: the shims containerd starts leave its
	# process tree, and their zombies would wait for PID 1 to reap them
	env "${env[@]}" tini -s -- dockerd --iptables=false --ip-masq=false --bridge=none \
		--config-file "$d/daemon.json" --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
		-H "unix://$d/docker.sock" "$@" >"$d/dockerd.log" 2>&1 </dev/null &
	DOCKERD_PID=$!
	DOCKER=(/usr/bin/docker -H "unix://$d/docker.sock")
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		"${DOCKER[@]}" info >/dev/null 2>&1 && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || fail "dockerd exited during start-up: $(tail -n 20 "$d/dockerd.log")"
		sleep 0.1
	done
	fail "dockerd did not answer in 20 s: $(tail -n 20 "$d/dockerd.log")"
}

# docker_image TAG DIR — imports DIR, plus busybox and the lease client in
# /bin, as the image TAG (removed with dockerd's data root).
docker_image() {
	local tag=$1 dir=$2
	image_dir "$dir"
	tar -C "$dir" -c . | "${DOCKER[@]}" import - "$tag" >/dev/null || fail "docker import $tag"
}

# docker_run NAME [docker options...] -- IMAGE CMD... — a detached container
# named secretd-t-PID-NAME, without network, with nothing of the host's
# mounted in but what the options say (-v for the workload socket's
# directory); sets CID (the full 64-digit id).
docker_run() {
	local name=secretd-t-$$-$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	DOCKER_NAMES+=("$name")
	CID=$("${DOCKER[@]}" run -d --name "$name" --network none "${opts[@]}" "$@" 2>"$T/docker-run.err") ||
		fail "docker run $name: $(cat "$T/docker-run.err")"
}

# docker_log NAME — the container's output so far (stdout and stderr).
docker_log() { "${DOCKER[@]}" logs "secretd-t-$$-$1" 2>&1; }

# docker_wait NAME REGEX — waits (up to 20 s) for a line of the container's
# output to match REGEX.
docker_wait() {
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		docker_log "$1" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	fail "container $1: no '$2' in its output: $(docker_log "$1" | tail -n 5)"
}

# docker_rm NAME — remove the container at once; fails if it stays.
docker_rm() {
	"${DOCKER[@]}" rm -f "secretd-t-$$-$1" >/dev/null 2>"$T/docker-rm.err" ||
		fail "docker rm $1: $(cat "$T/docker-rm.err")"
}

docker_cleanup() {
	[ -n "$DOCKER_DIR" ] || return 0
	local d=$DOCKER_DIR pid cg kids
	kids=$(docker_procs "$d/")
	if [ ${#DOCKER_NAMES[@]} -gt 0 ] && [ -n "$DOCKERD_PID" ]; then
		"${DOCKER[@]}" rm -f "${DOCKER_NAMES[@]}" >/dev/null 2>&1 || true
	fi
	# dockerd stops the containerd it started on SIGTERM
	if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		kill -TERM "$DOCKERD_PID" 2>/dev/null || true
		wait "$DOCKERD_PID" 2>/dev/null || true
	fi
	for pid in $kids; do
		for _ in $(seq 50); do docker_alive "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		# an orphaned shim's zombie, for PID 1 to reap: not left behind
		for _ in $(seq 30); do [ -e /proc/"$pid" ] || break; sleep 0.1; done
	done
	awk -v t="$d/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	# the empty cgroups runc leaves (rmdir: only empty ones go), a few
	# tries: a killed container's cgroup may take a moment to empty
	local left
	for _ in $(seq 20); do
		left=0
		for cg in "${DOCKER_CGROUPS[@]}"; do
			[ -d "$cg" ] || continue
			find "$cg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
			rmdir "$cg" 2>/dev/null || left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for cg in "${DOCKER_RUNDIRS[@]}"; do rmdir "$cg" 2>/dev/null || true; done
	rm -rf "$d"
	DOCKER_DIR= DOCKERD_PID= DOCKER=() DOCKER_NAMES=() DOCKER_CGROUPS=() DOCKER_RUNDIRS=()
}

# docker_alive PID — PID runs (a zombie has exited: an orphaned shim waits
# for PID 1 to reap it)
docker_alive() {
	local st
	st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# docker_procs DIR — the processes whose command line names DIR: dockerd,
# its containerd and their shims (which leave containerd's process tree).
docker_procs() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$1" && echo "${p#/proc/}"
	done
	return 0
}
