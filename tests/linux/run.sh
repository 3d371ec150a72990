#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the Linux end-to-end cases: Debian's stock kernel and drivers in VMs
# of the VMM, driven through the guest agent, the control socket and the
# devices' host ends. Runs wherever /dev/kvm has hardware virtualization:
# directly on a VT-x/AMD-V host, or inside the nested test host
# (images/testhost/).
#
#   run.sh [--list] [--variant NAME] [PATTERN...]
#
# A PATTERN selects cases by name: a group ("blk"), a case
# ("blk.discard_punches_holes") or a shell glob ("vsock.exec_*"); several
# may be given, separated by spaces or commas. Names of variants other than the first carry
# "@VARIANT" ("blk.direct_write@pci").
#
# Groups marked "# manual" (benchmarks) run only when a pattern names
# them; what a case writes to $CASE_STATE/report is printed after its
# result line. Groups marked "# last" run after all others.
#
# Environment: VMM, VMMCTL, BRIDGE_CLIENT, PEER_CHECK, BENCH_SNAPSHOT
# (default: build/...), IMAGES (default build/images/linux),
# LINUX_MIN_IMAGES (default build/images/linux-min), TEST_WORK (default: a
# new directory under /tmp, removed afterwards unless KEEP_WORK=1).
#
# Prints one line per case ("ok NAME (S s)" or "FAIL NAME (S s): why" with
# the guest's serial log and the VMM's output), a "# group" line with each
# group's time, and ends with exactly one line "N passed, N failed". Exits
# 1 when a case failed.
set -u

SUITE=$(cd "$(dirname "$0")" && pwd)
VMM=${VMM:-build/vmm}
VMMCTL=${VMMCTL:-build/vmmctl}
BRIDGE_CLIENT=${BRIDGE_CLIENT:-build/bridge-client}
PEER_CHECK=${PEER_CHECK:-build/agent-peer-check}
BENCH_SNAPSHOT=${BENCH_SNAPSHOT:-build/bench-snapshot}
IMAGES=${IMAGES:-build/images/linux}
LINUX_MIN_IMAGES=${LINUX_MIN_IMAGES:-build/images/linux-min}
LOG_LINES=${LOG_LINES:-40}

. "$SUITE/lib.sh"

list=0 only_variant='' patterns=''
while [ $# -gt 0 ]; do
	case $1 in
	--list) list=1 ;;
	--variant) only_variant=$2; shift ;;
	-h | --help) sed -n '3,28s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) patterns="$patterns $(echo "$1" | tr ',' ' ')" ;;
	esac
	shift
done

for v in VMM VMMCTL BRIDGE_CLIENT PEER_CHECK BENCH_SNAPSHOT IMAGES \
	LINUX_MIN_IMAGES; do
	eval "p=\$$v"
	case $p in /*) ;; *) p=$(pwd)/$p ;; esac
	eval "$v=\$p"
done
export VMM VMMCTL BRIDGE_CLIENT PEER_CHECK BENCH_SNAPSHOT IMAGES \
	LINUX_MIN_IMAGES

# NAME matches when no pattern was given or one pattern names it, its group
# or (with glob characters) matches it.
selected() {
	[ -z "$patterns" ] && return 0
	for pat in $patterns; do
		# shellcheck disable=SC2254 # patterns are globs on purpose
		case $1 in
		$pat | $pat@* | ${pat}.* ) return 0 ;;
		esac
	done
	return 1
}

# The cases of a group file, in file order.
cases_of() {
	sed -n 's/^case_\([a-z0-9_]*\)() *{.*/\1/p' "$1"
}

# The cases to run of a group file: those selected and not skipped by the
# variant, and in a group marked "# sequential" (each case a step after the
# one before) every case up to the last one selected.
# chosen_cases FILE GROUP VARIANT SUFFIX
chosen_cases() {
	_all=$(cases_of "$1") _chosen='' _last=''
	for _c in $_all; do
		selected "$2.$_c$4" && ! skipped "$3" "$2.$_c" && _last=$_c
	done
	[ -n "$_last" ] || return 0
	for _c in $_all; do
		if grep -qx '# sequential' "$1"; then
			_chosen="$_chosen $_c"
		elif selected "$2.$_c$4" && ! skipped "$3" "$2.$_c"; then
			_chosen="$_chosen $_c"
		fi
		[ "$_c" != "$_last" ] || break
	done
	echo $_chosen
}

