# Tutti build, test and lint entry points. CI runs `make test` (see .ci/run), the README's test command.

GO            ?= go
BIN           := bin
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOGOPROTO_DIR  = $(shell $(GO) list -m -f '{{.Dir}}' github.com/cosmos/gogoproto)
PROTO_GEN     := github.com/cosmos/gogoproto/protoc-gen-gocosmos@v1.7.2
# Packages whose tests are too slow under the race detector on 2 cores run without it.
TEST_FLAGS    ?= -race -timeout 20m

.PHONY: all build test unit sim lint proto bench localnet clean

all: build

build:
	$(GO) build -o $(BIN)/tutti ./cmd/tutti

# The whole suite CI runs: lint, every package's tests with the race detector, then the
# simulator's CI tier (500 swarm seeds and every planted bug) at full speed.
test: lint unit sim

# The simulator runs single-threaded on virtual time; under the race detector it runs its
# quick tests only, and its seed tiers run below without it.
unit:
	$(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v /engine/sim$$)
	$(GO) test $(TEST_FLAGS) -run 'TestSameSeedSameTrace|TestFaultFreeRunCommitsEverything|TestReplayCommand' ./engine/sim/

SIM_SEEDS ?= 500
sim:
	TUTTI_SIM_SEEDS=$(SIM_SEEDS) $(GO) test -count=1 -timeout 20m -v -run 'TestSwarm|TestCheckersCatchPlantedBugs|TestExternal|TestLedger|TestRegressionSeeds|TestCometBFTE2E' ./engine/sim/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Regenerates the gogoproto code. Proto files live next to the Go package they generate,
# named by their path under the module (package tutti.engine.types lives in engine/types/),
# so protoc sees the repository through a temporary "tutti" link; one protoc call per
# directory, as protoc wants one Go package per call. Generated code is committed: a build
# needs no protoc.
proto:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	$(GO) install $(PROTO_GEN)
	@tmp=$$(mktemp -d) && ln -s $(CURDIR) $$tmp/tutti && mkdir $$tmp/out && \
	  for dir in $$(find engine app p2p abci -name '*.proto' -printf '%h\n' | sort -u); do \
	    (cd $$tmp && PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc -I . -I $(GOGOPROTO_DIR) \
	      --gocosmos_out=$$tmp/out tutti/$$dir/*.proto) || exit 1; \
	  done && \
	  cp -r $$tmp/out/github.com/tutti-bft/tutti/. $(CURDIR)/ && rm -rf $$tmp

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The README's main job: a 4-validator network on this host.
LOCALNET_DIR ?= localnet
localnet: build
	$(BIN)/tutti testnet --v 4 --o $(LOCALNET_DIR) --chain-id tutti-localnet

clean:
	rm -rf $(BIN)
