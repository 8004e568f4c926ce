# The index of what a person can do with this repo.
GO      ?= go
BIN     := bin/serpstat-export
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

.PHONY: all build demo test test-parquet check fmt vet bench bench-rss cross dist clean

# The platforms of cross and dist: GOOS/GOARCH.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

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

## bench: sink, decode and end-to-end benchmarks; writes BENCHMARKS.md (about 8 minutes)
bench:
	GO=$(GO) ./scripts/bench.sh

## bench-rss: only the peak RSS of the binary per format (about 4 minutes); prints the tables
bench-rss:
	@mkdir -p out
	$(GO) test -run '^$$' -bench '^BenchmarkE2E(StartRSS|PeakRSS)$$' -benchtime 1x -count $${BENCH_COUNT:-3} \
		-timeout 30m ./cmd/serpstat-export | tee out/bench-rss.txt
	$(GO) run ./scripts/benchreport -rss -o - < out/bench-rss.txt

## cross: build every package for each of $(PLATFORMS) (what CI checks)
cross:
	@set -e; for p in $(PLATFORMS); do \
		echo "go build ./... for $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build ./...; \
	done

## dist: the binary for each of $(PLATFORMS) in dist/, with dist/SHA256SUMS
dist:
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=dist/serpstat-export-$$os-$$arch$$ext; echo "$$out"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/serpstat-export; \
	done
	@cd dist && if command -v sha256sum >/dev/null; then sha256sum serpstat-export-*; \
		else shasum -a 256 serpstat-export-*; fi > SHA256SUMS && cat SHA256SUMS

clean:
	rm -rf bin out dist
