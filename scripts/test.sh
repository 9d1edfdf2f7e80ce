#!/usr/bin/env bash
# The whole test suite: installs dependencies, runs the lint gate (make
# lint), builds with warnings as errors, runs every test (unit, end-to-end, fuzz corpus replay), then does
# it all again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
jobs=$(nproc)
echo "== lint (cppcheck, clang-format)"
make lint
echo "== build and test (release)"
make -j"$jobs" WERROR=1 all unit e2e fuzz-replay
make WERROR=1 test
echo "== build and test (address,undefined sanitizers)"
make -j"$jobs" WERROR=1 SANITIZE=address,undefined all unit e2e fuzz-replay
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	make WERROR=1 SANITIZE=address,undefined test
