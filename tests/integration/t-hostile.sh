# t-hostile.sh — a table of hostile requests, each sent on both sockets with
# its expected status; then the daemon must still answer, hold the same
# secrets, and not have grown: the table runs five times and the daemon's
# RSS after round 5 is compared with its RSS after round 2.  The framing
# rows (RFC 9112: whitespace before a colon, NUL, bare CR, non-token names,
# two Hosts, obs-fold, bare LF, any Transfer-Encoding) are each followed by
# a pipelined request that must not be answered.
source "$(dirname "$0")/lib.sh"
need_root

HOSTILE_CLIENT=${HOSTILE_CLIENT:-$(dirname "$SLOW_CLIENT")/hostile-client}
[ -x "$HOSTILE_CLIENT" ] || fail "no hostile-client helper at $HOSTILE_CLIENT"
MAXCONN=16

write_config "\"admin\": { \"uids\": [0] },
  \"limits\": { \"max_value_size\": \"4K\", \"max_connections\": $MAXCONN, \"idle_timeout\": \"1s\" },
  \"workloads\": [
    { \"name\": \"host-root\", \"match\": { \"runtime\": \"host\", \"uids\": [0] },
      \"secrets\": [ \"kept-a\" ] } ]"
expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
# under ASan a freed block waits in a quarantine: keep it small, or the RSS
# comparison below measures the quarantine filling up
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1" start_daemon --config "$T/secretd.json"
ADMIN=$T/run/admin.sock
WORK=$T/run/workload.sock

# --- what must survive: three secrets, binary values -----------------------
for n in kept-a kept-b kept-c; do
	head -c 1000 /dev/urandom >"$T/value-$n"
	expect_status 201 "$ADMIN" PUT "/v1/secrets/$n" --data-binary @"$T/value-$n"
done
# a real rotation (a new value): kept-b's version 2 must survive the table
head -c 1000 /dev/urandom >"$T/value-kept-b"
expect_status 200 "$ADMIN" POST /v1/secrets/kept-b/rotate --data-binary @"$T/value-kept-b"

# --- bodies too big or too odd to write inline -------------------------------
F=$T/fix
mkdir "$F"
head -c 5000 /dev/zero | tr '\0' x >"$F/5k"
printf '%*s' 3000 '' | tr ' ' '[' >"$F/nest-array"          # beyond jansson's depth limit
{ printf '%*s' 500 '' | sed 's/ /{"a":/g'; printf '1'; printf '%*s' 500 '' | tr ' ' '}'; } >"$F/nest-object"
# over the largest lease body (1024 names of 128 bytes, quoted): 1100 such names
N128=$(printf 'n%.0s' $(seq 1 124))
{ printf '{"secrets":['; for i in $(seq 1000 2099); do printf '"%s%d",' "$N128" "$i"; done; printf '"x"]}'; } >"$F/many-names"
{ printf '{"secrets":['; for i in $(seq 1 300); do printf '"s%d",' "$i"; done; printf '"x"]}'; } >"$F/300-names"
printf '{"secrets":["\xff\xfe"]}' >"$F/bad-utf8"
printf '{"secrets":["a"]}\0{}' >"$F/nul-byte"
printf '{"secrets":["%s"]}' "$(printf 'n%.0s' $(seq 1 200))" >"$F/long-name"
printf '\xef\xbb\xbf{}' >"$F/bom"
LONG129=$(printf 'n%.0s' $(seq 1 129))
LONG8K=$(printf 'n%.0s' $(seq 1 8000))
HDR70K="X-Big: $(head -c 70000 /dev/zero | tr '\0' a)"
for i in $(seq 1 300); do printf 'header = "X-Many-%d: y"\n' "$i"; done >"$F/many-headers"
LID=0123456789abcdef0123456789abcdef # a well-formed lease id nobody holds
J="-H Content-Type:application/json"

# payload NAME — the bytes of a raw row (where curl would not go).
payload() {
	local ok='GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n' last='GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	case $1 in
	garbage-line) printf 'GARBAGE\r\n\r\n' ;;
	binary-junk) head -c 512 /dev/urandom | tr -d '\n' ;;
	bad-method) printf 'FOO /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	http2) printf 'GET /v1/health HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	http10-no-host) printf 'GET /v1/health HTTP/1.0\r\n\r\n' ;;
	http11-no-host) printf 'GET /v1/health HTTP/1.1\r\n\r\n' ;;
	header-no-colon) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nNoColon\r\n\r\n' ;;
	space-in-path) printf 'GET /v1/secrets/a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	ctl-in-path) printf 'GET /v1/secrets/a\001b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	absolute-uri) printf 'GET http://x/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	asterisk) printf 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	cl-huge) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 99999999999999999999999\r\n\r\n' ;;
	cl-negative) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: -1\r\n\r\n' ;;
	cl-twice) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd' ;;
	cl-and-chunked) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n' ;;
	te-gzip) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: gzip\r\n\r\nabc' ;;
	chunk-bad-size) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n' ;;
	chunk-huge-size) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n' ;;
	chunks-over-limit) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n'
		for _ in $(seq 1 5); do printf '400\r\n'; head -c 1024 /dev/zero | tr '\0' z; printf '\r\n'; done; printf '0\r\n\r\n' ;;
	expect-too-big) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n' ;;
	pipelined-3) printf "$ok$ok$last" ;;
	pipelined-50) for _ in $(seq 1 49); do printf "$ok"; done; printf "$last" ;;
	pipelined-then-garbage) printf "$ok${ok}GARBAGE\r\n\r\n" ;;
	pipelined-bad-then-ok) printf 'GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n'"$last" ;;
	half-closed-complete) printf "$ok" ;;
	half-closed-headers) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n' ;;
	half-closed-body) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc' ;;
	# RFC 9112 framing, each followed by a request that must not be served
	ws-before-colon-te) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc'"$last" ;;
	ws-before-colon-cl) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nContent-Length : 60\r\n\r\n'"$last" ;;
	tab-before-colon) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A\t: a\r\n\r\n'"$last" ;;
	nul-in-value) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'"$last" ;;
	nul-ends-value) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\0\r\n\r\n'"$last" ;;
	nul-in-name) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX\0A: a\r\n\r\n'"$last" ;;
	cr-in-value) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\rTransfer-Encoding: chunked\r\n\r\n'"$last" ;;
	cr-in-name) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX\rA: a\r\n\r\n'"$last" ;;
	nontoken-name) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n'"$last" ;;
	empty-name) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n'"$last" ;;
	two-hosts) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'"$last" ;;
	obs-fold) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'"$last" ;;
	obs-fold-tab) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n'"$last" ;;
	bare-lf) printf 'GET /v1/health HTTP/1.1\nHost: x\n\n'"$last" ;;
	bare-lf-field) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\nX-B: b\r\n\r\n'"$last" ;;
	bare-lf-end) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\n'"$last" ;;
	chunked) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'"$last" ;;
	chunked-bare-lf) printf 'PUT /v1/secrets/hx HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n'"$last" ;;
	chunk-ext-trailer) printf 'POST /v1/leases HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\nContent-Length: 5\r\n\r\n'"$last" ;;
	slow-headers) printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ;;
	slow-body) printf 'POST /v1/leases/%s/renew HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"ttl":"1m"}' "$LID" ;;
	*) fail "no payload '$1'" ;;
	esac
}

