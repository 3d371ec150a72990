# SPDX-License-Identifier: MIT
# Helpers for the Linux end-to-end cases (sourced by run.sh; POSIX sh, runs
# under busybox ash in the test host and under dash/bash elsewhere).
#
# Environment (set by run.sh): VMM, VMMCTL, BRIDGE_CLIENT, PEER_CHECK,
# IMAGES (vmlinux, vmlinuz, initramfs.cpio.gz), LINUX_MIN_IMAGES (the
# minimal kernel's vmlinux and initramfs.cpio.gz), TEST_WORK (scratch directory), VARIANT_FLAGS
# (VMM flags the current variant adds to every VM), CASE_STATE (per-case
# bookkeeping directory, maintained by run.sh).

GUEST_CID=3
# Limits on waits. They only end cases that would otherwise hang, and an
# emulated test host on a busy machine is slow: they are generous. Most
# things take a second, transfers and boots a minute at the most.
WAIT_SHORT=${WAIT_SHORT:-120}
WAIT_LONG=${WAIT_LONG:-600}
EXEC_TIMEOUT=${EXEC_TIMEOUT:-$WAIT_LONG}
AGENT_TIMEOUT=${AGENT_TIMEOUT:-$WAIT_LONG}
# The cases' Linux command line: no boot log on the emulated UART unless a
# case asks for it (every byte is an exit to the VMM).
GUEST_CMDLINE="console=ttyS0 reboot=k panic=1 quiet"

# --- assertions ------------------------------------------------------------

# Fails the current case with a message (run.sh prints it with the logs).
fail() {
	printf '%s\n' "$*" >> "$CASE_STATE/messages"
	exit 1
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_match WHAT TEXT ERE
expect_match() {
	printf '%s\n' "$2" | grep -Eq -- "$3" ||
		fail "$1: '$(printf '%s' "$2" | head -c 300)' does not match /$3/"
}

# expect_range WHAT N MIN MAX
expect_range() {
	case $2 in
	'' | *[!0-9]*) fail "$1: '$2' is not a number" ;;
	esac
	[ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
		fail "$1: $2 is not within [$3, $4]"
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	_what=$1 _limit=$2
	shift 2
	_t0=$(uptime_ds)
	until "$@"; do
		[ $(($(uptime_ds) - _t0)) -lt $((_limit * 10)) ] ||
			fail "$_what: still not true after $_limit s"
		sleep 0.2
	done
}

# Tenths of a second since boot.
uptime_ds() {
	read -r _up _ < /proc/uptime
	_s=${_up%.*} _f=${_up#*.}
	echo $((_s * 10 + ${_f%?}))
}

# --- host processes --------------------------------------------------------

# Remembers a background process so run.sh stops it after the case.
track() {
	echo "$1" >> "$CASE_STATE/pids"
}

# Runs CMD... in the background, tracked; its pid is in $BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	track "$BG_PID"
}

# --- sockets ---------------------------------------------------------------

# Copies everything a Unix stream socket sends into FILE, in the background.
sock_capture() {
	: > "$2"
	bg socat -u "UNIX-CONNECT:$1" "OPEN:$2,append"
}

# Sends TEXT, backslash escapes (\n) expanded, to a Unix stream socket.
sock_send() {
	printf %b "$2" | timeout "$WAIT_SHORT" socat -u - "UNIX-CONNECT:$1" ||
		fail "cannot send to $1"
}

file_has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# --- the VM ----------------------------------------------------------------

# vm_spawn NAME ARGS...: starts the VMM with exactly ARGS in the background
# and keeps its bookkeeping: sets VM_NAME, VM_DIR, VM_PID and VM_LOG (the
# VMM's stdout and stderr); VM_SERIAL and VM_VSOCK name the COM1 log and
# vsock socket vm_start gives a VM.
vm_spawn() {
	VM_NAME=$1
	shift
	VM_DIR=$TEST_WORK/vm-$VM_NAME
	VM_LOG=$VM_DIR/vmm.log
	VM_SERIAL=$VM_DIR/serial.log
	VM_VSOCK=$VM_DIR/vsock.sock
	rm -rf "$VM_DIR"
	mkdir -p "$VM_DIR"
	echo "$VMM $*" > "$VM_DIR/cmdline"
	# The VMM's exit status lands in VM_DIR/status, whichever shell
	# started it (cases use the VM their group's setup started).
	(
		"$VMM" "$@" > "$VM_LOG" 2>&1 &
		echo $! > "$VM_DIR/pid.tmp" && mv "$VM_DIR/pid.tmp" "$VM_DIR/pid"
		_rc=0
		wait $! || _rc=$?
		echo $_rc > "$VM_DIR/status"
	) &
	until [ -s "$VM_DIR/pid" ]; do
		sleep 0.05
	done
	VM_PID=$(cat "$VM_DIR/pid")
	echo "$VM_DIR" >> "$CASE_STATE/vms"
	# A VM started by group_setup is the one its cases talk to.
	cat > "$CASE_STATE/env" <<-EOF
	VM_NAME='$VM_NAME' VM_DIR='$VM_DIR' VM_PID='$VM_PID'
	VM_LOG='$VM_LOG' VM_SERIAL='$VM_SERIAL' VM_VSOCK='$VM_VSOCK'
	EOF
}

# vm_start NAME [VMM FLAG...]: starts the VMM on the Linux test image with
# the variant's flags. The flags are added to the defaults below; --kernel,
# --initrd, --cmdline, --memory, --serial and --vsock replace the default
# of the same flag.
vm_start() {
	_name=$1
	shift
	_dir=$TEST_WORK/vm-$_name
	_given=" "
	for _a in "$@"; do
		case $_a in --*) _given="$_given${_a%%=*} " ;; esac
	done
	_defaults=
	for _f in "--kernel $IMAGES/vmlinux" "--initrd $IMAGES/initramfs.cpio.gz" \
		"--memory 256" "--serial file:$_dir/serial.log" \
		"--vsock cid=$GUEST_CID,uds=$_dir/vsock.sock"; do
		case $_given in
		*" ${_f%% *} "*) ;;
		*) _defaults="$_defaults $_f" ;;
		esac
	done
	case $_given in
	*" --cmdline "*) ;;
	*) set -- --cmdline "$GUEST_CMDLINE" "$@" ;;
	esac
	# shellcheck disable=SC2086 # defaults and variant flags are words
	vm_spawn "$_name" $_defaults "$@" $VARIANT_FLAGS
}

