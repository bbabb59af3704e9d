# t-scope.sh — callers the policy can tell apart never share a directory,
# a file or a lease (issue 13, hole 7).  Two rootless containers of one
# user (delegated cgroups that user owns, named libpod-<id>), and two
# services in a delegated subtree, told apart by cgroup globs: each its own
# instance, neither sees, renews or revokes the other's lease.  One
# container whose processes match two workloads (by uid): the second
# workload is refused (409) while the first holds leases there.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
U=1000
ID1=$(hex64 "rootless-1-$$")
ID2=$(hex64 "rootless-2-$$")
DELEG=/secretd-scope-$$
DELEG_SYS=/system.slice/secretd-scope-$$.slice
CT_DIRS+=("$CG$DELEG" "$CG$DELEG_SYS")
mkdir "$CG$DELEG" "$CG$DELEG_SYS"
chown "$U:$U" "$CG$DELEG" "$CG$DELEG/cgroup.procs" "$CG$DELEG_SYS" "$CG$DELEG_SYS/cgroup.procs"
setpriv --reuid="$U" --regid="$U" --clear-groups sh -c \
	"mkdir '$CG$DELEG/libpod-$ID1.scope' '$CG$DELEG/libpod-$ID2.scope' '$CG$DELEG_SYS/a.service' '$CG$DELEG_SYS/b.service'"
new_container shared
S=$ID

