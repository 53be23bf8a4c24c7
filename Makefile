# The menu. `make help` lists it.
GO      ?= go
BIN     := bin
# PostgreSQL for the store contract tests; .ci/run exports its own.
PARKLOT_TEST_POSTGRES_DSN ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export PARKLOT_TEST_POSTGRES_DSN

.PHONY: help build run test test-short bench lint fmt clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/parklot and bin/parklot-worker
	$(GO) build -o $(BIN)/parklot ./starter
	$(GO) build -o $(BIN)/parklot-worker ./workers

run: build ## start the desktop runtime (Temporal, Web UI, worker, HTTP) with a demo workload
	$(BIN)/parklot-worker dev --demo

test: ## run the whole test suite
	$(GO) test -count=1 -timeout 20m ./...

test-short: ## run the fast tests only (no embedded Temporal server)
	$(GO) test -short -count=1 ./...

bench: ## run the domain benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./domain/...

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "run: gofmt -w ."; exit 1)
	$(GO) vet ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output (keeps .parklot data)
	rm -rf $(BIN)
