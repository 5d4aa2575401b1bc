// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test only: a module whose init triggers a kernel WARNING and
 * fails, so the VM harness can prove its kernel-log scan catches warnings.
 * Never loaded outside tests/vm/selftest/kernel_warn.sh.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init qbd_selftest_warn_init(void)
{
	WARN_ON(1);
	return -EINVAL;
}
module_init(qbd_selftest_warn_init);

MODULE_DESCRIPTION("qbd VM harness self-test: WARN_ON in init");
MODULE_LICENSE("GPL");
