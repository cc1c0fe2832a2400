# Tutti build, test and lint entry points. CI runs `make test` (see .ci/run), the README's test command.

GO            ?= go
BIN           := bin
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOGOPROTO_DIR  = $(shell $(GO) list -m -f '{{.Dir}}' github.com/cosmos/gogoproto)
PROTO_GEN     := github.com/cosmos/gogoproto/protoc-gen-gocosmos@v1.7.2
# Packages whose tests are too slow under the race detector on 2 cores run without it.
TEST_FLAGS    ?= -race -timeout 20m

.PHONY: fuzz all build test unit sim sdk lint proto bench localnet clean

all: build

build:
	$(GO) build -o $(BIN)/tutti ./cmd/tutti

# The whole suite CI runs: lint, every package's tests with the race detector, the
# simulator's CI tier (500 swarm seeds and every planted bug) at full speed, then a Cosmos
# SDK chain under Tutti.
test: lint unit fuzz sim sdk

# The fuzz targets of untrusted input (RPC requests, p2p frames and node info, the wire
# decoder) run beyond their seed corpus for a few seconds each; FUZZTIME=1m goes further.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRequestDecoding$$' -fuzztime $(FUZZTIME) ./engine/rpc/
	$(GO) test -run '^$$' -fuzz '^FuzzFrameDecode$$' -fuzztime $(FUZZTIME) ./p2p/
	$(GO) test -run '^$$' -fuzz '^FuzzNodeInfoDecode$$' -fuzztime $(FUZZTIME) ./p2p/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./engine/wire/

# The simulator runs single-threaded on virtual time; under the race detector it runs its
# quick tests only, and its seed tiers run below without it. The SDK chain's tests run in
# sdk.
unit:
	$(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v -e /engine/sim$$ -e /testnet/sdknet$$)
	$(GO) test $(TEST_FLAGS) -run 'TestSameSeedSameTrace|TestFaultFreeRunCommitsEverything|TestReplayCommand' ./engine/sim/

SIM_SEEDS ?= 500
sim:
	TUTTI_SIM_SEEDS=$(SIM_SEEDS) $(GO) test -count=1 -timeout 20m -v -run 'TestSwarm|TestLyingClocks|TestSlowApp|TestCheckersCatchPlantedBugs|TestExternal|TestLedger|TestRegressionSeeds|TestCometBFTE2E' ./engine/sim/

# A Cosmos SDK chain (simd v0.50, testnet/simd) as the external app of 4 Tutti validators
# (testnet/sdknet): fresh starts, simd's CLI, liveness, relay, delegation, a killed app.
# The first run builds simd into ${TUTTI_CACHE_DIR:-~/.cache/tutti} (about 5 minutes).
sdk:
	TUTTI_SDK_TEST=1 $(GO) test -count=1 -timeout 30m -v ./testnet/sdknet/

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

# The README's main job: build, generate a 4-validator network with the ledger app and
# funded accounts in $(LOCALNET_DIR), start the nodes (logs in each home), send ledger
# transfers at RATE per second for DURATION with a live line, then stop every node and print
# the summary (`tutti localnet`, testnet/localnet). Ctrl-C ends it early, summary included.
# RATE's default fits this project's 2-core hosts (testnet/README.md has the figures).
LOCALNET_DIR   ?= localnet
DURATION       ?= 60s
RATE           ?= 200
LOCALNET_FLAGS ?=
localnet: build
	$(BIN)/tutti localnet --dir $(LOCALNET_DIR) --validators 4 --duration $(DURATION) --rate $(RATE) $(LOCALNET_FLAGS)

clean:
	rm -rf $(BIN)

# An end-to-end fault scenario on local processes (testnet/e2e): the manifest's network,
# load and perturbations, then every checker over RPC; exits non-zero naming the violated
# properties. The manifests CI runs are in cmd/tutti's TestE2EManifests.
MANIFEST ?= testnet/e2e/manifests/ci.toml
.PHONY: e2e
e2e: build
	$(BIN)/tutti e2e $(MANIFEST)

# The Docker image (testnet/docker): the static binary is built here and copied into
# FROM scratch, so the build pulls nothing (no image registry is reachable). The build
# context is the binary's directory alone, so nothing else is sent to the daemon.
.PHONY: docker docker-testnet docker-testnet-down
docker:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/docker/tutti ./cmd/tutti
	timeout 300 docker build --pull=false -q -f testnet/docker/Dockerfile -t tutti:local $(BIN)/docker

# A 4-validator compose network of that image (`tutti testnet --docker`), up until every
# node's RPC reports height 20 and the nodes agree on block 20, then down: the test does it
# all and keeps a minute of its 5 for `compose down`. `timeout` ends a hung run, and
# docker-testnet-down then removes whatever it left running.
DOCKER_TESTNET_DIR ?= $(BIN)/docker-testnet
DOCKER_PROJECT     ?= tuttitestnet
docker-testnet: docker
	rm -rf $(DOCKER_TESTNET_DIR)
	@status=0; \
	  TUTTI_DOCKER_TEST=1 TUTTI_BIN=$(CURDIR)/$(BIN)/docker/tutti TUTTI_DOCKER_DIR=$(abspath $(DOCKER_TESTNET_DIR)) \
	  TUTTI_DOCKER_PROJECT=$(DOCKER_PROJECT) timeout 330 $(GO) test -count=1 -timeout 5m -v \
	    -run TestComposeNetworkCommits ./testnet/docker/ || status=$$?; \
	  $(MAKE) --no-print-directory docker-testnet-down; \
	  exit $$status

# Takes the compose network of docker-testnet down, if one was generated (a no-op after a
# run that cleaned up itself). The plugin `docker compose` where installed, else Debian's
# docker-compose.
docker-testnet-down:
	@if [ -f $(DOCKER_TESTNET_DIR)/docker-compose.yml ]; then \
	  if timeout 30 docker compose version >/dev/null 2>&1; then compose="docker compose"; else compose=docker-compose; fi; \
	  timeout 60 $$compose -p $(DOCKER_PROJECT) -f $(DOCKER_TESTNET_DIR)/docker-compose.yml down -v -t 5 >/dev/null 2>&1 || true; \
	fi

# Side by side with CometBFT (the version in go.mod, installed into bin/ from the module
# proxy) on this host: 4 validators each, CometBFT's kvstore in process, the same load
# generator at each of BENCH_RATES for BENCH_DURATION (in seconds: 20s), then at
# BENCH_KILL_RATE with one of the 4 validators killed a third of the way in; prints two
# tables (testnet/bench).
COMETBFT_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/cometbft/cometbft)
BENCH_RATES      ?= 500 2000 5000
BENCH_DURATION   ?= 20s
BENCH_KILL_RATE  ?= 1000
.PHONY: bench-compare
bench-compare: build
	GOBIN=$(CURDIR)/$(BIN)/cometbft-$(COMETBFT_VERSION) $(GO) install github.com/cometbft/cometbft/cmd/cometbft@$(COMETBFT_VERSION)
	KILL_RATE=$(BENCH_KILL_RATE) testnet/bench/compare.sh $(BIN)/tutti $(BIN)/cometbft-$(COMETBFT_VERSION)/cometbft "$(BENCH_RATES)" $(BENCH_DURATION)
