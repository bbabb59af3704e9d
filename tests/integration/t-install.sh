# t-install.sh — `make install` honours PREFIX and DESTDIR and installs
# working binaries; `make uninstall` takes them away again.
source "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$top" install PREFIX=/usr DESTDIR="$T/root" >"$T/make.log" 2>&1 || fail "make install: $(cat "$T/make.log")"
for f in usr/sbin/secretd usr/bin/secretctl; do
	[ -x "$T/root/$f" ] || fail "$f not installed executable"
	[ "$(mode_of "$T/root/$f")" = 755 ] || fail "$f mode $(mode_of "$T/root/$f")"
done
[ -f "$T/root/etc/secretd/secretd.json.example" ] || fail "example config not installed"
[ -f "$T/root/usr/lib/tmpfiles.d/secretd.conf" ] || fail "tmpfiles snippet not installed"
"$T/root/usr/sbin/secretd" --version | grep -q '^secretd ' || fail "installed secretd does not run"
"$T/root/usr/bin/secretctl" --help | grep -q '^Usage: secretctl' || fail "installed secretctl does not run"
[ -z "$(find "$T/root" -path "$T/root/usr" -prune -o -path "$T/root/etc" -prune -o -print | grep -v "^$T/root\$")" ] ||
	fail "files installed outside DESTDIR/usr and DESTDIR/etc"

make -s -C "$top" uninstall PREFIX=/usr DESTDIR="$T/root" >"$T/make.log" 2>&1 || fail "make uninstall"
[ -z "$(find "$T/root" -type f)" ] || fail "uninstall left: $(find "$T/root" -type f)"
echo "t-install: ok"
