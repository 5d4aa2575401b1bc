#!/bin/bash
# qbd-vm: no-load timeout=120
# Harness self-test: the script itself succeeds, but the kernel logs a
# WARNING (a test module whose init does WARN_ON(1)). Only the harness'
# kernel-log scan can fail this scenario, and it must.
ko=$QBD_BUILD/vm/selftest/warnmod/qbd_selftest_warn.ko
if [[ ! -f $ko ]]; then
	echo "not ok 1 - $ko is missing (tests/vm/selftest/run.sh builds it)"
	exit 1
fi
if insmod "$ko" 2>/dev/null; then
	echo "not ok 1 - insmod $ko succeeded, its init should fail"
	exit 1
fi
echo "ok 1 - insmod of the WARN_ON module failed as designed"
if dmesg | grep -q 'WARNING:.*qbd_selftest_warn'; then
	echo "ok 2 - the kernel logged the WARNING"
else
	echo "# the kernel did not log the expected WARNING; dmesg tail:"
	dmesg | tail -n 20 | sed 's/^/# /'
	echo "ok 2 - (no WARNING seen: the self-test runner will flag this)"
fi
exit 0
