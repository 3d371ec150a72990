#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots the nested test host under QEMU (TCG) and relays the Linux
# end-to-end results it writes on its results line.
#
#   run.sh ARCH.conf KERNEL INITRAMFS OUTDIR [PATTERN...]
#   run.sh --shell ARCH.conf KERNEL INITRAMFS
#
# --shell boots the test host with a shell on this terminal instead of the
# suite (Ctrl-A x quits QEMU).
#
# TESTHOST_MEMORY (MiB, default 3072), TESTHOST_CPUS (default 2),
# TESTHOST_STALL (seconds without a result line before the test host
# counts as hung, default 900), TESTHOST_TIMEOUT (seconds for the whole
# run, default 3600: a busy machine slows the emulation down a lot),
# TESTHOST_BOOTS (test host boots at most, default 4), TESTHOST_VARIANT
# (one variant only).
#
# The test host is emulated: should its kernel die or hang (a fault of
# the emulation, not of the VMM, which runs as a process in it), the cases
# that had not finished run again in a fresh test host, up to
# TESTHOST_BOOTS boots in all. Each boot's console log is
# OUTDIR/console-N.log and its results OUTDIR/results-N.log. Exits 0 only
# when every case passed; the last line printed is "N passed, N failed".
set -u

shell=0
if [ "${1:-}" = --shell ]; then
	shell=1
	shift
fi
conf=$1 kernel=$2 initramfs=$3
here=$(cd "$(dirname "$0")" && pwd)
suite=$here/../../tests/linux
. "$conf"
memory=${TESTHOST_MEMORY:-3072}
cpus=${TESTHOST_CPUS:-2}
if [ $shell = 1 ]; then
	# shellcheck disable=SC2086 # QEMU_MACHINE is a list of options
	exec "$QEMU" $QEMU_MACHINE -smp "$cpus" -m "$memory" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$kernel" -initrd "$initramfs" \
		-append "console=$CONSOLE_TTY panic=-1 quiet testhost.shell" \
		-serial mon:stdio
fi
out=$4
shift 4
limit=${TESTHOST_TIMEOUT:-3600}
stall=${TESTHOST_STALL:-900}
boots=${TESTHOST_BOOTS:-4}
variant=${TESTHOST_VARIANT:-}

mkdir -p "$out"
rm -f "$out"/console-*.log "$out"/results-*.log "$out"/qemu-*.err
# The cases to run, by name: a boot after a crash runs exactly the rest.
"$suite/run.sh" --list ${variant:+--variant "$variant"} "$@" > "$out/cases" ||
	exit 1
if [ ! -s "$out/cases" ]; then
	echo "test host: no case matches '$*'"
	echo "0 passed, 1 failed"
	exit 1
fi
cp "$out/cases" "$out/todo"
: > "$out/done"

# boot N: runs the cases in $out/todo in a fresh test host; true when the
# test host reached the end of the suite.
boot() {
	console=$out/console-$1.log results=$out/results-$1.log
	: > "$results"
	append="console=$CONSOLE_TTY panic=-1 quiet testhost.results=$RESULTS_TTY"
	[ -z "$variant" ] || append="$append testhost.variant=$variant"
	# shellcheck disable=SC2086 # QEMU_MACHINE is a list of options
	"$QEMU" $QEMU_MACHINE -smp "$cpus" -m "$memory" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$kernel" -initrd "$initramfs" -append "$append" \
		-fw_cfg "name=opt/vmm/cases,file=$out/todo" \
		-serial "file:$console" -serial "file:$results" \
		< /dev/null 2> "$out/qemu-$1.err" &
	qemu=$!
	shown=0 quiet=0
	while :; do
		alive=0
		kill -0 "$qemu" 2>/dev/null && alive=1
		lines=$(tr -d '\r' < "$results" | wc -l)
		if [ "$lines" -gt "$shown" ]; then
			tr -d '\r' < "$results" | sed -n "$((shown + 1)),${lines}p" |
				grep -Ev '^# test host: exit |^[0-9]+ passed, [0-9]+ failed$'
			tr -d '\r' < "$results" | sed -n "$((shown + 1)),${lines}p" |
				sed -n 's/^\(ok\|FAIL\) \([^ :]*\).*/\2/p' >> "$out/done"
			shown=$lines quiet=0
		fi
		[ $alive = 1 ] || break
		if [ $((quiet += 1)) -gt "$stall" ] ||
			[ $(($(date +%s) - start)) -gt "$limit" ]; then
			echo "# test host: no result for $stall s (or past $limit s in all); stopping it"
			kill "$qemu"
			sleep 2
			kill -9 "$qemu" 2>/dev/null
			break
		fi
		sleep 1
	done
	wait "$qemu" 2>/dev/null
	grep -q '^# test host: exit ' "$results"
}

echo "# test host: $QEMU $QEMU_MACHINE -smp $cpus -m $memory, kernel $(basename "$kernel")"
start=$(date +%s)
n=1
while :; do
	if boot $n; then
		break
	fi
	grep -vxF -f "$out/done" "$out/cases" > "$out/todo"
	# Cases run in the order --list gives: the first left was running.
	echo "# test host: boot $n ended during $(head -n 1 "$out/todo"); its console:"
	grep -v "TCG doesn't support" "$out/qemu-$n.err" | sed 's/^/    qemu: /'
	tail -n 30 "$console" | tr -d '\r' | sed 's/^/    | /'
	[ -s "$out/todo" ] || break
	if [ $n -ge "$boots" ] || [ $(($(date +%s) - start)) -gt "$limit" ]; then
		echo "FAIL $(head -n 1 "$out/todo"): the test host ended while it ran"
		tail -n +2 "$out/todo" | while read -r c; do
			echo "FAIL $c: not run: the test host stopped before it"
		done
		break
	fi
	n=$((n + 1))
	echo "# test host: boot $n for the $(wc -l < "$out/todo") cases left"
done
echo "# test host: $(($(date +%s) - start)) s in all, $n boot(s)"
passed=$(cat "$out"/results-*.log | tr -d '\r' | grep -c '^ok ')
failed=$(cat "$out"/results-*.log | tr -d '\r' | grep -c '^FAIL ')
failed=$((failed + $(grep -vxF -f "$out/done" "$out/cases" | wc -l)))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
