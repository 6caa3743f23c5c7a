# Portico's development targets. Run `make help` for the list.

GO      ?= go
TOOLS   := $(GO) tool -modfile=internal/tools/go.mod
PKGS    := ./...
# Nested modules with heavy test-only dependencies, tested on their own.
NESTED  := $(patsubst %/go.mod,%,$(filter-out internal/tools/go.mod,$(wildcard internal/*/go.mod)))
BENCH   ?= .
COUNT   ?= 10

.PHONY: help test lint bench bench-load bench-reload pgo cover check fmt

help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

test: ## Run every test with the race detector, nested modules included, then the timing-bound fault tests without it (no PGO: a test build need not compile twice).
	$(GO) test -pgo=off -race -count=1 $(PKGS)
	$(GO) test -pgo=off -count=1 -run '^TestFaults(SlowInstance)?$$' ./gateway/
	@for m in $(NESTED); do echo "== $$m"; (cd $$m && $(GO) test -pgo=off -race -count=1 ./...) || exit 1; done

lint: ## go vet, staticcheck, golangci-lint and gofmt.
	$(GO) vet $(PKGS)
	$(TOOLS) staticcheck $(PKGS)
	$(TOOLS) golangci-lint run $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@for m in $(NESTED); do echo "== vet $$m"; (cd $$m && $(GO) vet ./...) || exit 1; done

bench: ## Run benchmarks (BENCH=regexp, COUNT=n); compare runs with `go tool -modfile=internal/tools/go.mod benchstat old.txt new.txt`.
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) $(PKGS)

bench-load: ## Load-test the example gateway against a bare ReverseProxy (LOAD_FLAGS="-duration 8s -runs 3"); see examples/loadtest.
	$(GO) run ./examples/loadtest $(LOAD_FLAGS)

bench-reload: ## Latency of the example gateway under open-loop load, steady and reloaded every 400ms (LOAD_FLAGS="-runs 3"); see examples/loadtest.
	$(GO) run ./examples/loadtest -targets reload $(LOAD_FLAGS)

pgo: ## Profile the example gateway under bench-load's targets and write examples/gateway/default.pgo, the profile its builds use (PGO); see examples/loadtest.
	$(GO) run ./examples/loadtest -duration 5s -cpuprofile examples/gateway/default.pgo $(LOAD_FLAGS)

cover: ## Write coverage to cover.out and print the per-function summary.
	$(GO) test -count=1 -coverprofile=cover.out $(PKGS)
	$(GO) tool cover -func=cover.out | tail -1

fmt: ## Format all Go files.
	gofmt -w $$(git ls-files '*.go')

check: lint test ## lint, then test.