write_config "\"admin\": { \"uids\": [0] },
  \"workloads\": [
    { \"name\": \"r1\", \"match\": { \"runtime\": \"rootless\", \"cgroup\": \"$DELEG/libpod-$ID1.scope\" },
      \"secrets\": [ \"s1\", { \"name\": \"common\", \"file\": \"c\" } ] },
    { \"name\": \"r2\", \"match\": { \"runtime\": \"rootless\", \"cgroup\": \"$DELEG/libpod-$ID2.scope\" },
      \"secrets\": [ \"s2\", { \"name\": \"common\", \"file\": \"c\" } ] },
    { \"name\": \"sa\", \"match\": { \"runtime\": \"rootless\", \"cgroup\": \"$DELEG_SYS/a.service\" },
      \"secrets\": [ \"s1\" ] },
    { \"name\": \"sb\", \"match\": { \"runtime\": \"rootless\", \"cgroup\": \"$DELEG_SYS/b.service\" },
      \"secrets\": [ \"s2\" ] },
    { \"name\": \"app\", \"match\": { \"runtime\": \"docker\", \"id\": \"$S\", \"uids\": [1000] }, \"secrets\": [ \"s1\" ] },
    { \"name\": \"sidecar\", \"match\": { \"runtime\": \"docker\", \"id\": \"$S\", \"uids\": [2000] },
      \"secrets\": [ \"s2\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
for n in s1 s2 common; do expect_status 201 "$ADMIN" PUT "/v1/secrets/$n" --data-binary "value-of-$n"; done

# call CGROUP UID METHOD PATH [BODY] — from CGROUP as UID in fresh mount and
# pid namespaces; status in $CODE, body in $T/body
call() {
	local cg=$1 uid=$2 method=$3 path=$4 body=${5:-}
	in_cgroup "$cg" "$uid" yes curl -s -w '\n%{http_code}' --unix-socket "$WORK" -X "$method" \
		${body:+-H Content-Type:application/json --data "$body"} "http://secretd$path" >"$T/out.txt" || true
	sed '$d' "$T/out.txt" >"$T/body"
	CODE=$(tail -n1 "$T/out.txt")
}
lease_id() { grep -o '"id":"[0-9a-f]*"' "$T/body" | head -n1 | cut -d'"' -f4; }
instance_of() { grep -o '"instance":"[^"]*"' "$T/body" | head -n1 | cut -d'"' -f4; }
host_dir() { dirname "$(grep -o '"host_path":"[^"]*"' "$T/body" | head -n1 | cut -d'"' -f4)"; }

# two_apart CG1 CG2 NAME1 NAME2 — each leases its grants; apart in everything
two_apart() {
	local cg1=$1 cg2=$2
	call "$cg1" "$U" POST /v1/leases '{}'
	[ "$CODE" = 201 ] || fail "$3 lease: $CODE $(cat "$T/body")"
	local l1 i1 d1 l2 i2 d2
	l1=$(lease_id) i1=$(instance_of) d1=$(host_dir)
	call "$cg2" "$U" POST /v1/leases '{}'
	[ "$CODE" = 201 ] || fail "$4 lease: $CODE $(cat "$T/body")"
	l2=$(lease_id) i2=$(instance_of) d2=$(host_dir)
	[ "$i1" != "$i2" ] || fail "$3 and $4 share the instance '$i1'"
	[ "$d1" != "$d2" ] || fail "$3 and $4 share the directory $d1"
	[ -e "$d2/s1" ] && fail "$4's directory holds $3's secret: $(ls "$d2")"
	[ -e "$d1/s2" ] && fail "$3's directory holds $4's secret: $(ls "$d1")"
	call "$cg2" "$U" GET /v1/leases
	grep -q "\"id\":\"$l1\"" "$T/body" && fail "$4 sees $3's lease: $(cat "$T/body")"
	grep -q "\"id\":\"$l2\"" "$T/body" || fail "$4 does not see its own lease: $(cat "$T/body")"
	call "$cg2" "$U" POST "/v1/leases/$l1/renew"
	[ "$CODE" = 403 ] || fail "$4 renewed $3's lease: $CODE"
	call "$cg2" "$U" DELETE "/v1/leases/$l1"
	[ "$CODE" = 403 ] || fail "$4 revoked $3's lease: $CODE"
	expect_status 200 "$ADMIN" GET /v1/leases
	grep -q "\"id\":\"$l1\"" "$T/body" || fail "$3's lease is gone"
	echo "$3 ($i1) and $4 ($i2): apart"
}
two_apart "$DELEG/libpod-$ID1.scope" "$DELEG/libpod-$ID2.scope" r1 r2
# the file both grant ("c") is two files, one per instance
[ "$(find "$T/secrets" -name c -type f | wc -l)" = 2 ] || fail "the common file: $(find "$T/secrets" -name c)"
two_apart "$DELEG_SYS/a.service" "$DELEG_SYS/b.service" sa sb

# --- one container, two workloads by uid -------------------------------------
code=$(lease_in "$S" 1000 '{}')
[ "$code" = 201 ] || fail "app lease: $code $(cat "$T/lease.json")"
LAPP=$(grep -o '"id":"[0-9a-f]*"' "$T/lease.json" | head -n1 | cut -d'"' -f4)
code=$(lease_in "$S" 2000 '{}')
[ "$code" = 409 ] || fail "the sidecar leased into the app's instance: $code $(cat "$T/lease.json")"
grep -q '"code":"conflict"' "$T/lease.json" || fail "409 body: $(cat "$T/lease.json")"
grep -q "\"action\":\"lease\",\"decision\":\"deny\",\"identity\":\"docker:$S\".*\"workload\":\"sidecar\"" "$T/audit.jsonl" ||
	fail "the refusal is not audited: $(tail -n 3 "$T/audit.jsonl")"
call "/system.slice/docker-$S.scope" 2000 GET /v1/leases
grep -q "\"id\":\"$LAPP\"" "$T/body" && fail "the sidecar sees the app's lease: $(cat "$T/body")"
call "/system.slice/docker-$S.scope" 2000 DELETE "/v1/leases/$LAPP"
[ "$CODE" = 403 ] || fail "the sidecar revoked the app's lease: $CODE"
# once the app's leases are gone, the instance is free for the other
call "/system.slice/docker-$S.scope" 1000 DELETE "/v1/leases/$LAPP"
[ "$CODE" = 200 ] || fail "the app revoking its own lease: $CODE $(cat "$T/body")"
code=$(lease_in "$S" 2000 '{}')
[ "$code" = 201 ] || fail "the sidecar after the app's leases ended: $code $(cat "$T/lease.json")"
echo "one container, two workloads: refused while bound, served after"
stop_daemon
echo "t-scope: ok"