# group_runs_here FILE VARIANT: groups may name the one architecture they
# run on ("# arch: x86_64") and the variants they run in ("# variants:
# pci"). A group marked "# extra" (one make test-linux-extra runs) or
# "# manual" (a benchmark) runs only when a pattern names it.
group_runs_here() {
	arch=$(sed -n 's/^# arch: *//p' "$1")
	[ -z "$arch" ] || [ "$arch" = "$(uname -m)" ] || return 1
	only=$(sed -n 's/^# variants: *//p' "$1")
	[ -z "$only" ] || case " $only " in *" $2 "*) ;; *) return 1 ;; esac
	[ -n "$patterns" ] || ! grep -qxE '# (extra|manual)' "$1"
}

# Variants: "NAME [VMM FLAGS...]" lines of variants.conf.
variants() {
	grep -v '^[[:space:]]*\(#\|$\|skip[[:space:]]\)' "$SUITE/variants.conf"
}

# skipped VARIANT CASE: a "skip VARIANT PATTERN..." line of variants.conf
# leaves CASE (GROUP.CASE, a shell glob) out of VARIANT.
skipped() (
	set -f # the patterns are for case names, not for files here
	for _pat in $(awk -v v="$1" '$1 == "skip" && $2 == v {
			$1 = ""; $2 = ""; print }' "$SUITE/variants.conf"); do
		# shellcheck disable=SC2254 # patterns are globs on purpose
		case $2 in
		$_pat) return 0 ;;
		esac
	done
	return 1
)

tenths() {
	echo "$(($1 / 10)).$(($1 % 10))"
}

# Prints the last lines of a file, indented, under a title.
show_tail() {
	[ -s "$2" ] || return 0
	echo "    --- $1 (last $LOG_LINES lines) ---"
	tail -n "$LOG_LINES" "$2" | tr -d '\r' | sed 's/^/    | /'
}

show_vms() {
	[ -s "$1" ] || return 0
	sort -u "$1" | while read -r d; do
		echo "    --- VM $(basename "$d"): $(cat "$d/cmdline")"
		show_tail "guest serial log" "$d/serial.log"
		show_tail "VMM stdout and stderr" "$d/vmm.log"
	done
}

