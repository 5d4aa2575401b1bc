#!/bin/bash
# Print the kernel build directory to build qbd.ko against: the running
# kernel's headers when installed, else the newest Debian kernel under
# /lib/modules that has a build directory. KVER selects one explicitly.
set -euo pipefail
if [[ -n ${KVER:-} ]]; then
	echo "/lib/modules/$KVER/build"; exit 0
fi
run=$(uname -r)
if [[ -d /lib/modules/$run/build ]]; then
	echo "/lib/modules/$run/build"; exit 0
fi
newest=$(ls -1 /lib/modules 2>/dev/null | while read -r v; do
	[[ -d /lib/modules/$v/build ]] && echo "$v"; done | sort -V | tail -n1)
if [[ -z $newest ]]; then
	echo "find-kdir: no kernel headers under /lib/modules (run 'make deps')" >&2
	exit 1
fi
echo "/lib/modules/$newest/build"
