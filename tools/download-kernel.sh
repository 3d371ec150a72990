#!/bin/sh
# Downloads the kernel package a Debian kernel metapackage names (the
# metapackage itself holds no kernel), with apt-get download.
# Usage: tools/download-kernel.sh METAPACKAGE[:ARCH] OUT.deb
set -eu

meta=$1 out=$2
dl=$(dirname "$out")/dl
pkg=$(apt-cache depends "$meta" 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
	echo "download-kernel: apt-cache cannot resolve $meta; run apt-get update" >&2
	exit 1
fi
echo "download-kernel: downloading $pkg"
mkdir -p "$dl"
rm -f "$dl"/linux-image-*.deb
(cd "$dl" && apt-get download -q "$pkg")
mv "$dl"/linux-image-*.deb "$out"
