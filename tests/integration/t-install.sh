# t-install.sh — `make install` honours PREFIX and DESTDIR and installs
# working binaries, the man pages secretctl(1) and secretd(8) and the bash
# completion; the pages render without a groff warning and say what the
# programs' --help says, word for word; the completion offers commands,
# options, secret names and lease ids; `make uninstall` takes it all away.
source "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$top" install PREFIX=/usr DESTDIR="$T/root" >"$T/make.log" 2>&1 || fail "make install: $(cat "$T/make.log")"
for f in usr/sbin/secretd usr/bin/secretctl usr/bin/secretctl-static usr/libexec/secretd/secretd-oci-hook \
	usr/libexec/secretd/secretd-runc; do
	[ -x "$T/root/$f" ] || fail "$f not installed executable"
	[ "$(mode_of "$T/root/$f")" = 755 ] || fail "$f mode $(mode_of "$T/root/$f")"
done
[ -f "$T/root/etc/secretd/secretd.json.example" ] || fail "example config not installed"
# the OCI hook's entry where Debian's podman reads hooks, pointing at the
# installed hook, run at createRuntime for every container (the policy
# decides which get anything)
hooks=$T/root/usr/share/containers/oci/hooks.d/secretd.json
[ "$(mode_of "$hooks")" = 644 ] || fail "hooks.d entry missing or mode $(mode_of "$hooks" 2>&1)"
[ "$(jq -r '.version, .hook.path, .hook.args[0], .when.always, (.stages | join(","))' "$hooks" | tr '\n' ' ')" = \
	"1.0.0 /usr/libexec/secretd/secretd-oci-hook secretd-oci-hook true createRuntime " ] ||
	fail "hooks.d entry: $(cat "$hooks")"
"$T/root/usr/libexec/secretd/secretd-oci-hook" --help | grep -q '^usage: secretd-oci-hook' || fail "installed hook does not run"
"$T/root/usr/libexec/secretd/secretd-runc" --help | grep -q '^usage: secretd-runc' || fail "installed wrapper does not run"
[ -f "$T/root/usr/lib/tmpfiles.d/secretd.conf" ] || fail "tmpfiles snippet not installed"
# (t-systemd.sh installs for /usr/local: each PREFIX gets its own unit)
grep -q '^ExecStart=/usr/sbin/secretd ' "$T/root/usr/lib/systemd/system/secretd.service" ||
	fail "the unit does not run /usr/sbin/secretd: $(grep ExecStart= "$T/root/usr/lib/systemd/system/secretd.service")"
"$T/root/usr/sbin/secretd" --version | grep -q '^secretd ' || fail "installed secretd does not run"
"$T/root/usr/bin/secretctl" --help | grep -q '^Usage: secretctl' || fail "installed secretctl does not run"
[ -z "$(find "$T/root" -path "$T/root/usr" -prune -o -path "$T/root/etc" -prune -o -print | grep -v "^$T/root\$")" ] ||
	fail "files installed outside DESTDIR/usr and DESTDIR/etc"

man1=$T/root/usr/share/man/man1/secretctl.1
man8=$T/root/usr/share/man/man8/secretd.8
comp=$T/root/usr/share/bash-completion/completions/secretctl
for f in "$man1" "$man8" "$comp"; do
	[ -f "$f" ] || fail "${f#"$T/root/"} not installed"
	[ "$(mode_of "$f")" = 644 ] || fail "${f#"$T/root/"} mode $(mode_of "$f")"
done

# --- the man pages -----------------------------------------------------------

# help_chunks: the pieces of a --help text on stdin that the man page must
# hold word for word: usage lines, option names, option texts, and the
# sentences of the prose.  The overview of commands is left out (each
# command's own help is checked).
help_chunks() {
	awk '
	function flush() { if (cur != "") print cur; cur = "" }
	function pieces(s,   n, a, i) { n = split(s, a, /  +/); for (i = 1; i <= n; i++) print a[i] }
	NR == 1 && sub(/^Usage: /, "") { pieces($0); usage = 1; next }
	usage && /^ / { sub(/^ +/, ""); pieces($0); next }
	{ usage = 0 }
	/^$/ { flush(); skip = 0; next }
	/^[^ ].*:$/ { flush(); skip = ($0 != "Options:"); next }
	skip { next }
	/^ +-/ { flush(); sub(/^ +/, ""); n = split($0, a, /  +/); print a[1]
	         cur = a[2]; for (i = 3; i <= n; i++) cur = cur " " a[i]; next }
	{ sub(/^ +/, ""); cur = (cur == "" ? $0 : cur " " $0) }
	END { flush() }' | sed 's/\.  */.\n/g' | tr -s ' ' | sed 's/^ //; s/ $//' | grep -v '^$'
}

