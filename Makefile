# make test: what CI runs. make demo: the producer against a local Kinesis.
GO ?= go

.PHONY: test demo deps vet fmt-check bench generate

# deps installs the pinned Kinesis-compatible test servers (kinesalite, kinesis-local) and the Go modules.
deps:
	npm ci --no-audit --no-fund --loglevel=error
	$(GO) mod download

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: deps vet fmt-check
	$(GO) test -race -count=1 -timeout 20m ./...

demo: deps
	$(GO) run ./cmd/kpl-demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

generate:
	$(GO) generate ./...