vm_alive() {
	kill -0 "$VM_PID" 2>/dev/null
}

# Every thread of the VMM runs under its seccomp filter (mode 2), as it
# does by default: the vCPUs, and the event loop that served the case.
expect_confined() {
	_n=0
	for _task in /proc/"$VM_PID"/task/*; do
		_mode=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$_task/status")
		expect_eq "Seccomp of VMM thread $(cat "$_task/comm")" "$_mode" 2
		_n=$((_n + 1))
	done
	expect_range "VMM threads" "$_n" 2 1024
}

# Waits until the guest agent runs a command; fails the case if the VMM
# exits or the agent does not answer.
vm_wait_agent() {
	_t0=$(uptime_ds)
	until [ -S "$VM_VSOCK" ] && exec_within 10 true 2>/dev/null; do
		vm_alive || fail "$VM_NAME: the VMM exited before the agent answered"
		[ $(($(uptime_ds) - _t0)) -lt $((AGENT_TIMEOUT * 10)) ] ||
			fail "$VM_NAME: the guest agent did not answer within $AGENT_TIMEOUT s"
		sleep 0.2
	done
	echo "$VM_NAME: agent up after $(( ($(uptime_ds) - _t0) / 10 )) s" >&2
}

vm_boot() {
	vm_start "$@"
	vm_wait_agent
}

# vm_wait_exit SECONDS: waits for the VMM to exit; its status is in
# $VM_STATUS. Fails the case when it still runs.
vm_wait_exit() {
	wait_for "$VM_NAME: the VMM to exit" "$1" test -s "$VM_DIR/status"
	VM_STATUS=$(cat "$VM_DIR/status")
}

# The VMM's resident memory in KiB.
vm_rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$VM_PID/status"
}

# exec_within SECONDS [vmmctl exec flags] CMD...: runs CMD in the guest
# through the agent, for SECONDS at the most. vmmctl forwards timeout's
# SIGTERM to the command in the guest; a guest that no longer answers
# would keep it waiting, so SIGKILL follows 10 s later.
exec_within() {
	_within=$1
	shift
	timeout -k 10 "$_within" "$VMMCTL" exec --vsock-uds "$VM_VSOCK" "$@"
}

# gx [vmmctl exec flags] CMD...: runs CMD in the guest through the agent.
gx() {
	exec_within "$EXEC_TIMEOUT" "$@"
}

# gx_sha WHAT SECONDS CMD...: the SHA-256 of what CMD writes in the guest,
# for transfers too long for gx's limit; fails the case when CMD or the
# transfer fails.
gx_sha() {
	_what=$1 _limit=$2
	shift 2
	{
		_rc=0
		exec_within "$_limit" "$@" || _rc=$?
		echo "$_rc" > "$CASE_STATE/gx_sha.rc"
	} | sha
	[ "$(cat "$CASE_STATE/gx_sha.rc")" = 0 ] ||
		fail "$_what: vmmctl exec exited $(cat "$CASE_STATE/gx_sha.rc") (124 or 137: still running after $_limit s)"
}

# gx_ok WHAT CMD...: runs CMD in the guest, prints its stdout, fails the
# case with its stderr when it exits non-zero.
gx_ok() {
	_what=$1
	shift
	_rc=0
	gx "$@" 2> "$CASE_STATE/gx.err" || _rc=$?
	[ "$_rc" -eq 0 ] ||
		fail "$_what: '$*' exited $_rc in the guest: $(head -c 500 "$CASE_STATE/gx.err")"
}

# The guest's device node for the disk whose GET_ID serial is $1.
guest_disk() {
	_d=$(gx "grep -lx '$1' /sys/block/vd*/serial" | sed -n 's|^/sys/block/\([^/]*\)/serial$|\1|p')
	[ -n "$_d" ] || fail "no guest disk has serial '$1'"
	echo "/dev/$_d"
}

