# tarshift — `make demo` and `make test` do all set-up on a fresh machine (Node 20, npm, apt).
SHELL := /bin/bash
NPM ?= npm

.PHONY: all build builddeps deps sysdeps test demo bench bench-sshfs clean

all: build

# npm ci builds the native addon (binding.gyp), which links libzstd: its header comes first.
node_modules/.installed: package.json package-lock.json | builddeps
	$(NPM) ci --no-audit --no-fund
	touch $@

deps: node_modules/.installed

# System packages the tests need: GNU tar, attr tools, sshfs + openssh-server for the
# network-filesystem test. Installed only when missing (root on CI machines).
sysdeps:
	@bash scripts/install-sysdeps.sh

# What the native addon is built with (libzstd-dev).
builddeps:
	@bash scripts/install-sysdeps.sh build

build: builddeps deps
	$(NPM) run --silent build

test: build sysdeps
	$(NPM) test --silent

demo: build
	@bash scripts/demo.sh

bench: build
	@bash benchmarks/compare.sh

bench-sshfs: build
	@BENCH_SAVEDIR=sshfs bash benchmarks/compare.sh

clean:
	rm -rf dist build node_modules/.installed
