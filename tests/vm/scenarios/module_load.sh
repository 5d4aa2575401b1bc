#!/bin/bash
# The harness has loaded qbd.ko: the control device and /proc/qbdstat are
# there, the module unloads cleanly, both go away, and it loads again.
. "$QBD_TOP/tests/vm/lib.sh"

check "qbd is loaded" qbd_loaded
check "/dev/qbdctl is a character device" test -c /dev/qbdctl
check_eq "/dev/qbdctl mode is crw-------" "$(stat -c %A /dev/qbdctl 2>&1)" "crw-------"
check_eq "/dev/qbdctl is owned by root:root" "$(stat -c %U:%G /dev/qbdctl 2>&1)" "root:root"
check "/proc/qbdstat is readable" cat /proc/qbdstat
check "/dev/qbdctl misc minor is listed in /proc/misc" grep -qw qbdctl /proc/misc
# Recovery and heartbeats run on qbd_ctl, IO on qbd_io: both WQ_MEM_RECLAIM,
# so each has its rescuer thread, named after it.
check "workqueue rescuers qbd_io and qbd_ctl" bash -c 'pgrep -x qbd_io && pgrep -x qbd_ctl'
check "rmmod qbd" qbd_unload
check "the rescuers are gone" bash -c '! pgrep -x qbd_io && ! pgrep -x qbd_ctl'
check "qbd is no longer in /proc/modules" bash -c '! grep -q "^qbd " /proc/modules'
check "/dev/qbdctl is gone" wait_gone /dev/qbdctl 5
check "/proc/qbdstat is gone" test ! -e /proc/qbdstat
check "load qbd.ko again" qbd_load
check "/dev/qbdctl is back" wait_until 5 test -c /dev/qbdctl
check "/proc/qbdstat is back" cat /proc/qbdstat
check "rmmod qbd a second time" qbd_unload
