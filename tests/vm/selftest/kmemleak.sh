#!/bin/bash
# qbd-vm: no-load timeout=120
# Harness self-test, kernels with kmemleak only (the debug kernel): the script
# succeeds, but a test module leaks one allocation from a qbd_* function.
# Only the harness' kmemleak check can fail this scenario, and it must.
ko=$QBD_BUILD/vm/selftest/warnmod/qbd_selftest_leak.ko
if [[ ! -f $ko ]]; then
	echo "not ok 1 - $ko is missing (tests/vm/selftest/run.sh builds it)"
	exit 1
fi
if [[ ! -e /sys/kernel/debug/kmemleak ]]; then
	echo "not ok 1 - this kernel has no kmemleak (/sys/kernel/debug/kmemleak)"
	exit 1
fi
if ! insmod "$ko"; then
	echo "not ok 1 - insmod $ko failed"
	exit 1
fi
echo "ok 1 - the leaking module is loaded (left loaded: its symbols must resolve)"
exit 0
