# qbd: the one entry point. `make help` lists the targets.
SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD ?= $(TOP)/build
# Kernel build directory: the running kernel's headers, else the newest
# Debian kernel under /lib/modules (scripts/find-kdir.sh). Override with KDIR=.
KDIR ?= $(shell $(TOP)/scripts/find-kdir.sh 2>/dev/null)
KVER ?= $(notdir $(patsubst %/,%,$(dir $(KDIR))))
JOBS ?= $(shell nproc)
PREFIX ?= /usr
DESTDIR ?=
export TOP BUILD KDIR KVER JOBS PREFIX DESTDIR

.PHONY: all help deps kmod userspace userspace-asan test test-unit test-kunit \
	test-vm test-debug debug-kernel fuzz demo bench install uninstall dkms-install lint clean check-kdir

all: kmod userspace

help:
	@echo "make deps          install the Debian packages the project needs"
	@echo "make [all]         build qbd.ko and the userspace programs"
	@echo "make test          deps, then unit tests (ASan/UBSan), KUnit (UML), VM scenarios"
	@echo "make test-unit | test-kunit | test-vm [SCENARIO=name]   one ring"
	@echo "make test-debug [SCENARIO=name]   the VM suite on a KASAN/KFENCE/kmemleak/lockdep"
	@echo "                   kernel built from linux-source-6.1 (not in 'make test'; before a release)"
	@echo "make debug-kernel  only build (and cache in .cache/debug-kernel/) that kernel"
	@echo "make fuzz [FUZZ_SECONDS=60]   build the libFuzzer targets (clang) and run each N s"
	@echo "make demo          boot the VM, map a volume, mkfs, mount, verify, show /proc/qbdstat"
	@echo "make bench         benchmarks (qbd vs NBD vs NVMe/TCP) into bench/results/"
	@echo "make install [DESTDIR=] [PREFIX=] | uninstall | dkms-install"
	@echo "make lint          checkpatch, sparse and clang-format on the module"
	@echo "NATIVE=1           run scenarios on this host instead of the VM (kernel must load modules)"

deps:
	@$(TOP)/scripts/deps.sh

check-kdir:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { echo "make: no kernel headers found (run 'make deps' or set KDIR=)" >&2; exit 1; }

kmod: check-kdir
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules

userspace:
	@cmake -S $(TOP)/userspace -B $(BUILD)/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD)/userspace -j $(JOBS)

userspace-asan:
	@cmake -S $(TOP)/userspace -B $(BUILD)/userspace-asan -DCMAKE_BUILD_TYPE=Debug -DQBD_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)/userspace-asan -j $(JOBS)

test: deps
	$(TOP)/tests/run-all.sh all

test-unit: deps
	$(TOP)/tests/run-all.sh unit

test-kunit: deps
	$(TOP)/tests/run-all.sh kunit

test-vm: deps
	$(TOP)/tests/run-all.sh vm

# The debug kernel (scripts/debug-kernel.sh, tests/vm/debug-kernel.config):
# built once into .cache/debug-kernel/ (slow the first time: see
# docs/testing.md), then the VM suite boots it. Deliberately not part of
# `make test` / CI.
debug-kernel:
	$(TOP)/scripts/debug-kernel.sh build

test-debug: deps
	$(TOP)/scripts/debug-kernel.sh test

# libFuzzer targets (userspace/fuzz): build with clang into build/fuzz, run
# each for FUZZ_SECONDS; crashes are kept in build/fuzz/crashes/.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(TOP)/tests/fuzz/run.sh

demo: deps all
	$(TOP)/tests/vm/run.sh demo

bench: deps all
	$(TOP)/bench/run.sh

install: all
	$(TOP)/scripts/install.sh install

uninstall:
	$(TOP)/scripts/install.sh uninstall

dkms-install: deps
	$(TOP)/scripts/install.sh dkms

lint: check-kdir
	$(TOP)/scripts/lint.sh

clean:
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP)/kmod clean
	rm -rf $(BUILD)
