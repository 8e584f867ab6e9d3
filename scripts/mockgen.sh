#!/bin/sh
# Generates one file of gomock mocks in reflect mode:
#
#     mockgen.sh <destination> <import path> <Interface>[,<Interface>...]
#
# It exists so that every go:generate directive in mocks/ uses the same pinned
# mockgen, and so that the generated files carry no package comment: mockgen
# writes "Package mocks is a generated GoMock package." into every file, and
# go doc would show that line once per file above the real package doc in
# mocks/generate.go.
#
# Reflect mode is used for every interface, sarama's included: it names the
# interfaces to mock explicitly (source mode mocks every interface of a file),
# and the generated header names an import path instead of a path into the
# module cache of whoever ran it, so the output is the same on every machine.
#
# `go run pkg@version` builds mockgen outside our module, so neither mockgen
# nor its dependencies have to be in go.mod; only the gomock runtime is.
set -eu

MOCKGEN=github.com/golang/mock/mockgen@v1.6.0

if [ "$#" -ne 3 ]; then
	echo "usage: $0 <destination> <import path> <Interface>[,<Interface>...]" >&2
	exit 2
fi
dest=$1
pkg=$2
ifaces=$3

tmp=$(mktemp "${TMPDIR:-/tmp}/mockgen.XXXXXX")
trap 'rm -f "$tmp"' EXIT

# Without -destination mockgen writes to stdout and does not try to infer
# -self_package from a GOPATH, which would only print a warning here.
go run "$MOCKGEN" -package mocks "$pkg" "$ifaces" >"$tmp"
grep -v '^// Package mocks is a generated GoMock package\.$' "$tmp" >"$dest"