# One row per line: SOCKET METHOD PATH STATUS [curl arguments | helper options]
#   SOCKET  both, admin or work;  METHOD RAW: PATH names a payload above,
#   sent by hostile-client, STATUS is every response's code joined by ','
#   ("closed": none).  A status ending in '*' comes from libmicrohttpd before
#   the daemon sees the request, so its body is not the daemon's JSON (and
#   only its first response counts); every other 4xx/5xx must be
#   {"error":{"code":…,"message":…}}.
TABLE=$(cat <<'ROWS'
# -- malformed and deeply nested JSON (lease bodies) --
both POST   /v1/leases                       400  $J --data '{'
both POST   /v1/leases                       400  $J --data '{"secrets":["kept-a"]'
both POST   /v1/leases                       400  $J --data '[]'
both POST   /v1/leases                       400  $J --data '"secrets"'
both POST   /v1/leases                       400  $J --data 'null'
both POST   /v1/leases                       400  $J --data '{"secrets":["kept-a"]} trailing'
both POST   /v1/leases                       400  $J --data-binary @$F/nest-array
both POST   /v1/leases                       400  $J --data-binary @$F/nest-object
both POST   /v1/leases                       400  $J --data '{"secrets":[],"secrets":[]}'
both POST   /v1/leases                       400  $J --data-binary @$F/bad-utf8
both POST   /v1/leases                       400  $J --data-binary @$F/nul-byte
both POST   /v1/leases                       400  $J --data '{"secrets":["a\u0000b"]}'
both POST   /v1/leases                       400  $J --data-binary @$F/bom
both POST   /v1/leases                       400  $J --data '{"bogus":1}'
both POST   /v1/leases                       415  -H Content-Type:multipart/form-data --data x
# -- wrong types --
both POST   /v1/leases                       400  $J --data '{"secrets":"kept-a"}'
both POST   /v1/leases                       400  $J --data '{"secrets":{"kept-a":1}}'
both POST   /v1/leases                       400  $J --data '{"secrets":[1,2]}'
both POST   /v1/leases                       400  $J --data '{"secrets":[null]}'
both POST   /v1/leases                       400  $J --data '{"secrets":[["kept-a"]]}'
both POST   /v1/leases                       400  $J --data '{"ttl":true}'
both POST   /v1/leases                       400  $J --data '{"ttl":["1h"]}'
both POST   /v1/leases/$LID/renew            400  $J --data '{"ttl":{}}'
both POST   /v1/leases/$LID/renew            400  $J --data '[1]'
# -- huge numbers and durations --
both POST   /v1/leases                       400  $J --data '{"ttl":99999999999999999999999999}'
both POST   /v1/leases                       400  $J --data '{"ttl":-1}'
both POST   /v1/leases                       400  $J --data '{"ttl":0}'
both POST   /v1/leases                       400  $J --data '{"ttl":1e308}'
both POST   /v1/leases                       400  $J --data '{"ttl":1.5}'
both POST   /v1/leases                       400  $J --data '{"ttl":9223372036854775807}'
both POST   /v1/leases                       400  $J --data '{"ttl":"99999999999999999999d"}'
both POST   /v1/leases                       400  $J --data '{"ttl":"18446744073709551615s"}'
both POST   /v1/leases                       400  $J --data '{"ttl":"-1s"}'
both POST   /v1/leases                       400  $J --data '{"ttl":"0s"}'
both POST   /v1/leases                       400  $J --data '{"ttl":"1h30"}'
both POST   /v1/leases                       400  $J --data '{"ttl":""}'
both POST   /v1/leases                       400  $J --data '{"ttl":" 1h"}'
both POST   /v1/leases/$LID/renew            400  $J --data '{"ttl":"999999999999h"}'
both GET    /v1/secrets/kept-a?version=99999999999999999999  400
both GET    /v1/secrets/kept-a?version=-1    400
both GET    /v1/secrets/kept-a?version=0x10  400
both GET    /v1/secrets/kept-a?version=      400
both POST   /v1/secrets/kept-a/rotate?generate=18446744073709551617  400
both POST   /v1/secrets/kept-a/rotate?generate=4097  400
both POST   /v1/secrets/kept-a/rotate?generate=1e3   400
both POST   /v1/secrets/kept-a/rotate?generate=-8    400
# -- bad and oversize names --
both POST   /v1/leases                       400  $J --data '{"secrets":["../../etc/shadow"]}'
both POST   /v1/leases                       400  $J --data '{"secrets":[".hidden"]}'
both POST   /v1/leases                       400  $J --data-binary @$F/long-name
both POST   /v1/leases                       400  $J --data '{"secrets":[""]}'
both POST   /v1/leases                       403  $J --data-binary @$F/300-names
both POST   /v1/leases                       403  $J --data '{"secrets":["not-granted"]}'
both PUT    /v1/secrets/.hidden              400  --data-binary x
both PUT    /v1/secrets/-dash                400  --data-binary x
both PUT    /v1/secrets/$LONG129             400  --data-binary x
both GET    /v1/secrets/$LONG8K              400
both GET    /v1/secrets/kept-a%00            400
both GET    /v1/secrets/kept%2Da             400
both DELETE /v1/secrets/a*                   400
both DELETE /v1/leases/not-a-lease-id        400
both DELETE /v1/leases/0123456789ABCDEF0123456789ABCDEF  400
both DELETE /v1/leases/$LID                  404
both POST   /v1/leases/$LID/renew            404  $J --data '{"ttl":"1m"}'
# -- oversize bodies and headers --
both PUT    /v1/secrets/hx                   413  --data-binary @$F/5k
both PUT    /v1/secrets/hx                   411  -H Transfer-Encoding:chunked --data-binary @$F/5k
both POST   /v1/leases                       411  $J -H Transfer-Encoding:chunked --data '{}'
both POST   /v1/leases                       413  $J --data-binary @$F/many-names
both POST   /v1/secrets/kept-a/rotate        413  --data-binary @$F/5k
both GET    /v1/health                       431* -H "$HDR70K"
both GET    /v1/health                       200  -K $F/many-headers
both PUT    /v1/secrets/hx                   415  $J --data-binary x
both PUT    /v1/secrets/kept-a               409  --data-binary x
both POST   /v1/secrets/kept-a/rotate        400
# -- percent-encoded and dot-dot paths --
both GET    /v1/secrets/%2e%2e               400
both GET    /v1/secrets/..%2f..%2fetc%2fshadow  400
both GET    /v1/secrets/a%2Fb                400
both GET    /v1/secrets/kept-a/..            404  --path-as-is
both GET    /v1/secrets/../status            404  --path-as-is
both GET    /v1/../v1/health                 404  --path-as-is
both GET    /v1/./health                     404  --path-as-is
both GET    //v1/health                      404  --path-as-is
both GET    /v1/health/                      404
both GET    /v1/%68ealth                     404
both GET    /v1/health?x=1                   400
both GET    /v1/health?a&b&c&d&e&f&g&h&i     400
# -- unknown routes and methods --
both GET    /                                404
both GET    /v1                              404
both GET    /v2/health                       404
both GET    /v1/secrets/kept-a/meta/extra    404
both PATCH  /v1/secrets/kept-a               405
both POST   /v1/health                       405
both PUT    /v1/leases                       405
both TRACE  /v1/health                       405
both DELETE /v1/secrets                      405
both BREW   /v1/whoami                       405
# -- raw protocol abuse --
both RAW    garbage-line                     closed  -h
both RAW    binary-junk                      closed  -h
both RAW    bad-method                       405
both RAW    http2                            505*
both RAW    http10-no-host                   200
both RAW    http11-no-host                   400*
both RAW    header-no-colon                  400*
both RAW    space-in-path                    closed  -h
both RAW    ctl-in-path                      400
both RAW    absolute-uri                     404
both RAW    asterisk                         404
both RAW    cl-huge                          413*
both RAW    cl-negative                      400*
both RAW    cl-twice                         400*
both RAW    cl-and-chunked                   400
both RAW    te-gzip                          411
both RAW    chunk-bad-size                   411
both RAW    chunk-huge-size                  411
both RAW    chunks-over-limit                411
both RAW    expect-too-big                   413
both RAW    pipelined-3                      200,200,200
both RAW    pipelined-50                     200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200
both RAW    pipelined-then-garbage           200,200
both RAW    pipelined-bad-then-ok            404,200
both RAW    half-closed-complete             200  -h
both RAW    half-closed-headers              closed  -h
both RAW    half-closed-body                 closed  -h
both RAW    slow-body                        404  -d 5
# -- RFC 9112 framing: refused and closed, the pipelined request after it unserved --
both RAW    ws-before-colon-te               400
both RAW    ws-before-colon-cl               400
both RAW    tab-before-colon                 400
both RAW    nul-in-value                     400
both RAW    nul-ends-value                   400
both RAW    nul-in-name                      400*
both RAW    cr-in-value                      400
both RAW    cr-in-name                       400
both RAW    nontoken-name                    400
both RAW    empty-name                       400
both RAW    two-hosts                        400
both RAW    obs-fold                         400
both RAW    obs-fold-tab                     400
both RAW    bare-lf                          400
both RAW    bare-lf-field                    400
both RAW    bare-lf-end                      400
both RAW    chunked                          411
both RAW    chunked-bare-lf                  411
both RAW    chunk-ext-trailer                411
ROWS
)

