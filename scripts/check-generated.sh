#!/bin/sh
# Fails when the checked-in mocks differ from what `go generate ./mocks/...`
# produces, e.g. after an interface they mock changed or sarama was upgraded.
#
# It regenerates into the tree and compares with a copy taken beforehand
# rather than asking git, so it also works outside a git checkout and also
# catches a generated file that was never added. On failure the regenerated
# files are left in place: review them and commit them.
set -eu
cd "$(dirname "$0")/.."

before=$(mktemp -d "${TMPDIR:-/tmp}/check-generated.XXXXXX")
trap 'rm -rf "$before"' EXIT
cp -R mocks "$before/mocks"

go generate ./mocks/...

if ! diff -ru "$before/mocks" mocks >"$before/diff"; then
	echo "check-generated: the mocks in mocks/ are stale; regenerated files differ:" >&2
	head -n 60 "$before/diff" >&2
	echo "check-generated: run 'make generate' and commit mocks/" >&2
	exit 1
fi
echo "check-generated: mocks/ is up to date"
