# t-lease.sh — leases on the host side: hand-made containers lease over the
# workload socket and their files appear on their own tmpfs under
# secrets_root with the right owner and mode; expiry, renew, revoke, max_ttl,
# rotation fan-out to 200 leases under a reader, deletion, symlinks, a full
# tmpfs, and a clean stop that leaves nothing mounted.
source "$(dirname "$0")/lib.sh"
need_root

containers_init
PFX=system.slice
IDS=()
# new_id NAME — a fresh hand-made container (lib.sh); ID is kept in IDS
new_id() { new_container "$1"; IDS+=("$ID"); }

write_config "\"defaults\": { \"tmpfs_size\": \"64K\" },
  \"workloads\": [
    { \"name\": \"web\", \"match\": { \"runtime\": \"docker\", \"uids\": [1000] },
      \"ttl\": \"1h\", \"max_ttl\": \"2h\",
      \"secrets\": [ \"db-password\", \"rotating\", \"big\",
                   { \"name\": \"tls-key\", \"file\": \"tls.key\", \"mode\": \"0440\", \"uid\": 0, \"gid\": 101 } ] },
    { \"name\": \"short\", \"match\": { \"runtime\": \"docker\", \"uids\": [2000] },
      \"ttl\": \"2s\", \"max_ttl\": \"3s\", \"secrets\": [ \"db-password\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock
printf 'pw-%s' "$$" >"$T/pw"
expect_status 201 "$ADMIN" PUT /v1/secrets/db-password --data-binary @"$T/pw"
expect_status 201 "$ADMIN" PUT /v1/secrets/tls-key --data-binary 'KEY'
expect_status 201 "$ADMIN" PUT /v1/secrets/rotating --data-binary 'version-1-value'
expect_status 201 "$ADMIN" PUT /v1/secrets/not-granted --data-binary 'nope'

lease() { lease_in "$@"; }
field() { grep -o "\"$1\":\"[^\"]*\"" "$T/lease.json" | head -n1 | cut -d'"' -f4; }

# --- a granted lease: file, owner, mode, tmpfs --------------------------------
new_id a; A=$ID
code=$(lease "$A" 1000 '{"secrets":["db-password","tls-key"]}')
[ "$code" = 201 ] || fail "lease: $code $(cat "$T/lease.json")"
dir=$T/secrets/containers/docker-$A
cmp -s "$dir/db-password" "$T/pw" || fail "file content differs"
[ "$(stat -c '%a %u %g' "$dir/db-password")" = "400 1000 1000" ] || fail "db-password: $(stat -c '%a %u %g' "$dir/db-password")"
[ "$(stat -c '%a %u %g' "$dir/tls.key")" = "440 0 101" ] || fail "tls.key: $(stat -c '%a %u %g' "$dir/tls.key")"
opts=$(findmnt -n -o FSTYPE,OPTIONS --mountpoint "$dir") || fail "no mount at $dir"
case $opts in tmpfs*nosuid*nodev*noexec*) ;; *) fail "mount options: $opts" ;; esac
case $opts in *size=64k*) ;; *) fail "tmpfs not size-limited: $opts" ;; esac
case $opts in *nr_inodes=256*) ;; *) fail "tmpfs not inode-limited: $opts" ;; esac
# noswap is a super option (Linux 6.4+); an older kernel gets a swappable
# tmpfs and one warning at start-up
sopts=$(findmnt -n -o FS-OPTIONS --mountpoint "$dir")
IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "${kmin%%[!0-9]*}" -ge 4 ]; }; then
	case ,$sopts, in *,noswap,*) ;; *) fail "tmpfs not noswap: $sopts" ;; esac
	grep -q "refuses tmpfs 'noswap'" "$T/daemon.log" && fail "noswap refused on Linux $(uname -r)"
else
	[ "$(grep -c "refuses tmpfs 'noswap'" "$T/daemon.log")" = 1 ] || fail "no single noswap warning on Linux $(uname -r)"
