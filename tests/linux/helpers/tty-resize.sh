#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside a pseudo-terminal (socat EXEC:...,pty,setsid,ctty): starts
# "vmmctl exec -t" on it with a guest command that prints its terminal
# size, then again once it gets SIGWINCH; resizes the terminal here once
# the first size arrived, so vmmctl sends Resize.
#
#   tty-resize.sh VMMCTL VSOCK-UDS OUTPUT ROWS COLS
vmmctl=$1 uds=$2 out=$3 rows=$4 cols=$5
# The terminal is the controlling one; stdin may be something else.
exec 3<>/dev/tty
"$vmmctl" exec --vsock-uds "$uds" -t \
	'trap "stty size; exit 0" WINCH; stty size; while :; do sleep 1; done' \
	<&3 > "$out" 2>&1 &
pid=$!
i=0
until grep -q '^24 80' "$out"; do
	i=$((i + 1))
	[ $i -lt 1200 ] || { echo "tty-resize: no first size" >&2; kill "$pid"; exit 1; }
	sleep 0.1
done
# The terminal's new size reaches its foreground process group (this
# shell and vmmctl) as SIGWINCH.
stty rows "$rows" cols "$cols" <&3
wait "$pid"
