#!/bin/sh
# The man pages say what --help says: every flag (and vmmctl command) a
# program's --help lists is in its man page, and every flag the man page
# documents (its SYNOPSIS and the tags of its option lists) is in --help.
# groff renders each page without a warning.
#
#   tests/dist/man.sh BUILD_DIR          the build's programs, dist/man/
#   tests/dist/man.sh --installed PREFIX the programs and pages make install
#                                        put under PREFIX
set -u

if [ "$1" = --installed ]; then
	vmm=$2/bin/vmm vmmctl=$2/bin/vmmctl agent=$2/libexec/vmm/guest-agent
	vmm_1=$2/share/man/man1/vmm.1 vmmctl_1=$2/share/man/man1/vmmctl.1
	agent_8=$2/share/man/man8/guest-agent.8
else
	vmm=$1/vmm vmmctl=$1/vmmctl agent=$1/guest-agent
	vmm_1=dist/man/vmm.1 vmmctl_1=dist/man/vmmctl.1
	agent_8=dist/man/guest-agent.8
fi
failures=0
checks=0

pass() { checks=$((checks + 1)); echo "PASS man: $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL man: $1"; }

# Flags in text on stdin: --long-name and -x, not inside words.
flags() {
	perl -ne 'while (/(?<![\w-])(--[a-z][a-z0-9-]*[a-z0-9]|-[A-Za-z])(?![\w-])/g) { print "$1\n" }' |
		sort -u
}

# The man page's text with roff's escapes for hyphens and fonts undone.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g' "$1"
}

# What the page documents: its SYNOPSIS, and the line after each .TP.
man_documented() {
	man_text "$1" | awk '
		/^\.SH/ { syn = ($2 == "SYNOPSIS"); next }
		syn { print; next }
		tag { print; tag = 0; next }
		/^\.TP/ { tag = 1 }'
}

# The flags of text $1 that text $2 lacks, each after a space.
missing_flags() {
	echo "$1" | flags | while read -r f; do
		echo "$2" | flags | grep -qxF -- "$f" || printf ' %s' "$f"
	done
}

# check NAME HELP_TEXT MAN_PAGE
check() {
	name=$1 help=$2 page=$3
	missing=$(missing_flags "$help" "$(man_text "$page")")
	if [ -z "$missing" ]; then
		pass "$name: every flag of --help is in $(basename "$page")"
	else
		fail "$name: --help has$missing, $(basename "$page") does not"
	fi
	extra=$(missing_flags "$(man_documented "$page")" "$help")
	if [ -z "$extra" ]; then
		pass "$name: every flag $(basename "$page") documents is in --help"
	else
		fail "$name: $(basename "$page") documents$extra, --help does not"
	fi
	if command -v groff >/dev/null; then
		warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		if [ -z "$warnings" ]; then
			pass "$name: groff renders $(basename "$page") without warnings"
		else
			fail "$name: groff: $warnings"
		fi
	fi
}

check vmm "$("$vmm" --help)" "$vmm_1"
# vmmctl's commands: "vmmctl --help" lists them, each has its own --help.
ctl_cmds=$("$vmmctl" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
ctl_help=$("$vmmctl" --help
	   for cmd in $ctl_cmds; do "$vmmctl" "$cmd" --help; done
	   "$vmmctl" --sock /nonexistent help)
check vmmctl "$ctl_help" "$vmmctl_1"
check guest-agent "$("$agent" --help)" "$agent_8"

# vmmctl's commands, and those of --sock: each has an entry of its own.
missing=$({ echo "$ctl_cmds"
	    "$vmmctl" --sock /nonexistent help |
		sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'; } | while read -r cmd; do
		man_documented "$vmmctl_1" | grep -qw -- "$cmd" ||
			printf ' %s' "$cmd"
	done)
if [ -z "$missing" ]; then
	pass "vmmctl: every command vmmctl lists has an entry in vmmctl.1"
else
	fail "vmmctl: commands without an entry in vmmctl.1:$missing"
fi

echo "man: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
