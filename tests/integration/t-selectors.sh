# t-selectors.sh — workloads chosen the way operators name containers, from
# the runtime's own records: a private dockerd's containers by label, name
# and image, Podman's by name and image and, through the OCI hook, by the
# Kubernetes pod its annotations name.  Each gets exactly its workload's
# secrets and whoami shows the selectors the daemon saw; a forged label in
# the environment or in a file of the image gets nothing; a record made
# not root's (owner or mode) matches nothing, with the reason in whoami.
source "$(dirname "$0")/lib.sh"
need_root
podman_init
docker_init
docker_start

# sel (in the image): waits for /go/now, so a test can change the record
# first, then says who it is, leases, lists its files and waits
mkdir -p "$T/img/bin" "$T/img/etc/secretd"
cat >"$T/img/bin/sel" <<'SEL'
#!/bin/sh
while [ ! -e /go/now ]; do sleep 0.05; done
S=/run/secretd/workload.sock
echo "whoami=$(lease-client $S GET:/v1/whoami 2>&1 | tr '\n' ' ')"
echo "ctl=$(secretctl --socket $S whoami 2>&1 | tr '\n' '|')"
echo "lease=$(lease-client $S '{}' 2>&1 | head -n1)"
echo "files=$(cd /run/secrets 2>/dev/null && for f in *; do [ -f "$f" ] && printf '%s:%s ' "$f" "$(cat "$f")"; done)"
echo done
exec sleep 1000
SEL
chmod 0755 "$T/img/bin/sel"
echo 'app=web' >"$T/img/etc/secretd/labels" # a label the image claims: not one
copy_with_libs "$SECRETCTL" "$T/img"
mv "$T/img$SECRETCTL" "$T/img/bin/secretctl"
cp -a "$T/img" "$T/img2"
echo two >"$T/img2/etc/two"
DIMG=secretd-sel-$$-a:1 DIMG2=secretd-sel-$$-b:2
docker_image "$DIMG" "$T/img"
docker_image "$DIMG2" "$T/img2"
DIMG2_ID=$("${DOCKER[@]}" image inspect -f '{{.Id}}' "$DIMG2")
[[ $DIMG2_ID =~ ^sha256:[0-9a-f]{64}$ ]] || fail "image id of $DIMG2: '$DIMG2_ID'"