# The SHA-256 of stdin.
sha() {
	sha256sum | cut -d' ' -f1
}

# Test data: a random MiB from /dev/urandom in FILE, sent N times, each
# time after an 8-digit sequence number. No two 4 KiB-aligned pieces of the
# stream are alike, so reordered, lost or repeated pages change its
# checksum; and it is cheap to produce where /dev/urandom is slow. Both are
# shell command lines, for the host (sh -c) and the guest (gx):
#   gx "$(block_cmd /tmp/block)"; gx "$(stream_cmd 256 /tmp/block)" | sha
block_cmd() {
	echo "head -c 1048576 /dev/urandom > $1"
}

stream_cmd() {
	echo "i=0; while [ \$i -lt $1 ]; do printf %08d \$i && cat $2 || exit 1; i=\$((i + 1)); done"
}

# The checksum of stream_cmd N FILE, computed here.
stream_sha() {
	sh -c "$(stream_cmd "$1" "$2")" | sha
}

# --- guest devices ---------------------------------------------------------

# The guest's device node for the virtio-blk disk whose GET_ID serial is $1.
guest_disk() {
	_d=$(gx "grep -lx '$1' /sys/block/vd*/serial" | sed -n 's|^/sys/block/\([^/]*\)/serial$|\1|p')
	[ -n "$_d" ] || fail "no guest disk has serial '$1'"
	echo "/dev/$_d"
}

# The guest's network interface with MAC $1; empty when there is none.
guest_if_of() {
	gx "grep -l '$1' /sys/class/net/*/address" |
		sed -n 's|^/sys/class/net/\([^/]*\)/address$|\1|p'
}

