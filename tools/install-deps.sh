#!/bin/sh
# Install the Debian packages a target needs, or print the exact command.
# Usage: tools/install-deps.sh PACKAGE...
missing=""
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing" >&2
	echo "install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Parallel make runs several of these at once; dpkg takes one at a time.
exec 9>/var/lib/apt/lists/.vmm-install-deps.lock
flock 9
# Another architecture's libraries (libfdt-dev:arm64) need it enabled.
for arch in $(printf '%s\n' $missing | sed -n 's/^[^:]*:\(.*\)$/\1/p' | sort -u); do
	[ "$arch" = "$(dpkg --print-architecture)" ] && continue
	dpkg --print-foreign-architectures | grep -qx "$arch" ||
		dpkg --add-architecture "$arch" || exit 1
done
apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends $missing >&2 && exit 0
echo "apt-get failed; run: apt-get update && apt-get install -y$missing" >&2
exit 1
