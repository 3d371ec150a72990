#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the command line vmm@NAME.service runs: the unit's ExecStart for
# instance NAME, with /etc/vmm and /run/vmm moved to ETC and RUN, so that
# tests run the unit's own command without systemd or root.
#
#   unit-command.sh UNIT NAME ETC RUN
set -eu

unit=$1 name=$2 etc=$3 run=$4
[ -r "$unit" ] || { echo "unit-command.sh: cannot read $unit" >&2; exit 1; }
sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/^ExecStart=//; s/\\$//' |
	tr '\n\t' '  ' |
	sed -e "s/%i/$name/g" -e "s|/etc/vmm/|$etc/|g" -e "s|/run/vmm/|$run/|g" \
	    -e 's/  */ /g; s/ $//'
echo