# link_local host TAP | guest IFACE: the interface's IPv6 link-local
# address once duplicate address detection finished; empty while it is
# tentative.
link_local() {
	if [ "$1" = host ]; then
		ip -6 addr show dev "$2" scope link
	else
		gx "ip -6 addr show dev $2 scope link"
	fi | grep -v tentative | sed -n 's/.*inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p'
}

has_link_local() {
	[ -n "$(link_local "$1" "$2")" ]
}

# link_up TAP MAC DIR: brings up the TAP the VMM created and the guest's
# interface with MAC, and waits for both link-local addresses. Leaves the
# guest's interface name in DIR/guest-if and the addresses in
# DIR/host-addr and DIR/guest-addr.
link_up() {
	mkdir -p "$3"
	ip link set "$1" up || fail "cannot bring up $1"
	_if=$(guest_if_of "$2")
	[ -n "$_if" ] || fail "no guest interface has the MAC $2"
	echo "$_if" > "$3/guest-if"
	gx_ok "guest link up" "ip link set $_if up"
	wait_for "the host's link-local address on $1" $WAIT_SHORT has_link_local host "$1"
	wait_for "the guest's link-local address on $_if" $WAIT_SHORT has_link_local guest "$_if"
	link_local host "$1" > "$3/host-addr"
	link_local guest "$_if" > "$3/guest-addr"
}

# ping_both_ways TAP GUEST_IF HOST_ADDR GUEST_ADDR
ping_both_ways() {
	gx_ok "ping the TAP from the guest" \
		"ping6 -c 3 -w 30 -I $2 $3%$2" >/dev/null
	ping6 -c 3 -w 30 "$4%$1" >/dev/null 2>&1 ||
		ping -6 -c 3 -w 30 "$4%$1" >/dev/null ||
		fail "the host cannot ping the guest at $4%$1"
}

# --- guest terminals -------------------------------------------------------

# Starts a shell in the guest reading and writing terminal DEV (ttyS0,
# hvc0), detached from the agent, and waits until it holds the terminal.
tty_shell() {
	gx_ok "start a shell on /dev/$1" \
		"setsid sh -c 'exec sh </dev/$1 >/dev/$1 2>&1' </dev/null >/dev/null 2>&1 &"
	wait_for "a shell holding /dev/$1" $WAIT_SHORT \
		gx "ls -l /proc/[0-9]*/fd/0 2>/dev/null | grep -q '/dev/$1\$'"
}

# tty_roundtrip SOCKET DEV: a command line written into the host end of
# the guest's terminal DEV runs in a shell there, and its output comes back.
tty_roundtrip() {
	tty_shell "$2"
	sock_capture "$1" "$CASE_STATE/$2.out"
	sock_send "$1" "echo $2-in-\$((6 * 7))\n"
	_t0=$(uptime_ds)
	until file_has "$CASE_STATE/$2.out" "$2-in-42"; do
		[ $(($(uptime_ds) - _t0)) -lt $((WAIT_SHORT * 10)) ] ||
			fail "the shell on $2 did not run the line sent through $1 within $WAIT_SHORT s; the terminal's last output: $(tail -c 200 "$CASE_STATE/$2.out" | od -An -c | tr -s ' \n' ' ')"
		sleep 0.2
	done
}

# --- the control socket ----------------------------------------------------

# ctl SOCKET ARGS...: vmmctl --sock SOCKET ARGS..., failing the case when
# the VMM answers with an error.
ctl() {
	_sock=$1
	shift
	timeout "$WAIT_SHORT" "$VMMCTL" --sock "$_sock" "$@" 2> "$CASE_STATE/ctl.err" ||
		fail "vmmctl $*: $(head -c 500 "$CASE_STATE/ctl.err")"
}

# ctl_inspect SOCKET QUERY: the InspectVM value at QUERY, unquoted.
ctl_inspect() {
	ctl "$1" inspect "$2" | tr -d '"\n '
}

# json_field KEY < JSON: the first value of "KEY" (a number or a string).
json_field() {
	tr -d '\n' | grep -o "\"$1\": *\"\{0,1\}[^\",} ]*" | head -n 1 |
		sed 's/^[^:]*: *"\{0,1\}//'
}
