# The targets a developer and CI use. `make test` is the whole gate.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 60s

.PHONY: test vet unit generate bench fuzz

test: vet unit

# The tester's QueueTracker.Seek(int64) is goka's signature, which vet's
# stdmethods check mistakes for io.Seeker: that one check is off for tester.
vet:
	$(GO) vet $$($(GO) list $(PKGS) | grep -v '/tester$$')
	$(GO) vet -stdmethods=false ./tester
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

generate:
	$(GO) generate $(PKGS)

bench:
	$(GO) run ./bench

# Runs every fuzz target of every package for FUZZTIME each, one at a time.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -parallel 1 || exit 1; \
	  done; \
	done
