#!/bin/bash
# Build the busybox initramfs of the qbd VM harness for kernel KVER:
#   mkinitrd.sh KVER OUT [MODBASE]
# It holds busybox, the 9p/virtio modules the host root share needs (in
# dependency order, from modprobe --show-depends; none when the kernel has
# them built in, as the debug kernel does) and tests/vm/guest/{init,
# stage2.sh}. The modules are looked up in MODBASE/lib/modules/KVER
# (default MODBASE: /). tests/vm/run.sh calls it when the cache key changes.
set -euo pipefail
KVER=$1
OUT=$2
MODBASE=${3:-/}
HERE=$(cd "$(dirname "$0")" && pwd)
bb=$(command -v busybox || true)
[[ -n $bb ]] || { echo "mkinitrd: busybox not found (package busybox-static)" >&2; exit 1; }
if ldd "$bb" >/dev/null 2>&1; then
	echo "mkinitrd: $bb is dynamically linked (install busybox-static)" >&2
	exit 1
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/qbd-initrd.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W"/{bin,sbin,proc,sys,dev,newroot,mods}
cp "$bb" "$W/bin/busybox"
for a in sh mount umount mkdir insmod cat echo sleep poweroff chroot switch_root sync ls cp cut chmod; do
	ln -s busybox "$W/bin/$a"
done
deps=""
for m in 9p 9pnet_virtio virtio_pci; do
	d=$(modprobe -d "$MODBASE" -S "$KVER" --show-depends "$m") ||
		{ echo "mkinitrd: module $m not found for $KVER in $MODBASE/lib/modules" >&2; exit 1; }
	deps+="$d"$'\n'
done
: > "$W/mods/order"
while read -r ko; do
	b=$(basename "$ko")
	case $ko in
	*.ko.xz) xz -dc "$ko" > "$W/mods/${b%.xz}"; b=${b%.xz} ;;
	*.ko.zst) zstd -qdc "$ko" > "$W/mods/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$ko" "$W/mods/$b" ;;
	esac
	echo "$b" >> "$W/mods/order"
done < <(awk '$1 == "insmod" && !seen[$2]++ { print $2 }' <<<"$deps")
[[ -s $W/mods/order ]] || grep -q '^builtin ' <<<"$deps" ||
	{ echo "mkinitrd: no 9p/virtio modules found for $KVER" >&2; exit 1; }
install -m 0755 "$HERE/guest/init" "$W/init"
install -m 0755 "$HERE/guest/stage2.sh" "$W/stage2.sh"
(cd "$W" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