fi
grep -q "\"host_path\":\"$dir/db-password\"" "$T/lease.json" || fail "reply: $(cat "$T/lease.json")"
LEASE_A=$(field id)
# the host-side tree serves the daemon alone: the container reads its
# files through the clone injected into it (t-inject), while its uid seen
# from the host (uid 1000 is also the first login user) reads nothing here
[ "$(stat -c '%a %u' "$T/secrets")" = "711 0" ] || fail "secrets_root: $(stat -c '%a %u' "$T/secrets")"
[ "$(stat -c '%a %u' "$T/secrets/containers")" = "700 0" ] || fail "containers/: $(stat -c '%a %u' "$T/secrets/containers")"
in_cgroup "/$PFX/docker-$A.scope" 1000 yes cat "$dir/db-password" >/dev/null 2>&1 && fail "the app's uid read the host-side file"
setpriv --reuid=1000 --regid=1000 --clear-groups cat "$dir/db-password" >/dev/null 2>&1 && fail "host uid 1000 read a container's file"
setpriv --reuid=1000 --regid=1000 --clear-groups ls "$T/secrets/containers" >/dev/null 2>&1 && fail "host uid 1000 listed the containers' directories"
in_cgroup "/$PFX/docker-$A.scope" 1000 yes sh -c "echo x >'$dir/db-password'" 2>/dev/null && fail "owner could write"
in_cgroup "/$PFX/docker-$A.scope" 1000 yes sh -c "echo x >'$dir/new'" 2>/dev/null && fail "owner could create files"
in_cgroup "/$PFX/docker-$A.scope" 1000 yes cat "$dir/tls.key" >/dev/null 2>&1 && fail "uid 1000 read a 0440 root:101 file"

# --- refusals: ungranted, unknown, no workload; nothing materialized --------
[ "$(lease "$A" 1000 '{"secrets":["not-granted"]}')" = 403 ] || fail "ungranted secret leased"
[ ! -e "$dir/not-granted" ] || fail "ungranted secret materialized"
new_id b; B=$ID
[ "$(lease "$B" 1000 '{"secrets":["db-password","not-granted"]}')" = 403 ] || fail "partly ungranted request leased"
[ ! -e "$T/secrets/containers/docker-$B" ] || fail "a refused request left a directory"
[ "$(lease "$B" 1000 '{"secrets":["nonexistent"]}')" = 403 ] || fail "ungranted unknown secret"
[ "$(lease "$B" 3000 '{}')" = 403 ] || fail "a caller matching no workload got a lease"
[ "$(lease "$B" 1000 '{"secrets":"db-password"}')" = 400 ] || fail "secrets as a string"
[ "$(lease "$B" 1000 '{"secrets":[],"colour":1}')" = 400 ] || fail "unknown body key"
[ "$(lease "$B" 1000 '{"ttl":"-5s"}')" = 400 ] || fail "bad ttl"
[ "$(lease "$B" 1000 'not json')" = 400 ] || fail "not JSON"
[ "$(lease "$B" 1000 '{"secrets":["big"]}')" = 404 ] || fail "granted but missing secret"
[ ! -e "$T/secrets/containers/docker-$B" ] || fail "failed requests left a directory"

# --- all grants when none are named; leasing again renews ---------------------
expect_status 201 "$ADMIN" PUT /v1/secrets/big --data-binary 'small for now'
[ "$(lease "$A" 1000 '{}')" = 201 ] || fail "lease all: $(cat "$T/lease.json")"
[ "$(grep -o '"id":' "$T/lease.json" | wc -l)" = 4 ] || fail "expected 4 leases: $(cat "$T/lease.json")"
grep -q "\"id\":\"$LEASE_A\"" "$T/lease.json" || fail "re-lease did not keep the lease id"
# a renewal leaves a current file alone but puts back one that went, or
# whose mode changed, on the host
rm "$dir/db-password"
chmod 644 "$dir/tls.key"
[ "$(lease "$A" 1000 '{"secrets":["db-password","tls-key"]}')" = 201 ] || fail "renew: $(cat "$T/lease.json")"
cmp -s "$dir/db-password" "$T/pw" || fail "a renewal did not put back a removed file"
[ "$(stat -c '%a %u %g' "$dir/db-password")" = "400 1000 1000" ] || fail "put back: $(stat -c '%a %u %g' "$dir/db-password")"
[ "$(stat -c '%a %u %g' "$dir/tls.key")" = "440 0 101" ] || fail "renewal left tls.key $(stat -c '%a %u %g' "$dir/tls.key")"

