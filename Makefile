# make test: what CI runs. make demo: the producer against a local Kinesis.
GO ?= go
NPM ?= npm

.PHONY: test demo deps vet fmt-check cross bench generate

# NODE_STAMP marks an install of the pinned Kinesis-compatible test servers
# (kinesalite, kinesis-local) by npm ci: make runs npm ci again only when
# node_modules or the stamp is missing, or package.json or package-lock.json
# is newer than the stamp. The stamp is touched only after npm ci succeeds.
NODE_STAMP := node_modules/.kplgo-installed

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(@D) && touch $@

# deps installs the test servers (when stale, see NODE_STAMP) and the Go modules.
deps: $(NODE_STAMP)
	$(GO) mod download

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# cross vets the engine, whose checksum code is chosen by build tags, for
# 386 and arm64 (no SIMD lanes there); make test also runs the engine's tests
# with -tags noasm (no assembly at all), with AVX-512 turned off (the AVX2
# lanes) and with AVX2 turned off too, as on an amd64 CPU without either:
# crypto/md5 for the producer, portable Go for the lanes' tests.
cross:
	GOARCH=386 $(GO) vet ./internal/engine/
	GOOS=linux GOARCH=arm64 $(GO) vet ./internal/engine/

test: deps vet fmt-check cross
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -tags noasm ./internal/engine/
	GODEBUG=cpu.avx512f=off $(GO) test -count=1 ./internal/engine/
	GODEBUG=cpu.avx512f=off,cpu.avx2=off $(GO) test -count=1 ./internal/engine/

demo: $(NODE_STAMP)
	$(GO) run ./cmd/kpl-demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

generate:
	$(GO) generate ./...
