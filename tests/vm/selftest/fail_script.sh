#!/bin/bash
# qbd-vm: no-load timeout=120
# Harness self-test: a scenario that reports a failure and exits 1.
# The harness must report it FAILED.
echo "ok 1 - this one passes"
echo "not ok 2 - this one fails on purpose"
exit 1
