# SPDX-License-Identifier: MIT
# Shell functions both initramfs builders share (the Linux test image and the
# nested test host), sourced with ". images/initramfs.sh":
#
#   kmod_open DEB WORK        unpack a Debian kernel package's modules
#   kmod_install ROOT MOD...  copy modules and what they depend on into ROOT,
#                             in load order, listed in ROOT/etc/modules-load;
#                             MOD? is taken only when the package has it as
#                             a module (some kernels build it in)
#   install_items ROOT ITEM...
#                             program:SRC:DEST (a host program, a Debian
#                             package's file, with the shared libraries ldd
#                             names), file:SRC:DEST, tree:DIR:DEST (a
#                             directory, whole), link:TARGET:DEST
#   pack_cpio ROOT OUT [gzip|none]

kmod_open() {
	rm -rf "$2/pkg"
	mkdir -p "$2/pkg"
	dpkg-deb -x "$1" "$2/pkg"
	KMOD_DIR=$(echo "$2"/pkg/lib/modules/*)
	KMOD_WORK=$2
	[ -d "$KMOD_DIR/kernel" ] || {
		echo "initramfs: no modules in $1" >&2
		return 1
	}
}

# The path of module $1 (names use _ or - interchangeably).
kmod_file() {
	_f=$(find "$KMOD_DIR/kernel" -name "$1.ko" | head -n 1)
	[ -n "$_f" ] ||
		_f=$(find "$KMOD_DIR/kernel" -name "$(echo "$1" | tr _ -).ko" | head -n 1)
	[ -n "$_f" ] ||
		_f=$(find "$KMOD_DIR/kernel" -name "$(echo "$1" | tr - _).ko" | head -n 1)
	[ -n "$_f" ] || {
		echo "initramfs: module $1 is not in the kernel package" >&2
		return 1
	}
	echo "$_f"
}

# The modinfo "depends=" field: one of the NUL-separated strings of the
# module's .modinfo section, read without binutils of the module's
# architecture.
kmod_deps() {
	_f=$(kmod_file "$1") || return 1
	tr '\0' '\n' < "$_f" | sed -n 's/^depends=//p' | tr ',' ' '
}

_kmod_visit() {
	grep -qx "$1" "$KMOD_WORK/order" && return 0
	_deps=$(kmod_deps "$1") || return 1
	for _dep in $_deps; do
		_kmod_visit "$_dep" || return 1
	done
	grep -qx "$1" "$KMOD_WORK/order" || echo "$1" >> "$KMOD_WORK/order"
}

kmod_install() {
	_root=$1
	shift
	: > "$KMOD_WORK/order"
	for _m in "$@"; do
		case $_m in
		*\?)
			_m=${_m%?}
			kmod_file "$_m" >/dev/null 2>&1 || continue
			;;
		esac
		_kmod_visit "$_m" || return 1
	done
	mkdir -p "$_root/lib/modules" "$_root/etc"
	while read -r _m; do
		cp "$(kmod_file "$_m")" "$_root/lib/modules/$_m.ko" || return 1
	done < "$KMOD_WORK/order"
	cp "$KMOD_WORK/order" "$_root/etc/modules-load"
}

# The shared libraries and the program interpreter ldd lists for $1.
_libs_of() {
	ldd "$1" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'
}

install_program() {
	_src=$1 _root=$2 _dest=$3
	[ -x "$_src" ] || {
		echo "initramfs: $_src: missing or not executable" >&2
		return 1
	}
	mkdir -p "$_root$(dirname "$_dest")"
	cp -L "$_src" "$_root$_dest" || return 1
	for _lib in $(_libs_of "$_src"); do
		[ -e "$_root$_lib" ] && continue
		mkdir -p "$_root$(dirname "$_lib")"
		cp -L "$_lib" "$_root$_lib" || return 1
	done
}

install_items() {
	_root=$1
	shift
	for _item in "$@"; do
		_kind=${_item%%:*} _rest=${_item#*:}
		_src=${_rest%:*} _dest=${_rest##*:}
		mkdir -p "$_root$(dirname "$_dest")"
		case $_kind in
		program) install_program "$_src" "$_root" "$_dest" ;;
		file) cp -L "$_src" "$_root$_dest" ;;
		tree) mkdir -p "$_root$_dest" && cp -R "$_src/." "$_root$_dest/" ;;
		link) ln -sf "$_src" "$_root$_dest" ;;
		*)
			echo "initramfs: unknown item '$_item'" >&2
			false
			;;
		esac || return 1
	done
}

pack_cpio() {
	_root=$1 _out=$2 _comp=${3:-gzip}
	(cd "$_root" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) |
		if [ "$_comp" = gzip ]; then gzip -9; else cat; fi > "$_out.tmp" &&
		mv "$_out.tmp" "$_out"
}
