#!/bin/sh
# tests/run.sh — runs every unit test binary given as an argument and every
# tests/integration/t-*.sh, and ends with one line "checks: N passed, N failed".
# Environment: SECRETD, SECRETCTL (binaries under test), SANITIZE.
set -u

cd "$(dirname "$0")/.." || exit 1
: "${SECRETD:?}" "${SECRETCTL:?}"
export SECRETD SECRETCTL
# abort_on_error turns any sanitizer report into a failing exit status.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"

passed=0
failed=0
skipped=0
failures=""

run_one() {
	name=$1
	shift
	log=$(mktemp)
	start=$(date +%s%N)
	rc=0
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		status=ok
		passed=$((passed + 1))
	elif [ "$rc" = 77 ]; then
		status=skip
		skipped=$((skipped + 1))
	else
		status=FAIL
		failed=$((failed + 1))
		failures="$failures $name"
	fi
	secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	printf '%-4s %-40s %ss\n' "$status" "$name" "$secs"
	if [ "$status" = FAIL ] || [ "${VERBOSE:-0}" = 1 ]; then
		sed 's/^/    /' "$log"
	fi
	rm -f "$log"
}

for t in "$@"; do
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/t-*.sh; do
	[ -e "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done

[ -n "$failures" ] && echo "failed:$failures"
echo "checks: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