# --- listing and ownership -------------------------------------------------------
in_cgroup "/$PFX/docker-$B.scope" 1000 yes curl -s --unix-socket "$WORK" http://secretd/v1/leases >"$T/body"
[ "$T/body" ] && ! grep -q "$LEASE_A" "$T/body" || fail "another container sees A's lease"
code=$(in_cgroup "/$PFX/docker-$B.scope" 1000 yes curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK" -X DELETE "http://secretd/v1/leases/$LEASE_A")
[ "$code" = 403 ] || fail "another container revoked A's lease: $code"
expect_status 200 "$ADMIN" GET /v1/leases
grep -q "$LEASE_A" "$T/body" || fail "admin does not see every lease"
expect_status 404 "$ADMIN" DELETE /v1/leases/0123456789abcdef0123456789abcdef
expect_status 400 "$ADMIN" DELETE /v1/leases/not-an-id
expect_status 200 "$ADMIN" GET /v1/secrets/db-password/meta
grep -q '"leases":1' "$T/body" || fail "meta lease count: $(cat "$T/body")"

# --- a planted symlink cannot redirect a write -------------------------------------
echo "precious" >"$T/target"
rm -f "$dir/rotating" && ln -s "$T/target" "$dir/rotating"
expect_status 200 "$ADMIN" POST /v1/secrets/rotating/rotate --data-binary 'version-2-value'
[ "$(cat "$T/target")" = precious ] || fail "a write followed a symlink"
[ -f "$dir/rotating" ] && [ ! -L "$dir/rotating" ] || fail "symlink not replaced by the file"
[ "$(cat "$dir/rotating")" = version-2-value ] || fail "rotated content"

# --- rotation fan-out: 200 live leases, a reader that must never see a torn value
for i in $(seq 1 199); do
	new_id "fan$i"; id=$ID
	code=$(lease "$id" 1000 '{"secrets":["rotating"]}') || true
	[ "$code" = 201 ] || fail "lease $i: $code $(cat "$T/lease.json")"
done
expect_status 200 "$ADMIN" GET /v1/secrets/rotating/meta
grep -q '"leases":200' "$T/body" || fail "expected 200 leases: $(cat "$T/body")"
( end=$((SECONDS + 4)); bad=0
  while [ $SECONDS -lt $end ]; do
	v=$(cat "$dir/rotating" 2>/dev/null) || { echo "MISSING" >>"$T/reader"; continue; }
	case $v in version-[0-9]*-value) ;; *) echo "TORN:$v" >>"$T/reader" ;; esac
  done; echo done >>"$T/reader" ) &
reader=$!
for v in $(seq 3 12); do
	expect_status 200 "$ADMIN" POST /v1/secrets/rotating/rotate --data-binary "version-$v-value"
	grep -q '"leases_updated":200' "$T/body" || fail "rotate $v: $(cat "$T/body")"
	# every file holds the new value the moment the call returned
	for id in "${IDS[@]}"; do
		f=$T/secrets/containers/docker-$id/rotating
		[ -e "$f" ] || continue
		[ "$(cat "$f")" = "version-$v-value" ] || fail "$f not updated by rotate $v"
	done
done
wait "$reader"
[ "$(cat "$T/reader")" = done ] || fail "reader saw: $(grep -v done "$T/reader" | head -3)"

# --- delete revokes every lease of the secret -------------------------------------
expect_status 200 "$ADMIN" DELETE /v1/secrets/rotating
grep -q '"leases_revoked":200' "$T/body" || fail "delete: $(cat "$T/body")"
[ ! -e "$dir/rotating" ] || fail "file of a deleted secret still there"
[ ! -e "$T/secrets/containers/docker-${IDS[5]}" ] || fail "instance with no leases left still mounted"

# --- a full tmpfs refuses one file and harms no other ----------------------------
head -c 15000 /dev/urandom >"$T/bigval"
expect_status 200 "$ADMIN" POST /v1/secrets/big/rotate --data-binary @"$T/bigval"
new_id c; C=$ID
[ "$(lease "$C" 1000 '{"secrets":["big"]}')" = 201 ] || fail "lease big: $(cat "$T/lease.json")"
dd if=/dev/zero of="$T/secrets/containers/docker-$C/filler" bs=4k 2>/dev/null || true
cp "$T/secrets/containers/docker-$C/big" "$T/big.before"
# another value: the same one again would be "unchanged", and write nothing
head -c 15000 /dev/urandom >"$T/bigval2"
code=$(api "$ADMIN" POST /v1/secrets/big/rotate --data-binary @"$T/bigval2")
[ "$code" = 500 ] || fail "rotate into a full tmpfs gave $code: $(cat "$T/body")"
cmp -s "$T/secrets/containers/docker-$C/big" "$T/big.before" || fail "the old file was harmed by a failed write"
cmp -s "$dir/big" "$T/bigval2" || fail "another instance did not get the new value"
ls -A "$T/secrets/containers/docker-$C" | grep -q '^\.tmp-' && fail "temp file left behind"
[ -z "$(ls -A "$T/secrets/containers/docker-$C/.tmp")" ] || fail "temp file left behind in .tmp/"
[ "$(stat -c '%a %u' "$T/secrets/containers/docker-$C/.tmp")" = "700 0" ] || fail ".tmp/ is $(stat -c '%a %u' "$T/secrets/containers/docker-$C/.tmp")"

