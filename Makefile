# The index of what a person can do with this repo.
GO      ?= go
BIN     := bin/serpstat-export
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
# Evaluated once: every use in one make run (the binary, the image's
# labels) agrees, a second later too.
VERSION    := $(VERSION)
COMMIT     := $(COMMIT)
BUILD_DATE := $(BUILD_DATE)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)
# Release binaries (dist, image): no symbol table or DWARF (-s -w), no
# build paths (-trimpath), no cgo: a third lighter, and static.
RELEASE_FLAGS := -trimpath -ldflags "-s -w $(LDFLAGS)"

.PHONY: all build demo test test-parquet check fmt vet bench bench-rss cross dist image test-image clean

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

## bench: sink, decode and end-to-end benchmarks; writes BENCHMARKS.md (about 13 minutes)
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
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o $$out ./cmd/serpstat-export; \
	done
	@cd dist && if command -v sha256sum >/dev/null; then sha256sum serpstat-export-*; \
		else shasum -a 256 serpstat-export-*; fi > SHA256SUMS && cat SHA256SUMS

# The image's platform: amd64, or arm64 (make image IMAGE_ARCH=arm64).
IMAGE_ARCH ?= amd64
IMAGE      := out/serpstat-export-image.tar
ifneq ($(IMAGE_ARCH),amd64)
IMAGE      := out/serpstat-export-image-$(IMAGE_ARCH).tar
endif

## image: the container image as a tarball, out/serpstat-export-image.tar (docker load -i it); no daemon needed
image:
	@mkdir -p out/image/linux-$(IMAGE_ARCH)
	GOOS=linux GOARCH=$(IMAGE_ARCH) CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o out/image/linux-$(IMAGE_ARCH)/serpstat-export ./cmd/serpstat-export
	cd tools/image && $(GO) run -mod=mod . -binary ../../out/image/linux-$(IMAGE_ARCH)/serpstat-export -arch $(IMAGE_ARCH) \
		-version "$(VERSION)" -revision "$(COMMIT)" -created "$(BUILD_DATE)" -o ../../$(IMAGE)

## test-image: reads the image tarball back, checks its config and runs the binary it holds (after make image)
test-image:
	cd tools/image && $(GO) vet -mod=mod ./...
	@mkdir -p out
	@cd tools/image && rc=0; SERPSTAT_IMAGE_TAR=$(CURDIR)/$(IMAGE) SERPSTAT_IMAGE_VERSION="$(VERSION)" \
		$(GO) test -mod=mod -count=1 -v ./... > $(CURDIR)/out/test-image.log 2>&1 || rc=$$?; \
		cat $(CURDIR)/out/test-image.log; [ $$rc -eq 0 ]
	@grep -q -- '^--- PASS: TestImageTarball ' out/test-image.log || { echo "test-image: TestImageTarball did not run (make image first)"; exit 1; }

clean:
	rm -rf bin out dist
