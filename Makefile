# The index of what a person can do with this repo.
GO      ?= go
BIN     := bin/serpstat-export
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

.PHONY: all build demo test test-parquet check fmt vet bench clean

all: check build

## build: the binary, at bin/serpstat-export
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/serpstat-export

## demo: a real export against the embedded fake API, into ./out/
demo: build
	./scripts/demo.sh $(BIN)

## test: every test, the race detector on, and the independent Parquet reader
test:
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -run 'TestSameDayOverTheWall' ./cmd/serpstat-export
	$(MAKE) test-parquet

## test-parquet: reads our Parquet with arrow-go (a separate module)
test-parquet:
	cd sink/parquetcheck && $(GO) test -mod=mod -count=1 ./...

## check: gofmt, go vet, tests with -race (run before each commit)
check: fmt vet test

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd sink/parquetcheck && $(GO) vet -mod=mod ./...

## bench: sink, decode and end-to-end benchmarks; writes BENCHMARKS.md (about 3 minutes)
bench:
	GO=$(GO) ./scripts/bench.sh

clean:
	rm -rf bin out
