package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWrittenDefaultLoadsBackUnchanged(t *testing.T) {
	home := t.TempDir()
	cfg := Default()
	cfg.Home = home
	cfg.Moniker = `node "zero"`
	cfg.P2P.PersistentPeers = "0123456789abcdef0123456789abcdef01234567@127.0.0.1:26656"
	if err := Write(cfg); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cfg) {
		t.Fatalf("loaded config differs:\n got %+v\nwant %+v", got, cfg)
	}
}

func TestEveryKeyOfTheStructIsInTheTemplate(t *testing.T) {
	var sb strings.Builder
	if err := render(&sb, Default()); err != nil {
		t.Fatal(err)
	}
	// Decoding strictly into an empty struct proves the file has no unknown keys; comparing
	// with the defaults proves no key was left out of the template (it would stay zero).
	var cfg Config
	if err := Decode([]byte(sb.String()), &cfg); err != nil {
		t.Fatal(err)
	}
	want := Default()
	if !reflect.DeepEqual(&cfg, want) {
		t.Fatalf("template drops or changes a key:\n got %+v\nwant %+v", cfg, *want)
	}
}

func TestBadFilesAreErrorsNamingTheKey(t *testing.T) {
	cases := []struct {
		name, edit, wantKey string
	}{
		{"unknown top-level key", "mooniker = \"x\"\n", "mooniker"},
		{"unknown section key", "[consensus]\nleader_timout = \"1s\"\n", "consensus.leader_timout"},
		{"wrong type", "[mempool]\nsize = \"big\"\n", "mempool.size"},
		{"bad duration", "[consensus]\nleader_timeout = \"soon\"\n", "consensus.leader_timeout"},
		{"negative duration", "[consensus]\nleader_timeout = \"-1s\"\n", "consensus.leader_timeout"},
		{"gc depth too small", "[consensus]\ngc_depth = 2\n", "consensus.gc_depth"},
		{"bad app", "proxy_app = \"counter\"\n", "proxy_app"},
		{"bad log level", "log_level = \"loud\"\n", "log_level"},
		{"bad peer", "[p2p]\npersistent_peers = \"abc@127.0.0.1:1\"\n", "p2p.persistent_peers"},
		{"bad rpc address", "[rpc]\nladdr = \"127.0.0.1:26657\"\n", "rpc.laddr"},
		{"dag block over message limit", "[consensus]\ndag_block_max_bytes = 99999999\n", "consensus.dag_block_max_bytes"},
		// Absurd sizes used to start a node.
		{"mempool size 10^12", "[mempool]\nsize = 1000000000000\n", "mempool.size"},
		{"message bytes 10^14", "[p2p]\nmax_message_bytes = 100000000000000\n", "p2p.max_message_bytes"},
		{"mempool bytes 10^15", "[mempool]\nmax_txs_bytes = 1000000000000000\n", "mempool.max_txs_bytes"},
		{"subscription clients 10^9", "[rpc]\nmax_subscription_clients = 1000000000\n", "rpc.max_subscription_clients"},
		{"gc depth 10^9", "[consensus]\ngc_depth = 1000000000\n", "consensus.gc_depth"},
		{"tx larger than a DAG block takes", "[mempool]\nmax_tx_bytes = 2097152\n", "mempool.max_tx_bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, "config", "config.toml"), []byte(tc.edit), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(home)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("error does not name %s: %v", tc.wantKey, err)
			}
		})
	}
}

func TestMissingFileSaysHowToCreateIt(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "tutti init") {
		t.Fatalf("want a hint to run tutti init, got %v", err)
	}
}
