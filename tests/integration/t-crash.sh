# t-crash.sh — kill -9 of the daemon at random moments under a mixed load
# of creates, rotates, leases from containers and expiries (short TTLs),
# of values and of sets (s30…s39: two parts, rotated whole), then a check
# of everything after each restart (each leased set one whole version, no
# generation left that no link points at); see
# helpers/crash-load.c for exactly what is allowed to survive.  The seed
# is printed, CRASH_SEED replays a run, CRASH_ROUNDS changes its length.
source "$(dirname "$0")/lib.sh"
need_root
[ -n "${CRASH_LOAD:-}" ] && [ -x "$CRASH_LOAD" ] || fail "CRASH_LOAD (build/…/helpers/crash-load) not set"

containers_init
grants=$(for i in $(seq -w 0 39); do printf '"s%s",' "$i"; done)
write_config "\"workloads\": [
    { \"name\": \"load\", \"match\": { \"runtime\": \"docker\" }, \"secrets\": [ ${grants%,} ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"

cgroups=()
for n in a b c; do
	new_container "crash-$n"
	cgroups+=("$CG/system.slice/docker-$ID.scope")
done

seed=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
rounds=${CRASH_ROUNDS:-120}
echo "t-crash: seed $seed, $rounds rounds"
rc=0
"$CRASH_LOAD" "$SECRETD" "$T/secretd.json" "$T" "$rounds" "$seed" "${cgroups[@]}" >"$T/summary" || rc=$?
[ "$rc" = 0 ] || fail "crash-load failed (seed $seed)"
cat "$T/summary"
echo "t-crash: ok"