# man_text PAGE: the page as plain text on one line (no line breaks, so no
# hyphenation, and runs of spaces squeezed).
man_text() {
	LC_ALL=C groff -man -Tascii -P-cbou -rLL=4000n "$1" 2>/dev/null | tr -s ' \t\n' '   '
}

# expect_page_says PAGE WHAT: the page ($T/page.txt) holds every chunk of
# the help text in $T/help.txt, which WHAT printed.
expect_page_says() {
	help_chunks <"$T/help.txt" >"$T/chunks" || true
	[ -s "$T/chunks" ] || fail "nothing to compare in the output of '$2'"
	awk 'NR == FNR { page = page $0; next } !index(page, $0) { print }' "$T/page.txt" "$T/chunks" >"$T/missing"
	[ ! -s "$T/missing" ] || fail "${1##*/} lacks, word for word, from '$2': $(sed "s/.*/'&'/" "$T/missing")"
}

# The commands in `secretctl --help`, and each command's long options.
commands() { "$SECRETCTL" --help | awk '/^[^ ].*:$/ { on = ($0 ~ /^Commands/); next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'; }
long_options() { grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'; }

if command -v man >/dev/null && command -v groff >/dev/null; then
	for page in "$man1" "$man8"; do
		LC_ALL=C MANWIDTH=80 man --warnings -l "$page" >"$T/man.out" 2>"$T/man.err" || fail "man -l ${page##*/}: $(cat "$T/man.err")"
		[ ! -s "$T/man.err" ] || fail "man -l ${page##*/} warns: $(cat "$T/man.err")"
		LC_ALL=C groff -man -Tutf8 -ww -z "$page" 2>"$T/man.err" || fail "groff ${page##*/}: $(cat "$T/man.err")"
		[ ! -s "$T/man.err" ] || fail "groff -ww ${page##*/} warns: $(cat "$T/man.err")"
		grep -q 'SYNOPSIS' "$T/man.out" || fail "man -l ${page##*/} rendered no SYNOPSIS"
	done

	man_text "$man8" >"$T/page.txt"
	"$SECRETD" --help >"$T/help.txt"
	expect_page_says "$man8" "secretd --help"

	man_text "$man1" >"$T/page.txt"
	"$SECRETCTL" --help >"$T/help.txt"
	expect_page_says "$man1" "secretctl --help"
	[ -n "$(commands)" ] || fail "no commands in 'secretctl --help'"
	for cmd in $(commands); do
		# (the stub client before issue 6 has no help per command)
		"$SECRETCTL" "$cmd" --help >"$T/help.txt" 2>/dev/null || continue
		sed -i '1s/^Usage: secretctl /Usage: /' "$T/help.txt"
		expect_page_says "$man1" "secretctl $cmd --help"
	done
else
	echo "t-install: man or groff is missing (.ci/deps installs them): man pages not rendered"
fi

# --- the bash completion -------------------------------------------------------

# offers WORD...: what the completion offers for the last WORD, one a line,
# after bash has sourced the installed script, as bash-completion would.
offers() {
	bash -c 'source "$1" && shift && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) &&
		COMP_LINE="$*" && COMP_POINT=${#COMP_LINE} && _secretctl && printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$comp" "$@" 2>"$T/comp.err" || fail "completion of '$*' failed: $(cat "$T/comp.err")"
	[ ! -s "$T/comp.err" ] || fail "completion of '$*' printed: $(cat "$T/comp.err")"
}
expect_offers() {
	local want=$1 got
	shift
	got=$(offers "$@" | paste -sd' ')
	[ "$got" = "$want" ] || fail "completion of '$*' offers '$got', expected '$want'"
}

bash -c 'source "$1" && complete -p secretctl' _ "$comp" >"$T/offers" || fail "sourcing the completion failed"
grep -q -- '-F _secretctl' "$T/offers" || fail "the completion does not register itself for secretctl"
expect_offers put secretctl pu
expect_offers --ttl secretctl lease --t
expect_offers "renew revoke reload" secretctl re
# after lease's "--": a command to run, then its arguments (files)
offers secretctl lease --keep -- ech | grep -qx echo || fail "no command offered after 'lease --keep --'"
expect_offers "$T/root/usr/share/bash-completion" secretctl lease --keep -- cat "$T/root/usr/share/bash-comp"
expect_offers --socket secretctl --so
expect_offers "base64 hex raw" secretctl rotate db --encoding ''
expect_offers "$T/root/usr/share/bash-completion" secretctl get db -o "$T/root/usr/share/bash-comp"
expect_offers "--json" secretctl --socket "$T/no.sock" --j
offers secretctl '' >"$T/offers"
for cmd in $(commands); do
	grep -qx "$cmd" "$T/offers" || fail "the completion does not offer the command '$cmd'"
done
for opt in $("$SECRETCTL" --help | long_options); do
	offers secretctl "${opt:0:3}" >"$T/offers"
	grep -qx -- "$opt" "$T/offers" || fail "the completion does not offer '$opt'"
done
for cmd in $(commands); do
	"$SECRETCTL" "$cmd" --help >"$T/help.txt" 2>/dev/null || continue
	for opt in $(long_options <"$T/help.txt"); do
		offers secretctl "$cmd" "${opt:0:3}" >"$T/offers"
		grep -qx -- "$opt" "$T/offers" || fail "the completion does not offer '$opt' after '$cmd'"
	done
done

# Without a daemon: no names, no ids, not a word on the terminal.
SECRETD_SOCKET=$T/no.sock expect_offers "" "$SECRETCTL" get ''
SECRETD_SOCKET=$T/no.sock expect_offers "" "$SECRETCTL" revoke ''
expect_offers "" "$SECRETCTL" --socket "$T/no.sock" lease ''

# With one: secret names for admin commands, granted names for lease, lease
# ids for renew and revoke, through the socket given on the command line.
# (The stub client before issue 6 has no commands to ask with.)
if "$SECRETCTL" ls --help >/dev/null 2>&1; then
	write_config '"admin": { "uids": [0, '"$(id -u)"'] },
  "workloads": [ { "name": "me", "match": { "uids": ['"$(id -u)"'] },
                   "secrets": [ "db", { "name": "tls-key", "file": "tls.key" } ] } ]'
	expect_exit 0 "$SECRETD" init --config "$T/secretd.json"
	start_daemon --config "$T/secretd.json"
	export SECRETD_SOCKET=$T/run/admin.sock
	printf 'v' | "$SECRETCTL" put db >/dev/null || fail "put db"
	printf 'v' | "$SECRETCTL" put dbx >/dev/null || fail "put dbx"
	printf 'v' | "$SECRETCTL" put other >/dev/null || fail "put other"
	expect_offers "db dbx" "$SECRETCTL" get d
	expect_offers "db dbx other" "$SECRETCTL" rm ''
	expect_offers "" "$SECRETCTL" info db ''
	expect_offers "db tls-key" "$SECRETCTL" lease ''
	"$SECRETCTL" --json lease db >"$T/lease.json" || fail "lease db"
	id=$(sed -n 's/^ *"id": *"\([0-9a-f]*\)".*/\1/p' "$T/lease.json")
	[ -n "$id" ] || fail "no lease id in $(cat "$T/lease.json")"
	expect_offers "$id" "$SECRETCTL" revoke ''
	expect_offers "$id" "$SECRETCTL" renew --ttl 1h ''
	SECRETD_SOCKET=$T/no.sock expect_offers "db dbx" "$SECRETCTL" --socket "$T/run/admin.sock" info d
	"$SECRETCTL" revoke "$id" >/dev/null || fail "revoke $id"
	unset SECRETD_SOCKET
	stop_daemon
else
	echo "t-install: secretctl has no commands yet: names and ids not completed"
fi

make -s -C "$top" uninstall PREFIX=/usr DESTDIR="$T/root" >"$T/make.log" 2>&1 || fail "make uninstall"
[ -z "$(find "$T/root" -type f)" ] || fail "uninstall left: $(find "$T/root" -type f)"
[ ! -e "$T/root/usr/share/doc/secretd" ] || fail "uninstall left the empty doc directory"
[ ! -e "$T/root/usr/libexec/secretd" ] || fail "uninstall left the empty libexec directory"
echo "t-install: ok"
