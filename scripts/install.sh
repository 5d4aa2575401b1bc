#!/bin/bash
# scripts/install.sh install|uninstall|dkms   (make install / uninstall / dkms-install)
#
#   install    qbd, qbdadm, qbd-server      -> $DESTDIR$PREFIX/sbin
#              kmod/qbd.ko                  -> $DESTDIR/lib/modules/<its kernel>/extra
#                                              (+ depmod when DESTDIR is empty)
#              udev/*.rules                 -> $DESTDIR/lib/udev/rules.d
#              man/*.5, man/*.8             -> $DESTDIR$PREFIX/share/man/man{5,8}
#              userspace/**/*.service       -> $DESTDIR/lib/systemd/system
#   uninstall  removes what install puts there
#   dkms       copies dkms.conf, kmod/ and include/ to /usr/src/qbd-<version>,
#              then dkms add, build and install for every kernel with headers
# What does not exist yet is skipped; everything installed is printed.
# Env: DESTDIR, PREFIX (default /usr), BUILD (default <repo>/build).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
PREFIX=${PREFIX:-/usr}
DESTDIR=${DESTDIR:-}
SBIN=$DESTDIR$PREFIX/sbin
MAN=$DESTDIR$PREFIX/share/man
UDEV=$DESTDIR/lib/udev/rules.d
UNITS=$DESTDIR/lib/systemd/system
PROGS=("qbd/qbd" "qbdadm/qbdadm" "server/qbd-server")

say() { echo "install: $*"; }

# put MODE SRC DIR: install SRC into DIR and say so.
put() {
	install -D -m "$1" "$2" "$3/$(basename "$2")"
	say "$3/$(basename "$2")"
}

module_kver() { modinfo -F vermagic "$1" 2>/dev/null | awk '{ print $1 }'; }

units() { find "$TOP/userspace" -name '*.service' -type f 2>/dev/null | sort; }

do_install() {
	local p f kver n=0
	for p in "${PROGS[@]}"; do
		if [[ -x $BUILD/userspace/$p ]]; then
			put 0755 "$BUILD/userspace/$p" "$SBIN"
			n=$((n + 1))
		else
			say "skipped $(basename "$p"): $BUILD/userspace/$p is not built (make userspace)"
		fi
	done
	if [[ -f $TOP/kmod/qbd.ko ]]; then
		kver=$(module_kver "$TOP/kmod/qbd.ko")
		[[ -n $kver ]] || { echo "install: cannot read the kernel version of kmod/qbd.ko" >&2; exit 1; }
		put 0644 "$TOP/kmod/qbd.ko" "$DESTDIR/lib/modules/$kver/extra"
		n=$((n + 1))
		if [[ -z $DESTDIR ]]; then
			depmod -a "$kver"
			say "depmod -a $kver"
		fi
	else
		say "skipped qbd.ko: kmod/qbd.ko is not built (make kmod)"
	fi
	for f in "$TOP"/udev/*.rules; do
		[[ -f $f ]] && { put 0644 "$f" "$UDEV"; n=$((n + 1)); }
	done
	for f in "$TOP"/man/*.5 "$TOP"/man/*.8; do
		[[ -f $f ]] && { put 0644 "$f" "$MAN/man${f##*.}"; n=$((n + 1)); }
	done
	while read -r f; do
		[[ -n $f ]] && { put 0644 "$f" "$UNITS"; n=$((n + 1)); }
	done < <(units)
	say "$n file(s) installed"
}

# gone PATH: remove PATH if it exists and say so.
gone() {
	if [[ -e $1 ]]; then
		rm -f "$1"
		say "removed $1"
	fi
}

do_uninstall() {
	local p f d kver
	for p in "${PROGS[@]}"; do
		gone "$SBIN/$(basename "$p")"
	done
	for d in "$DESTDIR"/lib/modules/*/extra; do
		[[ -f $d/qbd.ko ]] || continue
		gone "$d/qbd.ko"
		kver=$(basename "$(dirname "$d")")
		if [[ -z $DESTDIR ]]; then
			depmod -a "$kver"
		fi
	done
	for f in "$TOP"/udev/*.rules; do
		[[ -f $f ]] && gone "$UDEV/$(basename "$f")"
	done
	for f in "$TOP"/man/*.5 "$TOP"/man/*.8; do
		[[ -f $f ]] && gone "$MAN/man${f##*.}/$(basename "$f")"
	done
	while read -r f; do
		[[ -n $f ]] && gone "$UNITS/$(basename "$f")"
	done < <(units)
	say "uninstalled"
}

do_dkms() {
	local ver src k built=0
	command -v dkms >/dev/null || { echo "install: dkms is not installed (make deps)" >&2; exit 1; }
	ver=$(sed -nE 's/^PACKAGE_VERSION="?([^"]*)"?/\1/p' "$TOP/dkms.conf")
	[[ -n $ver ]] || { echo "install: no PACKAGE_VERSION in $TOP/dkms.conf" >&2; exit 1; }
	src=/usr/src/qbd-$ver
	if dkms status -m qbd -v "$ver" 2>/dev/null | grep -q .; then
		dkms remove -m qbd -v "$ver" --all
	fi
	rm -rf "$src"
	mkdir -p "$src"
	cp "$TOP/dkms.conf" "$src/"
	tar -C "$TOP" --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude=Module.symvers --exclude=modules.order -cf - kmod include |
		tar -C "$src" -xf -
	say "$src"
	dkms add -m qbd -v "$ver"
	for k in /lib/modules/*; do
		k=$(basename "$k")
		[[ -d /lib/modules/$k/build ]] || continue
		dkms build -m qbd -v "$ver" -k "$k"
		dkms install -m qbd -v "$ver" -k "$k"
		built=$((built + 1))
	done
	((built > 0)) || { echo "install: no kernel with headers under /lib/modules" >&2; exit 1; }
	dkms status -m qbd
}

case ${1:-} in
install) do_install ;;
uninstall) do_uninstall ;;
dkms) do_dkms ;;
*)
	echo "usage: $0 install|uninstall|dkms" >&2
	exit 2
	;;
esac
