# t-runc-wrapper.sh — secretd-runc, Docker's runtime, against a stand-in
# runc that records what it was given: on create the bundle's config.json
# gets the OCI hook once (its other hooks and its mode kept, written whole),
# with --config from SECRETD_CONFIG; every argument reaches runc unchanged;
# other commands leave the bundle alone; a bundle that cannot be edited, or
# a hook that is not there, stops the create before runc runs.
source "$(dirname "$0")/lib.sh"
WRAPPER=$(dirname "$SECRETCTL")/secretd-runc
[ -x "$WRAPPER" ] || fail "no runc wrapper at $WRAPPER"

cat >"$T/runc" <<SH
#!/bin/sh
printf '%s\n' "\$*" >"$T/argv"
SH
chmod 0755 "$T/runc"
mkdir -p "$T/b" "$T/b2"
printf '{"ociVersion":"1.0.2","root":{"path":"rootfs"},"hooks":{"prestart":[{"path":"/bin/true"}]}}' >"$T/b/config.json"
chmod 0640 "$T/b/config.json"
cp "$T/b/config.json" "$T/b2/config.json"
export SECRETD_RUNC=$T/runc
ln -sf /bin/true "$T/hook"
export SECRETD_OCI_HOOK=$T/hook SECRETD_CONFIG=$T/secretd.json

wrap() { rm -f "$T/argv"; expect_exit "$1" "$WRAPPER" "${@:2}"; }
hooks_of() { jq -c '[.hooks.createRuntime[] | [.path, .args, .timeout]]' "$1"; }
WANT="[[\"$T/hook\",[\"secretd-oci-hook\",\"--config\",\"$T/secretd.json\"],10]]"

# docker's own call: every global option with its value, the bundle by flag
ARGS=(--root /run/docker/runtime-runc/moby --log /x/log.json --log-format json create --bundle "$T/b" --pid-file /x/init.pid cid1)
wrap 0 "${ARGS[@]}"
[ "$(cat "$T/argv")" = "${ARGS[*]}" ] || fail "runc got: $(cat "$T/argv")"
[ "$(hooks_of "$T/b/config.json")" = "$WANT" ] || fail "hook added: $(cat "$T/b/config.json")"
[ "$(jq -c .hooks.prestart "$T/b/config.json")" = '[{"path":"/bin/true"}]' ] || fail "prestart hooks lost"
[ "$(jq -r .root.path "$T/b/config.json")" = rootfs ] || fail "the rest of config.json changed"
[ "$(mode_of "$T/b/config.json")" = 640 ] || fail "mode of config.json: $(mode_of "$T/b/config.json")"
[ "$(ls -A "$T/b")" = config.json ] || fail "temp files left: $(ls -A "$T/b")"
# again (a retried create): still once
wrap 0 "${ARGS[@]}"
[ "$(hooks_of "$T/b/config.json")" = "$WANT" ] || fail "hook added twice: $(cat "$T/b/config.json")"
# --bundle=DIR and -b DIR, and the current directory when none is given
sum=$(sha256sum <"$T/b/config.json")
for form in "--bundle=$T/b2" "-b $T/b2"; do
	# shellcheck disable=SC2086
	wrap 0 create $form cid2
	[ "$(hooks_of "$T/b2/config.json")" = "$WANT" ] || fail "$form: $(cat "$T/b2/config.json")"
	printf '{"ociVersion":"1.0.2"}' >"$T/b2/config.json"
done
(cd "$T/b2" && "$WRAPPER" create cid3) || fail "create in the bundle directory"
[ "$(hooks_of "$T/b2/config.json")" = "$WANT" ] || fail "bundle from cwd: $(cat "$T/b2/config.json")"
# other commands: passed on, the bundle untouched
for cmd in "start cid1" "state cid1" "kill cid1 9" "delete --force cid1" "--version"; do
	# shellcheck disable=SC2086
	wrap 0 $cmd
	[ "$(cat "$T/argv")" = "$cmd" ] || fail "$cmd reached runc as: $(cat "$T/argv")"
done
[ "$(sha256sum <"$T/b/config.json")" = "$sum" ] || fail "a non-create command changed the bundle"
# without SECRETD_CONFIG the hook gets no --config (it reads /etc/secretd)
printf '{"ociVersion":"1.0.2"}' >"$T/b2/config.json"
SECRETD_CONFIG= wrap 0 create --bundle "$T/b2" cid4
[ "$(jq -c '.hooks.createRuntime[0].args' "$T/b2/config.json")" = '["secretd-oci-hook"]' ] ||
	fail "args without SECRETD_CONFIG: $(cat "$T/b2/config.json")"

# fail closed: no config.json, not JSON, no hook; runc never runs
mkdir -p "$T/empty"
wrap 1 create --bundle "$T/empty" cid5
expect_in "secretd-runc: cannot add secretd's hook to $T/empty/config.json: No such file or directory" "$T/err"
[ ! -e "$T/argv" ] || fail "runc ran for a bundle without config.json"
printf '{"ociVersion":' >"$T/b2/config.json"
wrap 1 create --bundle "$T/b2" cid6
expect_in "not valid JSON; the container is not created" "$T/err"
[ ! -e "$T/argv" ] || fail "runc ran for a broken config.json"
printf '{"ociVersion":"1.0.2"}' >"$T/b2/config.json"
SECRETD_OCI_HOOK=$T/no-hook wrap 1 create --bundle "$T/b2" cid7
expect_in "secretd-runc: secretd's hook $T/no-hook: No such file or directory" "$T/err"
[ ! -e "$T/argv" ] || fail "runc ran without the hook"
[ "$(cat "$T/b2/config.json")" = '{"ociVersion":"1.0.2"}' ] || fail "the bundle changed on a refusal"
# a SECRETD_RUNC that is the wrapper itself is refused, not exec'd forever
SECRETD_RUNC=$WRAPPER wrap 127 state cid1
expect_in "is this wrapper, not runc" "$T/err"
wrap 0 --help
grep -q '^usage: secretd-runc' "$T/out" || fail "--help: $(cat "$T/out")"
echo "t-runc-wrapper: ok"
