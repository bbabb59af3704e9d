# t-warnings.sh — what a lease or renewal reply says beside its leases, in
# its top-level "warnings" array: a container (a mount namespace of its own,
# not a service's) leasing without "inject" (its host_path is not visible to
# it), and a TTL that max_ttl shortened (lease and renew).  A request with
# nothing to warn about has no "warnings" at all; warnings name no value.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
UNIT=secretd-test-warn-$$.service
CT_DIRS+=("$CG/system.slice/$UNIT")
write_config "\"workloads\": [
    { \"name\": \"noinject\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] },
      \"ttl\": \"10m\", \"max_ttl\": \"30m\", \"secrets\": [ \"db\" ] },
    { \"name\": \"unit\", \"match\": { \"runtime\": \"systemd\", \"unit\": \"$UNIT\" },
      \"secrets\": [ \"db\" ] },
    { \"name\": \"hosttool\", \"match\": { \"runtime\": \"host\", \"uids\": [0] },
      \"ttl\": \"10m\", \"max_ttl\": \"30m\", \"secrets\": [ \"db\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
printf 'warn-value-%s' "$$" >"$T/value"
expect_status 201 "$ADMIN" PUT /v1/secrets/db --data-binary @"$T/value"

warnings() { jq -r '.warnings // [] | .[]' "$1"; }

# --- a container (a mount namespace of its own) without inject ---------------
new_container plain; C=$ID
code=$(lease_in "$C" 1000 '{"ttl":"5m"}')
[ "$code" = 201 ] || fail "lease: $code $(cat "$T/lease.json")"
warnings "$T/lease.json" >"$T/w"
[ "$(wc -l <"$T/w")" = 1 ] || fail "expected one warning: $(cat "$T/lease.json")"
expect_in "mount namespace of its own" "$T/w"
expect_in "add \"inject\": \"/run/secrets\" to the workload" "$T/w"
expect_in "'noinject'" "$T/w"
jq -e '.leases[0].host_path' "$T/lease.json" >/dev/null || fail "the lease itself is missing: $(cat "$T/lease.json")"

# --- the same container asking for more than max_ttl: both warnings ----------
code=$(lease_in "$C" 1000 '{"ttl":"2h"}')
[ "$code" = 201 ] || fail "lease 2h: $code $(cat "$T/lease.json")"
warnings "$T/lease.json" >"$T/w"
[ "$(wc -l <"$T/w")" = 2 ] || fail "expected two warnings: $(cat "$T/lease.json")"
expect_in "ttl 2h was capped at max_ttl 30m of workload 'noinject'" "$T/w"
ID_C=$(jq -r '.leases[0].id' "$T/lease.json")

# --- a service with a mount namespace of its own (PrivateTmp=): systemd makes
# it receive the host's new mounts, so its host_path is visible; no warning
in_cgroup "/system.slice/$UNIT" 0 no curl -s --unix-socket "$WORK" -X POST --data '{}' \
	http://x/v1/leases >"$T/unit.json"
jq -e '.leases[0].instance' "$T/unit.json" >/dev/null || fail "unit lease: $(cat "$T/unit.json")"
[ "$(jq 'has("warnings")' "$T/unit.json")" = false ] || fail "a unit was warned: $(cat "$T/unit.json")"

# --- a host process (the host's mount namespace): no inject needed -----------
expect_status 201 "$WORK" POST /v1/leases --data '{"ttl":"5m"}'
[ "$(jq 'has("warnings")' "$T/body")" = false ] || fail "a host lease within max_ttl warned: $(cat "$T/body")"
ID_H=$(jq -r '.leases[0].id' "$T/body")
# within max_ttl but past what is left of it since the first grant: still said
expect_status 201 "$WORK" POST /v1/leases --data '{"ttl":"48h"}'
warnings "$T/body" >"$T/w"
[ "$(wc -l <"$T/w")" = 1 ] || fail "expected one warning: $(cat "$T/body")"
expect_in "ttl 2d was capped at max_ttl 30m of workload 'hosttool'" "$T/w"
grep -q 'mount namespace' "$T/w" && fail "a host caller was told about mount namespaces"

# --- renew: the same, for a TTL above max_ttl; none for one within it -------
expect_status 200 "$WORK" POST "/v1/leases/$ID_H/renew" --data '{"ttl":"5m"}'
[ "$(jq 'has("warnings")' "$T/body")" = false ] || fail "renew within max_ttl warned: $(cat "$T/body")"
expect_status 200 "$WORK" POST "/v1/leases/$ID_H/renew" --data '{"ttl":"48h"}'
warnings "$T/body" >"$T/w"
expect_in "ttl 2d was capped at max_ttl 30m of workload 'hosttool'" "$T/w"
expect_in "it now ends in " "$T/w"
# an admin renewing the container's lease gets the cap said as well
expect_status 200 "$ADMIN" POST "/v1/leases/$ID_C/renew" --data '{"ttl":"1h"}'
warnings "$T/body" >"$T/w"
expect_in "ttl 1h was capped at max_ttl 30m of workload 'noinject'" "$T/w"

# no value in any reply, log or audit record
for f in "$T/lease.json" "$T/body" "$T/daemon.log" "$T/audit.jsonl"; do
	grep -qF "warn-value-$$" "$f" && fail "the value leaked into $f"
done
echo "t-warnings: ok"
