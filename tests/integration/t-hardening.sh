# t-hardening.sh — the hardening report: the built secretd and secretctl
# are PIE, fully RELRO, stack-protected and fortified (readelf), and the
# installed service unit's `systemd-analyze security` exposure is at most
# MAX_EXPOSURE.  Prints one line per binary and the exposure score.
#
# Under SANITIZE=1 the fortify check does not apply and is skipped, said so
# in the output: that build has no -D_FORTIFY_SOURCE (ASan intercepts the
# string and memory functions itself, and the two are not meant to be
# combined).  Every other check runs on both builds.
source "$(dirname "$0")/lib.sh"
command -v readelf >/dev/null || fail "readelf missing (binutils)"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing"

MAX_EXPOSURE=3.0
top=$(cd "$(dirname "$0")/../.." && pwd)

# check_binary PATH — fails on the first missing property.
check_binary() {
	local bin=$1 name=${1##*/} fortified
	[ -f "$bin" ] || fail "$bin not built"
	readelf -hW "$bin" >"$T/$name.h"
	readelf -lW "$bin" >"$T/$name.l"
	readelf -dW "$bin" >"$T/$name.d"
	readelf --dyn-syms -W "$bin" >"$T/$name.syms"

	# PIE: a shared-object type executable that says it is one (DF_1_PIE)
	grep -Eq 'Type:[[:space:]]+DYN' "$T/$name.h" || fail "$name: not PIE (ELF type $(grep Type: "$T/$name.h"))"
	grep -Eq 'FLAGS_1.*PIE' "$T/$name.d" || fail "$name: ELF type DYN but no PIE flag (a shared library?)"
	# full RELRO: a read-only-after-relocation segment, and every symbol
	# bound at start, so the GOT can be made read-only as a whole
	grep -q 'GNU_RELRO' "$T/$name.l" || fail "$name: no GNU_RELRO segment"
	grep -Eq '\(BIND_NOW\)|FLAGS.*BIND_NOW|FLAGS_1.*NOW' "$T/$name.d" || fail "$name: partial RELRO only (no BIND_NOW)"
	# a non-executable stack
	grep -E 'GNU_STACK' "$T/$name.l" | grep -q 'RWE' && fail "$name: executable stack"
	# stack protector: the canary check's failure path is imported.  A
	# program with no function that has a local array or an address-taken
	# local (the -strong rule) imports nothing; then every compilation unit
	# of ours in its debug info (-std=gnu11: not the sanitizer runtime's)
	# must still say it was built with the flag.
	if grep -Eq 'UND[[:space:]]+__stack_chk_fail' "$T/$name.syms"; then
		stack="stack protector"
	else
		readelf --debug-dump=info "$bin" 2>/dev/null | grep -o 'DW_AT_producer.*' |
			grep -e '-std=gnu11' >"$T/$name.producers" || true
		[ -s "$T/$name.producers" ] || fail "$name: no stack protector (__stack_chk_fail not imported, no debug info of ours, -std=gnu11, to tell why)"
		grep -v -e '-fstack-protector-strong' -e '-fstack-protector-all' "$T/$name.producers" |
			grep -q . && fail "$name: no stack protector: $(grep -v -e '-fstack-protector' "$T/$name.producers" | head -3)"
		stack="stack protector (built with -fstack-protector-strong; no function needs a canary yet)"
	fi
	# fortify: checked variants of libc functions (__memcpy_chk, __snprintf_chk, ...)
	fortified=$(grep -Eo 'UND[[:space:]]+__[a-z0-9_]+_chk\b' "$T/$name.syms" | awk '{print $2}' |
		grep -v '^__stack_chk_fail$' | sort -u | tr '\n' ' ' || true)
	if [ "${SANITIZE:-0}" = 1 ]; then
		echo "$name: PIE, full RELRO, NX stack, $stack; fortify not checked (SANITIZE build, no _FORTIFY_SOURCE)"
		return 0
	fi
	[ -n "$fortified" ] || fail "$name: not fortified (no __*_chk symbols imported)"
	echo "$name: PIE, full RELRO, NX stack, $stack, fortify ($(echo $fortified | wc -w) checked functions: ${fortified% })"
}

check_binary "$SECRETD"
check_binary "$SECRETCTL"

# --- the installed unit ---------------------------------------------------------
# The unit as `make install` writes it (UNIT_DIR from make check; else made
# here the same way), with ExecStart pointed at the built binary so the
# offline analysis finds it, as t-systemd.sh does for verify.
unit_in=${UNIT_DIR:-}/secretd.service
if [ -z "${UNIT_DIR:-}" ] || [ ! -f "$unit_in" ]; then
	unit_in=$T/secretd.service.installed
	sed -e 's|@SBINDIR@|/usr/local/sbin|g' -e 's|@DOCDIR@|/usr/local/share/doc/secretd|g' \
		"$top/systemd/secretd.service.in" >"$unit_in"
fi
grep -q '^ExecStart=/usr/local/sbin/secretd ' "$unit_in" || fail "unexpected ExecStart in $unit_in"
mkdir -p "$T/units"
sed "s|^ExecStart=/usr/local/sbin/secretd |ExecStart=$SECRETD |" "$unit_in" >"$T/units/secretd.service"
cp "$top/systemd/secretd.socket" "$top/systemd/secretd-admin.socket" "$T/units/"
(cd "$T/units" && systemd-analyze security --offline=yes --no-pager ./secretd.service) >"$T/security.log" 2>&1 || true
score=$(grep -o 'Overall exposure level for secretd.service: [0-9.]*' "$T/security.log" | awk '{print $NF}')
[ -n "$score" ] || fail "no exposure score from systemd-analyze security: $(cat "$T/security.log")"
echo "systemd-analyze security: exposure $score (at most $MAX_EXPOSURE)"
# the settings that still cost points, for whoever tightens the unit next
grep '^✗' "$T/security.log" | awk '{ printf "  %s %s\n", $2, $NF }' | head -20
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' ||
	fail "exposure $score is above $MAX_EXPOSURE: $(cat "$T/security.log")"
echo "t-hardening: ok (exposure $score)"