# --- expiry, renew, revoke, max_ttl ------------------------------------------------
new_id d; D=$ID
[ "$(lease "$D" 2000 '{"ttl":"2s"}')" = 201 ] || fail "short lease: $(cat "$T/lease.json")"
LEASE_D=$(field id)
f=$T/secrets/containers/docker-$D/db-password
[ -e "$f" ] || fail "short lease file missing"
expect_status 200 "$ADMIN" POST "/v1/leases/$LEASE_D/renew" --data '{"ttl":"1h"}'
# renewal is capped by max_ttl (3 s from the first grant)
start=$(date +%s%N)
for _ in $(seq 80); do [ -e "$f" ] || break; sleep 0.05; done
gone_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ ! -e "$f" ] || fail "lease not expired 4 s after a 3 s max_ttl"
[ ! -e "$T/secrets/containers/docker-$D" ] || fail "expired instance directory left"
echo "max_ttl lease gone ${gone_ms} ms after renewal"
new_id e; E=$ID
[ "$(lease "$E" 2000 '{"ttl":"2s"}')" = 201 ] || fail "lease E"
exp_at=$(( $(date +%s%N) / 1000000 + 2000 ))
for _ in $(seq 200); do [ -e "$T/secrets/containers/docker-$E/db-password" ] || break; sleep 0.02; done
late=$(( $(date +%s%N) / 1000000 - exp_at ))
[ ! -e "$T/secrets/containers/docker-$E/db-password" ] || fail "2 s lease still there"
[ "$late" -lt 1000 ] || fail "2 s lease went ${late} ms after its deadline"
echo "2 s lease gone ${late} ms after its deadline"
grep -q '"action":"expire"' "$T/audit.jsonl" || fail "expiry not audited"
# the expiry timer follows the earliest deadline when a renewal moves it:
# H (1 s) is renewed to 3 s, so G (2 s) becomes the earliest
new_id g; G=$ID
new_id h; H=$ID
[ "$(lease "$G" 2000 '{"ttl":"2s"}')" = 201 ] || fail "lease G"
g_at=$(( $(date +%s%N) / 1000000 + 2000 ))
[ "$(lease "$H" 2000 '{"ttl":"1s"}')" = 201 ] || fail "lease H"
[ "$(lease "$H" 2000 '{"ttl":"3s"}')" = 201 ] || fail "renew H"
for _ in $(seq 200); do [ -e "$T/secrets/containers/docker-$G/db-password" ] || break; sleep 0.02; done
late=$(( $(date +%s%N) / 1000000 - g_at ))
[ ! -e "$T/secrets/containers/docker-$G/db-password" ] || fail "G outlived its deadline after H's renewal"
[ "$late" -lt 500 ] || fail "G went ${late} ms after its deadline"
[ -e "$T/secrets/containers/docker-$H/db-password" ] || fail "H went before its renewed deadline"
for _ in $(seq 150); do [ -e "$T/secrets/containers/docker-$H/db-password" ] || break; sleep 0.02; done
[ ! -e "$T/secrets/containers/docker-$H/db-password" ] || fail "H outlived its renewed deadline"
expect_status 200 "$ADMIN" DELETE "/v1/leases/$LEASE_A"
[ ! -e "$dir/db-password" ] || fail "revoked file still there"
[ -e "$dir/tls.key" ] || fail "revoking one lease removed another's file"

# --- a container that exits loses its leases, files, mount and directory ---------
new_id f; F=$ID
[ "$(lease "$F" 1000 '{"secrets":["db-password"]}')" = 201 ] || fail "lease F"
fdir=$T/secrets/containers/docker-$F
[ -e "$fdir/db-password" ] || fail "F's file missing"
sleep 0.3
[ -e "$fdir/db-password" ] || fail "leases revoked while the container still runs"
kill "$KEEPER"
start=$(date +%s%N)
for _ in $(seq 100); do [ -e "$fdir" ] || break; sleep 0.01; done
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ ! -e "$fdir" ] || fail "exited container's directory still there after 1 s"
grep -q " $fdir " /proc/self/mountinfo && fail "exited container's tmpfs still mounted"
grep -q '"reason":"workload exited"' "$T/audit.jsonl" || fail "revocation on exit not audited"
echo "exited container's leases gone after ${took} ms"

# --- revoking every lease leaves nothing mounted or on disk ------------------------
expect_status 200 "$ADMIN" GET /v1/leases
for id in $(grep -o '"id":"[0-9a-f]*"' "$T/body" | cut -d'"' -f4); do
	expect_status 200 "$ADMIN" DELETE "/v1/leases/$id"
done
grep -q " $T/secrets/" /proc/self/mountinfo && fail "mounts left: $(grep " $T/secrets/" /proc/self/mountinfo | head -3)"
[ "$(ls -A "$T/secrets")" = containers ] && [ -z "$(ls -A "$T/secrets/containers")" ] || fail "directories left: $(ls -A "$T/secrets" "$T/secrets/containers" | head -5)"
[ -z "$(ls -A "$T/run/leases")" ] || fail "lease records left: $(ls -A "$T/run/leases" | head -3)"
stop_daemon
! grep -qF "$(cat "$T/pw")" "$T/daemon.log" "$T/audit.jsonl" || fail "a value leaked into logs"
echo "t-lease: ok"
