#!/bin/sh
# make install and make uninstall, and the unit they install:
#   - DESTDIR staging puts exactly the promised files under PREFIX, and
#     uninstall takes them all back;
#   - the installed programs run, their man pages match their --help; the
#     guest agent is static;
#   - systemd accepts the unit, and its own command line, with /etc/vmm
#     and /run/vmm moved to a scratch directory, boots a VM from a CreateVM
#     config: the guest runs, its counters land in the metrics file, its
#     log is JSON, and the process ends with the VM.
#
#   tests/dist/install.sh BUILD_DIR IMAGES_DIR
set -u

build=$1 images=$2
tmp=$(mktemp -d /tmp/vmm-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

pass() { checks=$((checks + 1)); echo "PASS install: $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL install: $1"; }
check() { # check WHAT COMMAND...
	what=$1
	shift
	if "$@" > "$tmp/out" 2>&1; then pass "$what"; else
		fail "$what: $(head -c 2000 "$tmp/out")"; fi
}

stage=$tmp/stage
${MAKE:-make} -s install PREFIX=/usr DESTDIR="$stage" > "$tmp/make.out" 2>&1 ||
	{ cat "$tmp/make.out"; echo "FAIL install: make install failed"; exit 1; }

# Exactly these files, nothing else anywhere under DESTDIR.
{
	for f in bin/vmm bin/vmmctl libexec/vmm/guest-agent \
		 share/man/man1/vmm.1 share/man/man1/vmmctl.1 \
		 share/man/man8/guest-agent.8 share/doc/vmm/README.md \
		 lib/systemd/system/vmm@.service; do
		echo "/usr/$f"
	done
	for f in docs/*.md; do
		echo "/usr/share/doc/vmm/$f"
	done
} | sort > "$tmp/want"
(cd "$stage" && find . ! -type d | sed 's|^\.||' | sort) > "$tmp/got"
check "DESTDIR holds exactly the promised files" diff -u "$tmp/want" "$tmp/got"
check "the programs are executable" test -x "$stage/usr/bin/vmm" -a \
	-x "$stage/usr/bin/vmmctl" -a -x "$stage/usr/libexec/vmm/guest-agent"
check "the guest agent is static" sh -c \
	"! readelf -l '$stage/usr/libexec/vmm/guest-agent' | grep -q INTERP"
check "the installed vmm runs" sh -c \
	"'$stage/usr/bin/vmm' --version | grep -qx 'vmm [0-9.]*'"
check "the installed vmmctl runs" "$stage/usr/bin/vmmctl" --help
check "the installed man pages match the installed programs' --help" \
	"$(dirname "$0")/man.sh" --installed "$stage/usr"
check "the unit runs PREFIX's vmm" grep -q \
	'^ExecStart=/usr/bin/vmm --config /etc/vmm/%i.json' \
	"$stage/usr/lib/systemd/system/vmm@.service"
check "no placeholder is left in the unit" sh -c \
	"! grep '@[A-Z]*@' '$stage/usr/lib/systemd/system/vmm@.service'"
${MAKE:-make} -s uninstall PREFIX=/usr DESTDIR="$stage" > "$tmp/make.out" 2>&1
check "uninstall removes every file" sh -c "[ -z \"\$(find '$stage' ! -type d)\" ]"
check "uninstall removes the package's own directories" sh -c \
	"[ ! -e '$stage/usr/libexec/vmm' ] && [ ! -e '$stage/usr/share/doc/vmm' ]"

# A real prefix, so systemd finds what the unit names.
prefix=$tmp/prefix
${MAKE:-make} -s install PREFIX="$prefix" > "$tmp/make.out" 2>&1 ||
	{ cat "$tmp/make.out"; echo "FAIL install: make install PREFIX failed"; exit 1; }
unit=$prefix/lib/systemd/system/vmm@.service
mkdir -p "$tmp/units"
cp "$unit" "$tmp/units/vmm@check.service"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no "$tmp/units/vmm@check.service" \
		> "$tmp/verify" 2>&1
	if [ $? -eq 0 ] && [ ! -s "$tmp/verify" ]; then
		pass "systemd-analyze verify accepts the unit"
	else
		fail "systemd-analyze verify: $(cat "$tmp/verify")"
	fi
else
	fail "systemd-analyze is missing (Debian package systemd)"
fi

# The unit's own command line, as systemd would run it for instance e2e.
mkdir -p "$tmp/etc" "$tmp/run"
cat > "$tmp/etc/e2e.json" <<JSON
{"log_id": "e2e", "config": {
 "memory_config": {"memory_mb": 64},
 "direct_boot": {"kernel_path": "$images/testguest.bzImage",
                 "kernel_cmdline": "console=ttyS0 testguest.mem=64"},
 "extra_data": {"serial_0": "stdio"}}}
JSON
exec_start=$("$(dirname "$0")/unit-command.sh" "$unit" e2e "$tmp/etc" "$tmp/run")
# shellcheck disable=SC2086
timeout 120 $exec_start > "$tmp/stdout" 2> "$tmp/stderr" < /dev/null
status=$?
if [ $status -eq 0 ]; then
	pass "the unit's command line boots the VM and ends with it"
else
	fail "the unit's command line exited $status: $(cat "$tmp/stderr")"
fi
check "the guest ran (COM1 in the journal)" grep -q \
	"testguest: 0 of 6 checks failed" "$tmp/stdout"
check "the metrics file holds the guest's vCPU exits" grep -q \
	'^vmm_vcpu_exits_total{vcpu="0",reason="io"} [1-9]' "$tmp/run/e2e.prom"
check "the log is JSON, one object per line" sh -c \
	"grep -q '\"message\":\"booting ' '$tmp/stderr' &&
	 ! grep -v '^{\"time\":\".*\"level\":\".*\"component\":\".*\"message\":\".*\"}\$' '$tmp/stderr'"
check "the control socket went with the process" test ! -e "$tmp/run/e2e.sock"
${MAKE:-make} -s uninstall PREFIX="$prefix" > "$tmp/make.out" 2>&1

echo "install: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
