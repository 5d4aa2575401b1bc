// SPDX-License-Identifier: GPL-2.0
/*
 * The module's pure logic, built once for the KUnit suites (UML has no
 * blk-mq device to build the rest against, and needs none).
 */
#include <linux/module.h>

#include "../qbd_shard.c"
#include "../qbd_proto.c"
#include "../qbd_validate.c"
#include "../qbd_throttle.c"
#include "../qbd_state.c"
#include "../qbd_rdma_logic.c"

MODULE_DESCRIPTION("qbd KUnit suites: the module's pure logic");
MODULE_LICENSE("GPL");
