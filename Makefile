# The targets a developer and CI use. `make test` is the whole gate.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 60s

.PHONY: test vet unit examples browsertest generate bench fuzz kafka-install kafka-start kafka-stop \
	kafka-cluster-start kafka-cluster-stop systemtest systemtest-single systemtest-cluster

# Everything: static checks, the unit and integration tests, every example
# run on the embedded broker, the monitor page in a real browser, and the
# system tests against a real Kafka broker and a three-broker cluster that the
# project's script installs.
test: vet unit examples browsertest systemtest

# The tester's QueueTracker.Seek(int64) is goka's signature, which vet's
# stdmethods check mistakes for io.Seeker: that one check is off for tester.
# apicheck compares the exported API with goka v1.1.16's, line by line,
# allowing only the divergences listed with a reason.
vet:
	$(GO) vet $$($(GO) list $(PKGS) | grep -v '/tester$$')
	$(GO) vet -stdmethods=false ./tester
	$(GO) run ./scripts/apicheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Unit and integration tests (embedded broker); the system tests need a real
# broker and run in their own target.
unit:
	scripts/redis.sh install
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -v /systemtest)

# Builds every example and runs each on the embedded broker, checking the
# output it promises; 7-redis needs redis-server, which the script installs
# when missing.
examples:
	scripts/redis.sh install
	scripts/smoke-examples.sh

# Renders the monitor page of a running example in headless Chromium (which
# the script installs when missing) and keeps a screenshot in test-artifacts/;
# then reads its /metrics while a backlog builds, expecting a consumer lag.
browsertest:
	scripts/browser-test.sh
	scripts/metrics-check.sh

KAFKA      ?= scripts/kafka.sh
KAFKA_PORT ?= 9092
export KAFKA_PORT
# The cluster's client ports are KAFKA_CLUSTER_PORT and the next two.
KAFKA_CLUSTER_PORT ?= 29092
export KAFKA_CLUSTER_PORT

kafka-install:
	$(KAFKA) install
kafka-start:
	$(KAFKA) start
kafka-stop:
	$(KAFKA) stop
kafka-cluster-start:
	$(KAFKA) cluster-start
kafka-cluster-stop:
	$(KAFKA) cluster-stop

# SYSTEMTEST_FLAGS go to both go test runs, e.g. -v for the scenarios'
# summaries (loss and duplicate counts, failover times).
SYSTEMTEST_FLAGS ?=

# The system tests: first those on a single broker, then the cluster's
# (TestCluster*), one Kafka setup at a time so that a 2-core machine runs
# either one JVM or three, never four. The second runs even when the first
# failed. Without Java they are skipped loudly, unless REQUIRE_KAFKA=1.
systemtest:
	@status=0; \
	$(MAKE) --no-print-directory systemtest-single || status=1; \
	$(MAKE) --no-print-directory systemtest-cluster || status=1; \
	exit $$status

# A fresh broker, the single-broker system tests, and the broker stopped even
# when they fail.
systemtest-single:
	@if ! command -v java >/dev/null 2>&1 && [ "$${REQUIRE_KAFKA:-}" != 1 ]; then \
	  echo; echo "*** SYSTEM TESTS SKIPPED: java not found (Kafka needs Java 17+). REQUIRE_KAFKA=1 makes this a failure. ***"; echo; \
	  exit 0; \
	fi; \
	$(KAFKA) install && $(KAFKA) start || { $(KAFKA) stop; exit 1; }; \
	status=0; \
	KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT) KAFKA_CLUSTER_BROKERS= \
	  $(GO) test -race -count=1 -timeout 20m $(SYSTEMTEST_FLAGS) -skip '^TestCluster' ./systemtest/... || status=$$?; \
	$(KAFKA) stop; \
	exit $$status

# A fresh three-broker cluster (replication 3, min.insync.replicas 2), the
# system tests that kill its leaders, and the cluster stopped even when they
# fail.
systemtest-cluster:
	@if ! command -v java >/dev/null 2>&1 && [ "$${REQUIRE_KAFKA:-}" != 1 ]; then \
	  echo; echo "*** CLUSTER SYSTEM TESTS SKIPPED: java not found (Kafka needs Java 17+). REQUIRE_KAFKA=1 makes this a failure. ***"; echo; \
	  exit 0; \
	fi; \
	$(KAFKA) install || exit 1; \
	brokers=$$($(KAFKA) cluster-start) || { $(KAFKA) cluster-stop; exit 1; }; \
	status=0; \
	KAFKA_BROKERS= KAFKA_CLUSTER_BROKERS=$$brokers \
	  $(GO) test -race -count=1 -timeout 20m $(SYSTEMTEST_FLAGS) -run '^TestCluster' ./systemtest/... || status=$$?; \
	$(KAFKA) cluster-stop; \
	exit $$status

generate:
	$(GO) generate $(PKGS)

bench:
	$(GO) run ./bench $(BENCHFLAGS)

# Runs every fuzz target of every package for FUZZTIME each, one at a time.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -parallel 1 || exit 1; \
	  done; \
	done
