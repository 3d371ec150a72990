#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the minimal guest kernel from a kernel source tarball: tinyconfig,
# then FRAGMENT merged on top; every option FRAGMENT sets must survive
# Kconfig (a dropped one means a missing dependency), then vmlinux.
#
#   build.sh SOURCE.tar.xz FRAGMENT OUTDIR [JOBS]
#
# OUTDIR gets src/ (the unpacked tree, kept while SOURCE is unchanged),
# obj/ (the build) and vmlinux. The compiler runs at the lowest priority.
set -eu

tarball=$1 fragment=$2 out=$3 jobs=${4:-2}
mkdir -p "$out"
# Kbuild takes O= relative to the source tree: every path absolute.
out=$(cd "$out" && pwd)
fragment=$(cd "$(dirname "$fragment")" && pwd)/$(basename "$fragment")
src=$out/src obj=$out/obj

if [ ! -f "$src/.unpacked" ] || [ "$tarball" -nt "$src/.unpacked" ]; then
	rm -rf "$src" "$obj"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.unpacked"
fi
mkdir -p "$obj"
make -s -C "$src" O="$obj" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
	"$fragment" >/dev/null
make -s -C "$src" O="$obj" olddefconfig
dropped=$(grep '^CONFIG_' "$fragment" | while read -r opt; do
	grep -qx "$opt" "$obj/.config" || echo "$opt"
done)
if [ -n "$dropped" ]; then
	echo "build.sh: Kconfig dropped these options of $fragment (a dependency is off):" >&2
	echo "$dropped" >&2
	exit 1
fi
nice -n 19 make -s -C "$src" O="$obj" -j"$jobs" vmlinux
cp "$obj/vmlinux" "$out/vmlinux.tmp"
mv "$out/vmlinux.tmp" "$out/vmlinux"
echo "build.sh: $out/vmlinux: $(wc -c < "$out/vmlinux") bytes"
