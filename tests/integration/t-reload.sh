# t-reload.sh — every right granted is judged against the policy in force
# (issue 13, hole 2): after a reload that takes a grant away, a workload
# away, changes a grant's mode, or no longer places the caller that leased
# in its workload, the lease is gone (file, renew, rotation), and so after a
# restart with such a policy; a reload that changes nothing a lease depends
# on keeps it; and an admin taken off the list loses admin on a connection
# that is already open.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
new_container grant-gone
A=$ID
new_container workload-gone
B=$ID
new_container mode-changed
C=$ID
new_container caller-moved
D=$ID
new_container untouched
E=$ID

# policy GRANT_A WORKLOAD_B MODE_C UID_D ADMIN_UID [SECRET_E] — writes the config
policy() {
	local b=""
	[ "$2" = yes ] && b="{ \"name\": \"b\", \"match\": { \"runtime\": \"docker\", \"id\": \"$B\" }, \"secrets\": [ \"s1\" ] },"
	write_config "\"admin\": { \"uids\": [$5] },
  \"workloads\": [
    { \"name\": \"a\", \"match\": { \"runtime\": \"docker\", \"id\": \"$A\" }, \"secrets\": [ \"s2\"$1 ] },
    $b
    { \"name\": \"c\", \"match\": { \"runtime\": \"docker\", \"id\": \"$C\" },
      \"secrets\": [ { \"name\": \"s1\", \"mode\": \"$3\" } ] },
    { \"name\": \"d\", \"match\": { \"runtime\": \"docker\", \"id\": \"$D\", \"uids\": [$4] }, \"secrets\": [ \"s1\" ] },
    { \"name\": \"e\", \"match\": { \"runtime\": \"docker\", \"id\": \"$E\" }, \"secrets\": [ \"${6:-s1}\" ] } ]"
}
policy ', "s1"' yes 0400 1000 0
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
expect_status 201 "$ADMIN" PUT /v1/secrets/s1 --data-binary 'one-v1'
expect_status 201 "$ADMIN" PUT /v1/secrets/s2 --data-binary 'two-v1'

# lease_s1 CONTAINER — leases s1 from it as uid 1000; sets LID and FILE
lease_s1() {
	code=$(lease_in "$1" 1000 '{"secrets":["s1"]}')
	[ "$code" = 201 ] || fail "lease from $1: $code $(cat "$T/lease.json")"
	LID=$(grep -o '"id":"[0-9a-f]*"' "$T/lease.json" | head -n1 | cut -d'"' -f4)
	FILE=$(grep -o '"host_path":"[^"]*"' "$T/lease.json" | head -n1 | cut -d'"' -f4)
	[ -f "$FILE" ] || fail "no file at $FILE"
}
lease_s1 "$A"; LA=$LID FA=$FILE
lease_s1 "$B"; LB=$LID FB=$FILE
lease_s1 "$C"; LC=$LID FC=$FILE
lease_s1 "$D"; LD=$LID FD=$FILE
lease_s1 "$E"; LE=$LID FE=$FILE

# the same policy again: nothing a lease depends on changed
expect_status 200 "$ADMIN" POST /v1/reload
for f in "$FA" "$FB" "$FC" "$FD" "$FE"; do [ -f "$f" ] || fail "an unchanged reload removed $f"; done
grep -q '"reason":"policy changed"' "$T/audit.jsonl" && fail "an unchanged reload ended a lease"

# a's grant of s1 gone, b gone, c's mode changed, d's uids no longer 1000
policy '' no 0440 2000 0
expect_status 200 "$ADMIN" POST /v1/reload
for f in "$FA" "$FB" "$FC" "$FD"; do [ ! -e "$f" ] || fail "$f is still there after the reload took it away"; done
[ -f "$FE" ] || fail "the untouched workload's file went"
expect_status 200 "$ADMIN" GET /v1/leases
for l in "$LA" "$LB" "$LC" "$LD"; do
	grep -q "\"id\":\"$l\"" "$T/body" && fail "lease $l outlived the reload: $(cat "$T/body")"
	grep -q "\"action\":\"revoke\".*\"lease\":\"$l\".*\"reason\":\"policy changed\"" "$T/audit.jsonl" ||
		fail "no audit of lease $l ending: $(tail -n 5 "$T/audit.jsonl")"
done
grep -q "\"id\":\"$LE\"" "$T/body" || fail "the untouched lease went: $(cat "$T/body")"
# renew: gone for the admin as for the container
expect_status 404 "$ADMIN" POST "/v1/leases/$LA/renew"
in_cgroup "/system.slice/docker-$B.scope" 1000 yes curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" \
	-X POST "http://secretd/v1/leases/$LB/renew" >"$T/code" || true
[ "$(cat "$T/code")" = 404 ] || fail "the removed workload's lease renewed: $(cat "$T/code")"
# a rotation reaches the lease that is still granted, and no other
expect_status 200 "$ADMIN" POST /v1/secrets/s1/rotate --data-binary 'one-v2'
grep -q '"leases_updated":1' "$T/body" || fail "rotation after the reload: $(cat "$T/body")"
[ "$(cat "$FE")" = one-v2 ] || fail "the granted lease did not get the new version"
for f in "$FA" "$FB" "$FC" "$FD"; do [ ! -e "$f" ] || fail "rotation wrote $f"; done
# a can still lease what it is granted; d's caller (uid 1000) no longer can
code=$(lease_in "$A" 1000 '{"secrets":["s1"]}')
[ "$code" = 403 ] || fail "a leased a secret it is no longer granted: $code"
code=$(lease_in "$D" 1000 '{"secrets":["s1"]}')
[ "$code" = 403 ] || fail "d's old caller leased again: $code"
echo "leases: granted, reloaded unchanged, four ended, one kept"

# --- a restart judges the recovered leases by the policy it starts with ------
stop_daemon
[ -f "$FE" ] || fail "a stop removed the live lease's file"
policy '' no 0440 2000 0 s2
start_daemon --config "$T/secretd.json"
[ ! -e "$FE" ] || fail "a lease the policy no longer grants outlived the restart"
grep -q "\"action\":\"revoke\".*\"lease\":\"$LE\".*\"reason\":\"policy changed\"" "$T/audit.jsonl" ||
	fail "no audit of the recovered lease ending: $(tail -n 3 "$T/audit.jsonl")"
expect_status 404 "$ADMIN" POST "/v1/leases/$LE/renew"
echo "restart: the recovered lease the policy no longer grants ended"

# --- admin on an open keep-alive connection ----------------------------------
# One connection: admin asks for the status, reloads a config that no longer
# lists it, and asks again.  The second answer is the new policy's.
policy '' no 0440 2000 4242
curl -s --unix-socket "$ADMIN" -o /dev/null -w '%{http_code} %{num_connects}\n' http://secretd/v1/status \
	--next -s --unix-socket "$ADMIN" -o /dev/null -w '%{http_code} %{num_connects}\n' -X POST http://secretd/v1/reload \
	--next -s --unix-socket "$ADMIN" -o /dev/null -w '%{http_code} %{num_connects}\n' http://secretd/v1/status \
	>"$T/keepalive" || true
[ "$(tr '\n' ' ' <"$T/keepalive")" = "200 1 200 0 403 0 " ] ||
	fail "status, reload, status on one connection: $(tr '\n' ' ' <"$T/keepalive")"
# and a fresh connection is no admin either
expect_status 403 "$ADMIN" GET /v1/status
stop_daemon
echo "t-reload: ok"
