// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test only: a module that leaks one allocation on load, so the
 * VM harness can prove its kmemleak check (kernels with CONFIG_DEBUG_KMEMLEAK,
 * i.e. the debug kernel) catches a leak whose backtrace is in a qbd module.
 * Never loaded outside tests/vm/selftest/kmemleak.sh.
 */
#include <linux/module.h>
#include <linux/slab.h>

static void *qbd_selftest_leak_ptr;

/* Not __init: its symbol must still resolve when kmemleak prints the trace. */
static noinline int qbd_selftest_leak_alloc(void)
{
	void *p = kmalloc(200, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	/* Used once, then the only reference is dropped: a leak. */
	WRITE_ONCE(qbd_selftest_leak_ptr, p);
	WRITE_ONCE(qbd_selftest_leak_ptr, NULL);
	return 0;
}

static int __init qbd_selftest_leak_init(void)
{
	return qbd_selftest_leak_alloc();
}
module_init(qbd_selftest_leak_init);

static void __exit qbd_selftest_leak_exit(void)
{
}
module_exit(qbd_selftest_leak_exit);

MODULE_DESCRIPTION("qbd VM harness self-test: leaks one allocation on load");
MODULE_LICENSE("GPL");