ROWS_RUN=0
CONN_RUN=0 # requests of the connection-level rows
ROWS=()     # "SOCKET METHOD PATH WANT" per (row, socket), PATH expanded
ROW_ARGS=() # the row's curl arguments or helper options, expanded, one string
load_table() {
	local sock method path want rest s
	while read -r sock method path want rest; do
		case $sock in '' | '#'*) continue ;; esac
		case $sock in
		both) s="$ADMIN $WORK" ;;
		admin) s=$ADMIN ;;
		work) s=$WORK ;;
		*) fail "bad socket column '$sock'" ;;
		esac
		eval "path=\"$path\""
		for sock in $s; do
			ROWS+=("$sock $method $path $want")
			ROW_ARGS+=("$rest")
		done
	done <<<"$TABLE"
}

# check_row I GOT — GOT is what row I got; its body is in $T/out/I.
check_row() {
	local sock method path want plain got=$2
	read -r sock method path want <<<"${ROWS[$1]}"
	plain=${want%\*}
	[ "$got" = "$plain" ] ||
		fail "row '$method ${path:0:80} $want ${ROW_ARGS[$1]}' on $(basename "$sock"): got $got; body: $(head -c 300 "$T/out/$1" 2>/dev/null)"
	# the daemon's own errors are JSON, and say what went wrong
	if [ "$method" != RAW ] && [ "$plain" = "$want" ] && [ "${got:0:1}" -ge 4 ]; then
		local body='' re='^\{"error":\{"code":"[a-z_]+","message":"[^"]+'
		# builtins only: this runs for hundreds of rows
		read -r -d '' body <"$T/out/$1" || true
		[[ $body =~ $re ]] ||
			fail "row '$method ${path:0:80} $want': error body is not the daemon's JSON: $(head -c 300 "$T/out/$1")"
	fi
	ROWS_RUN=$((ROWS_RUN + 1))
}