# Podman in a storage root of the test's own, named by the config
PODMAN=(podman --root "$T/pm/root" --runroot "$T/pm/run" --runtime runc --cgroup-manager cgroupfs)
PIMG=localhost/secretd-sel-$$-p:3
image_dir "$T/img"
tar -C "$T/img" -cf "$T/img.tar" .
"${PODMAN[@]}" import -q "$T/img.tar" "$PIMG" >/dev/null || fail "podman import"
PODMAN_CLEAN=()
# shellcheck disable=SC2317
pod_clean() {
	if [ ${#PODMAN_CLEAN[@]} -gt 0 ]; then "${PODMAN[@]}" rm -f -t 0 "${PODMAN_CLEAN[@]}" >/dev/null 2>&1 || true; fi
	"${PODMAN[@]}" rmi -f "$PIMG" >/dev/null 2>&1 || true
	cleanup
}
trap pod_clean EXIT

N=secretd-t-$$
write_config "\"runtimes\": { \"docker\": { \"data_root\": \"$DOCKER_DIR/root\" },
                  \"podman\": { \"storage_root\": \"$T/pm/root\" } },
  \"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"labels\": { \"app\": \"web\", \"tier\": \"f*\" } },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"web\" ] },
    { \"name\": \"by-id\", \"match\": { \"image_id\": \"$DIMG2_ID\" }, \"inject\": \"/run/secrets\", \"secrets\": [ \"two\" ] },
    { \"name\": \"named\", \"match\": { \"name\": \"$N-named-*\" }, \"inject\": \"/run/secrets\", \"secrets\": [ \"named\" ] },
    { \"name\": \"pay\", \"match\": { \"namespace\": \"payments\", \"pod\": \"api-*\", \"container\": \"main\" },
      \"secrets\": [ \"pay\" ] },
    { \"name\": \"plabel\", \"match\": { \"runtime\": \"podman\", \"labels\": { \"app\": \"pweb\" } },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"plabel\" ] },
    { \"name\": \"pimg\", \"match\": { \"runtime\": \"podman\", \"image\": \"localhost/secretd-sel-$$-p:*\" },
      \"inject\": \"/run/secrets\", \"secrets\": [ \"pimg\" ] } ]"
sed -i "s|\"workload_socket\": \"$T/run/workload.sock\"|\"workload_socket\": \"$T/wl/workload.sock\"|" "$T/secretd.json"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
expect_exit 0 "$SECRETD" --check-config --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
for s in web two named pay plabel pimg; do expect_status 201 "$ADMIN" PUT /v1/secrets/$s --data-binary "v-$s"; done

# dk NAME [docker options...] — a docker container running sel, held
# before its first request until go NAME
dk() {
	local name=$1
	shift
	mkdir -p "$T/go/$name"
	docker_run "$name" -v "$T/wl:/run/secretd" -v "$T/go/$name:/go" "$@" -- "${IMG:-$DIMG}" /bin/sel
}
go() { touch "$T/go/$1/now"; }
# saw NAME LOG-FN — the container's report once it is done, in $T/out
saw() {
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		"$2" "$1" >"$T/out" 2>&1 && grep -q '^done' "$T/out" && return 0
		sleep 0.1
	done
	fail "container $1 did not report: $(tail -n 5 "$T/out")"
}
# expect_files NAME WANT — the files the container saw ("" for none) and,
# with none, that its lease was refused
expect_files() {
	local got
	got=$(sed -n 's/^files=//p' "$T/out")
	[ "$got" = "$2" ] || fail "$1: files '$got', want '$2': $(cat "$T/out")"
	if [ -z "$2" ]; then grep -q '^lease=HTTP/1.1 403' "$T/out" || fail "$1: lease not refused: $(cat "$T/out")"; fi
}

# by labels: both must hold; the environment and the image's files are not labels
dk web --label app=web --label tier=front
dk half --label app=web
dk forged -e app=web -e tier=front
for c in web half forged; do go $c; done
saw web docker_log
expect_files web "web:v-web "
grep -q '"selectors":{[^}]*"name":"'"$N"'-web"' "$T/out" || fail "whoami without the name: $(cat "$T/out")"
grep -q '"labels":{"app":"web","tier":"front"}' "$T/out" || fail "whoami without the labels: $(cat "$T/out")"
grep -q '"image":"'"$DIMG"'"' "$T/out" || fail "whoami without the image: $(cat "$T/out")"
grep -q "^ctl=.*|name:      $N-web|image:     $DIMG|image_id:  sha256:[0-9a-f]*|labels:    app=web, tier=front|" "$T/out" ||
	fail "secretctl whoami without the selectors: $(grep ^ctl= "$T/out")"
saw half docker_log
expect_files half ""
saw forged docker_log
expect_files forged ""
grep -q '"labels":{}' "$T/out" || fail "forged: labels from the environment: $(cat "$T/out")"

# by image id, by name
IMG=$DIMG2 dk other
dk named-1
go other
go named-1
saw other docker_log
expect_files other "two:v-two "
grep -q "\"image_id\":\"$DIMG2_ID\"" "$T/out" || fail "whoami without the image id: $(cat "$T/out")"
saw named-1 docker_log
expect_files named-1 "named:v-named "

# a record not root's alone: the labelled container matches nothing
dk notroot --label app=web --label tier=front
REC=$DOCKER_DIR/root/containers/$CID/config.v2.json
[ -f "$REC" ] || fail "no docker record at $REC"
chown 1000 "$REC"
go notroot
saw notroot docker_log
expect_files notroot ""
grep -q '"selectors":{"unavailable":"the record or its directory is not root' "$T/out" ||
	fail "notroot: no reason in whoami: $(cat "$T/out")"
grep -q '^ctl=.*|selectors: none believed (the record or its directory is not root' "$T/out" ||
	fail "notroot: secretctl whoami: $(grep ^ctl= "$T/out")"
chown 0 "$REC"
grep -q '"reason":"no workload matches (runtime record: the record or its directory is not root' "$T/audit.jsonl" ||
	fail "notroot: the audit does not say why: $(tail -n 2 "$T/audit.jsonl")"
dk openmode --label app=web --label tier=front
chmod 0777 "$DOCKER_DIR/root/containers/$CID"
go openmode
saw openmode docker_log
expect_files openmode ""
grep -q '"unavailable":"the record or its directory is not root' "$T/out" || fail "openmode: $(cat "$T/out")"
chmod 0710 "$DOCKER_DIR/root/containers/$CID"

# Podman: by image, from its record
pm() {
	local name=$N-$1
	shift
	mkdir -p "$T/go/$name"
	PODMAN_CLEAN+=("$name")
	"${PODMAN[@]}" run -d --name "$name" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		-v "$T/wl:/run/secretd" -v "$T/go/$name:/go" "$@" "$PIMG" /bin/sel >/dev/null 2>"$T/err" ||
		fail "podman run $name: $(cat "$T/err")"
}
pm_log() { "${PODMAN[@]}" logs "$N-$1" 2>&1; }
pm p1
go "$N-p1"
saw p1 pm_log
expect_files p1 "pimg:v-pimg "
grep -q "\"image\":\"$PIMG\"" "$T/out" || fail "podman whoami without the image: $(cat "$T/out")"
# by label, from libpod's own database; a label in the environment is not one
pm p3 --label app=pweb
pm p4 -e app=pweb
go "$N-p3"
go "$N-p4"
saw p3 pm_log
expect_files p3 "plabel:v-plabel "
grep -q '"labels":{"app":"pweb"}' "$T/out" || fail "podman whoami without the label: $(cat "$T/out")"
grep -q "\"name\":\"$N-p3\"" "$T/out" || fail "podman whoami without the name: $(cat "$T/out")"
saw p4 pm_log
expect_files p4 "pimg:v-pimg "
# its record writable by others: nothing
pm p2
PREC=$T/pm/root/libpod/bolt_state.db
[ -f "$PREC" ] || fail "no libpod database at $PREC"
chmod 0666 "$PREC"
go "$N-p2"
saw p2 pm_log
chmod 0600 "$PREC"
expect_files p2 ""
grep -q '"unavailable":"the record or its directory is not root' "$T/out" || fail "p2: $(cat "$T/out")"

# a Kubernetes pod, from the annotations of the bundle the OCI hook verified
hook_dir
out=$("${PODMAN[@]}" --hooks-dir "$T/hooks.d" run --rm --network none --ulimit nofile=1024:1024 \
	--ulimit nproc=1024:1024 --annotation io.kubernetes.pod.namespace=payments \
	--annotation io.kubernetes.pod.name=api-7f --annotation io.kubernetes.container.name=main \
	"$PIMG" cat /run/secrets/pay 2>"$T/err") || fail "pod container: $(cat "$T/err")"
[ "$out" = v-pay ] || fail "pod container: got '$out'"
out=$("${PODMAN[@]}" --hooks-dir "$T/hooks.d" run --rm --network none --ulimit nofile=1024:1024 \
	--ulimit nproc=1024:1024 --annotation io.kubernetes.pod.namespace=payments \
	--annotation io.kubernetes.pod.name=api-7f --annotation io.kubernetes.container.name=sidecar \
	"$PIMG" sh -c 'ls /run/secrets 2>&1; echo started' 2>"$T/err") || fail "sidecar: $(cat "$T/err")"
case "$out" in *pay*) fail "sidecar got the pod's secret: $out" ;; esac
echo "ok: t-selectors"
