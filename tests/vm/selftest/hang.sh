#!/bin/bash
# qbd-vm: no-load timeout=40
# Harness self-test: a scenario that never ends. The harness must kill the
# VM at the timeout and report it FAILED, never PASSED.
echo "ok 1 - about to hang"
sleep infinity