# Stops what a case or group left running: tracked helpers, then VMMs.
reap() {
	if [ -s "$1/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
		done < "$1/pids"
		: > "$1/pids"
	fi
	[ -s "$1/vms" ] || return 0
	sort -u "$1/vms" | while read -r d; do
		pid=$(cat "$d/pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null
			sleep 0.5
			kill -9 "$pid" 2>/dev/null
		fi
	done
}

# run_case GROUP CASE FULLNAME: one case in a subshell, its result recorded.
run_case() {
	state=$TEST_WORK/state/$3
	rm -rf "$state"
	mkdir -p "$state"
	t0=$(uptime_ds)
	(
		CASE_STATE=$state
		"case_$2"
	) > "$state/output" 2>&1
	rc=$?
	reap "$state"
	dt=$(tenths $(($(uptime_ds) - t0)))
	if [ $rc -eq 0 ] && [ ! -s "$state/messages" ]; then
		echo "ok $3 ($dt s)"
		# What a case reports (a benchmark's figures) follows it.
		[ ! -s "$state/report" ] || sed 's/^/    /' "$state/report"
		echo ok >> "$TEST_WORK/results"
		return
	fi
	if [ -s "$state/messages" ]; then
		echo "FAIL $3 ($dt s): $(head -n 1 "$state/messages")"
		tail -n +2 "$state/messages" | sed 's/^/    /'
	else
		echo "FAIL $3 ($dt s): exited with status $rc"
	fi
	echo FAIL >> "$TEST_WORK/results"
	show_tail "case output" "$state/output"
	show_vms "$state/vms"
	show_vms "$GROUP_STATE/vms"
}

# run_group FILE VARIANT SUFFIX CASE...: sources the group in a subshell,
# runs its setup once, the selected cases, then its teardown.
run_group() {
	file=$1 VARIANT=$2 suffix=$3
	shift 3
	group=$(basename "$file" .sh)
	if ! syntax=$(sh -n "$file" 2>&1); then
		for c in "$@"; do
			echo "FAIL $group.$c$suffix: $file does not parse: $syntax"
			echo FAIL >> "$TEST_WORK/results"
		done
		return
	fi
	(
		VARIANT_FLAGS=$(variants | awk -v v="$VARIANT" '$1 == v { $1 = ""; print }')
		GROUP_STATE=$TEST_WORK/state/$group$suffix
		rm -rf "$GROUP_STATE"
		mkdir -p "$GROUP_STATE"
		group_t0=$(uptime_ds)
		. "$file"
		setup_ok=1
		if command -v group_setup >/dev/null 2>&1; then
			( CASE_STATE=$GROUP_STATE; group_setup ) > "$GROUP_STATE/output" 2>&1 ||
				setup_ok=0
			[ ! -s "$GROUP_STATE/messages" ] || setup_ok=0
			# The VM group_setup started, for the cases to use.
			[ ! -f "$GROUP_STATE/env" ] || . "$GROUP_STATE/env"
		fi
		for c in "$@"; do
			if [ $setup_ok = 1 ]; then
				run_case "$group" "$c" "$group.$c$suffix"
				continue
			fi
			echo "FAIL $group.$c$suffix: group setup failed: $(head -n 1 "$GROUP_STATE/messages" 2>/dev/null)"
			echo FAIL >> "$TEST_WORK/results"
		done
		[ $setup_ok = 1 ] || {
			show_tail "setup output" "$GROUP_STATE/output"
			show_vms "$GROUP_STATE/vms"
		}
		if command -v group_teardown >/dev/null 2>&1; then
			( CASE_STATE=$GROUP_STATE; group_teardown ) >> "$GROUP_STATE/output" 2>&1
		fi
		reap "$GROUP_STATE"
		echo "# group $group$suffix: $(tenths $(($(uptime_ds) - group_t0))) s"
	)
}

# each_group FN: calls FN FILE VARIANT SUFFIX CASES for every group that
# runs, in the suite's order: variant by variant, groups in file order,
# and the groups marked "# last" after all others, in every variant.
each_group() {
	for _pass in 0 1; do
		_first=1
		for _v in $(variants | awk '{ print $1 }'); do
			_suffix=; [ $_first = 1 ] || _suffix=@$_v
			_first=0
			[ -z "$only_variant" ] || [ "$_v" = "$only_variant" ] || continue
			for _f in "$SUITE"/cases/*.sh; do
				[ "$(grep -cx '# last' "$_f")" = $_pass ] || continue
				group_runs_here "$_f" "$_v" || continue
				_cases=$(chosen_cases "$_f" "$(basename "$_f" .sh)" "$_v" "$_suffix")
				[ -n "$_cases" ] || continue
				"$1" "$_f" "$_v" "$_suffix" "$_cases"
			done
		done
	done
}

list_group() {
	for c in $4; do
		echo "$(basename "$1" .sh).$c$3"
	done
}

if [ $list = 1 ]; then
	each_group list_group
	exit 0
fi

own_work=0
if [ -z "${TEST_WORK:-}" ]; then
	TEST_WORK=$(mktemp -d /tmp/test-linux-XXXXXX)
	own_work=1
fi
export TEST_WORK
mkdir -p "$TEST_WORK"
: > "$TEST_WORK/results"
t_start=$(uptime_ds)
# shellcheck disable=SC2086 # case names are words
run_listed_group() {
	run_group "$1" "$2" "$3" $4
}
each_group run_listed_group
passed=$(grep -c '^ok$' "$TEST_WORK/results")
failed=$(grep -c '^FAIL$' "$TEST_WORK/results")
echo "# all groups: $(tenths $(($(uptime_ds) - t_start))) s"
[ $own_work = 0 ] || [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$TEST_WORK"
if [ $((passed + failed)) -eq 0 ]; then
	echo "run.sh: no case matches '${patterns# }'" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