# Every curl row of the table in one curl run (a process per request would
# spend most of the test starting curl), each on a fresh connection; then
# the raw rows, one hostile-client each.
run_table() {
	local sock method path want args=() all=() pids=() i got
	rm -rf "$T/out"
	mkdir "$T/out"
	for i in "${!ROWS[@]}"; do
		read -r sock method path want <<<"${ROWS[$i]}"
		[ "$method" = RAW ] && continue
		eval "args=(${ROW_ARGS[$i]})"
		[ ${#all[@]} -gt 0 ] && all+=(--next)
		all+=(-s -o "$T/out/$i" -w "$i %{http_code}\n" -H 'Connection: close' -H 'Expect:' --unix-socket "$sock" -X "$method"
			"${args[@]}" "http://secretd$path")
	done
	curl "${all[@]}" >"$T/codes" || true
	while read -r i got; do
		[ "$got" = 000 ] && got=closed
		check_row "$i" "$got"
	done <"$T/codes"
	# the raw rows all at once: several wait for the idle timeout
	for i in "${!ROWS[@]}"; do
		read -r sock method path want <<<"${ROWS[$i]}"
		[ "$method" = RAW ] || continue
		eval "args=(${ROW_ARGS[$i]})"
		payload "$path" >"$T/out/$i.in"
		"$HOSTILE_CLIENT" "$sock" send -w 4000 -o "$T/out/$i" "${args[@]}" <"$T/out/$i.in" >"$T/out/$i.got" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in "${!ROWS[@]}"; do
		read -r sock method path want <<<"${ROWS[$i]}"
		[ "$method" = RAW ] || continue
		read -r got <"$T/out/$i.got" || true
		got=${got// /,}
		# libmicrohttpd 0.9.75 writes its own error's header twice when it
		# finds the error after the headers: only its first status counts
		[ "${want%\*}" != "$want" ] && got=${got%%,*}
		check_row "$i" "$got"
	done
	[ "$ROWS_RUN" -eq $((${#ROWS[@]} * round)) ] || fail "round $round checked $ROWS_RUN rows of ${#ROWS[@]}"
}

# Connection-level rows: they need time or many sockets, not a request.
run_connection_rows() {
	local out holders=() sock
	# headers dribbled past the idle timeout (1 s) on the admin socket, and
	# the workload socket's whole connection limit held by idle clients …
	"$SLOW_CLIENT" "$ADMIN" 6 >"$T/slow" &
	holders+=($!)
	for _ in $(seq 1 "$MAXCONN"); do
		"$SLOW_CLIENT" "$WORK" 6 >>"$T/held" &
		holders+=($!)
	done
	# … the admin socket serves everyone else, three times its limit at
	# once: in turn (the excess waits in the listen backlog), none dropped
	expect_status 200 "$ADMIN" GET /v1/health
	out=$("$HOSTILE_CLIENT" "$ADMIN" flood $((MAXCONN * 3)) -w 8000)
	[ "$out" = "200=$((MAXCONN * 3)) closed=0 refused=0" ] || fail "flood on admin.sock: $out"
	# … and the full workload socket serves again once the idle timeout
	# has ended the holders
	out=$("$HOSTILE_CLIENT" "$WORK" flood 4 -w 8000)
	[ "$out" = "200=4 closed=0 refused=0" ] || fail "flood behind held connections: $out"
	wait "${holders[@]}"
	grep -q '^closed after' "$T/slow" || fail "slow headers on admin.sock: $(cat "$T/slow")"
	[ "$(grep -c '^closed after' "$T/held")" = "$MAXCONN" ] || fail "held connections: $(sort "$T/held" | uniq -c)"
	rm -f "$T/held"
	out=$("$HOSTILE_CLIENT" "$WORK" flood $((MAXCONN * 3)) -w 8000)
	[ "$out" = "200=$((MAXCONN * 3)) closed=0 refused=0" ] || fail "flood on workload.sock: $out"
	CONN_RUN=$((CONN_RUN + 4 + MAXCONN + MAXCONN * 6 + 4))
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }

load_table
N_ROWS=$(grep -cEv '^[[:space:]]*(#|$)' <<<"$TABLE")
[ "$N_ROWS" -ge 60 ] || fail "the table has $N_ROWS rows, fewer than 60"
declare -A RSS
for round in 1 2 3 4 5; do
	run_table
	run_connection_rows
	kill -0 "$DAEMON_PID" || fail "daemon died in round $round"
	RSS[$round]=$(rss_kb)
	echo "round $round: $((ROWS_RUN + CONN_RUN)) requests so far, VmRSS ${RSS[$round]} kB"
done

# --- hostile peers: any user names its binary, and root or a delegated
# user its cgroup, with bytes that are not UTF-8; whoami still answers JSON
containers_init
BAD=$(printf '\xff')
cp "$(command -v curl)" "$T/cu${BAD}rl"
chmod 0755 "$T/cu${BAD}rl"
# (the caller cannot write into $T: the shell keeps what it prints)
setpriv --reuid=65534 --regid=65534 --clear-groups "$T/cu${BAD}rl" -s -w '\n%{http_code}' \
	--unix-socket "$WORK" http://secretd/v1/whoami >"$T/out.txt" || true
sed '$d' "$T/out.txt" >"$T/body"
tail -n1 "$T/out.txt" >"$T/code"
[ "$(cat "$T/code")" = 200 ] || fail "whoami from a binary named with a non-UTF-8 byte: $(cat "$T/code") $(cat "$T/body")"
grep -q '"exe":"[^"]*cu\\\\xffrl"' "$T/body" || fail "exe not shown escaped: $(cat "$T/body")"
CT_DIRS+=("$CG/hostile-${BAD}-$$")
in_cgroup "/hostile-${BAD}-$$" 65534 no curl -s -w '\n%{http_code}' \
	--unix-socket "$WORK" http://secretd/v1/whoami >"$T/out.txt" || true
sed '$d' "$T/out.txt" >"$T/body"
tail -n1 "$T/out.txt" >"$T/code"
[ "$(cat "$T/code")" = 200 ] || fail "whoami from a non-UTF-8 cgroup: $(cat "$T/code") $(cat "$T/body")"
# (in_cgroup gives it a mount namespace of its own: not the host, "unknown")
grep -q '"identity":"unknown".*"cgroup":"/hostile-\\\\xff-' "$T/body" || fail "cgroup not shown escaped: $(cat "$T/body")"

# --- afterwards: still answering, same secrets, memory bounded --------------
expect_status 200 "$WORK" GET /v1/health
expect_status 200 "$ADMIN" GET /v1/status
grep -q '"secrets":3' "$T/body" || fail "secret count changed: $(cat "$T/body")"
for n in kept-a kept-b kept-c; do
	expect_status 200 "$ADMIN" GET "/v1/secrets/$n"
	cmp -s "$T/body" "$T/value-$n" || fail "secret $n changed under the table"
done
expect_status 200 "$ADMIN" GET /v1/secrets/kept-b/meta
grep -q '"version":2' "$T/body" || fail "kept-b lost its version: $(cat "$T/body")"
expect_status 404 "$ADMIN" GET /v1/secrets/hx
# three rounds of the whole table after round 2 may not cost more than
# 512 kB plus 5 % (allocator noise); a leak of even 1 kB per request would
# (3 rounds are over 1000 requests)
slack=$((512 + RSS[2] / 20))
# under ASan, its 1 MB quarantine and per-size caches fill over the first
# rounds (LeakSanitizer checks for leaks at exit instead)
[ "${SANITIZE:-}" = 1 ] && slack=$((slack + 2048))
[ "${RSS[5]}" -le $((RSS[2] + slack)) ] ||
	fail "RSS grew from ${RSS[2]} kB (round 2) to ${RSS[5]} kB (round 5), more than $slack kB"
stop_daemon
echo "t-hostile: ok — $N_ROWS table rows on both sockets, $((ROWS_RUN + CONN_RUN)) requests in 5 rounds," \
	"VmRSS round 2 ${RSS[2]} kB, round 5 ${RSS[5]} kB"
