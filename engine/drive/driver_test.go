package drive

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// recorder is a host that writes down what it was asked to do, in order.
type recorder struct {
	async  bool // a synced persist finishes later, when the test calls Synced
	calls  []string
	failed error
}

func (r *recorder) Persist(p core.Persist) (bool, error) {
	r.calls = append(r.calls, fmt.Sprintf("persist %d sync=%v", len(p.Blocks), p.Sync))
	return p.Sync && r.async, nil
}
func (r *recorder) Broadcast(b *types.Block) {
	r.calls = append(r.calls, fmt.Sprintf("broadcast %d", b.Round))
}
func (r *recorder) Send(int, wire.Message)       { r.calls = append(r.calls, "send") }
func (r *recorder) ServeStored(core.ServeStored) { r.calls = append(r.calls, "serve") }
func (r *recorder) SetTimer(core.SetTimer)       {}
func (r *recorder) Evidence(types.Equivocation)  {}
func (r *recorder) Declined([][]byte)            {}
func (r *recorder) Halted(reason string)         { r.calls = append(r.calls, "halted "+reason) }
func (r *recorder) Failed(err error)             { r.failed = err }
func (r *recorder) has(call string) bool {
	for _, c := range r.calls {
		if c == call {
			return true
		}
	}
	return false
}

var start = time.UnixMilli(1_700_000_000_000)

// soloCore is a real core of a one-validator committee: it proposes at once, alone.
func soloCore(t *testing.T, mutate func(*core.Config)) *core.Core {
	t.Helper()
	signer := types.NewMemSigner([]byte("solo"))
	committee, err := types.NewCommittee([]types.Validator{{PubKey: signer.PubKey(), Power: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultConfig("drive-test", types.Epoch{Number: 0, StartRound: 1, GenesisTimeMs: start.UnixMilli(), Committee: committee})
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := core.New(cfg, 0, signer, types.Ed25519Verifier{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The broadcast of our block waits behind its synced persist, however long the disk takes,
// and the driver takes no input meanwhile.
func TestActionsAfterASyncedPersistWaitForIt(t *testing.T) {
	host := &recorder{async: true}
	d := New(soloCore(t, nil), host, 64)
	d.Step(start, core.Restart{})
	if !host.has("persist 1 sync=true") {
		t.Fatalf("no synced persist of our first block: %v", host.calls)
	}
	if host.has("broadcast 2") {
		t.Fatalf("the block was sent before its persist was durable: %v", host.calls)
	}
	if d.Ready() {
		t.Fatal("the driver takes inputs while a synced persist is under way")
	}
	d.Synced()
	if !host.has("broadcast 2") || !d.Ready() || host.failed != nil {
		t.Fatalf("after the persist: calls %v, ready %v, failed %v", host.calls, d.Ready(), host.failed)
	}
}

// A core that sends a new block of ours before persisting it (a planted bug) is stopped by
// the driver before anything leaves; with the check off, the block goes out first.
func TestANewOwnBlockIsNeverSentBeforeItsSyncedPersist(t *testing.T) {
	sendsFirst := func(c *core.Config) { c.Mutations.BroadcastBeforePersist = true }
	host := &recorder{}
	d := New(soloCore(t, sendsFirst), host, 64)
	d.Step(start, core.Restart{})
	if !errors.Is(host.failed, ErrSentBeforePersist) {
		t.Fatalf("failed with %v, want ErrSentBeforePersist", host.failed)
	}
	if host.has("broadcast 2") || d.Ready() {
		t.Fatalf("calls %v, ready %v: nothing may be sent and the driver must stop", host.calls, d.Ready())
	}

	unchecked := &recorder{}
	d = New(soloCore(t, sendsFirst), unchecked, 64)
	d.SkipSendCheck = true
	d.Step(start, core.Restart{})
	if unchecked.failed != nil || len(unchecked.calls) == 0 || unchecked.calls[0] != "broadcast 2" {
		t.Fatalf("with the check off: calls %v, failed %v, want the broadcast first", unchecked.calls, unchecked.failed)
	}
}

// Re-sending a block persisted in an earlier step is not a new block: the check lets it go.
func TestResendingAnEarlierBlockIsAllowed(t *testing.T) {
	host := &recorder{}
	c := soloCore(t, nil)
	d := New(c, host, 64)
	d.Step(start, core.Restart{})
	if host.failed != nil || !host.has("broadcast 2") {
		t.Fatalf("calls %v, failed %v", host.calls, host.failed)
	}
	host.calls = nil
	own := c.LastOwnRound()
	d.batch(own, []core.Action{core.Broadcast{Block: &types.Block{Round: own}}})
	if host.failed != nil || !host.has(fmt.Sprintf("broadcast %d", own)) {
		t.Fatalf("a re-send of round %d: calls %v, failed %v", own, host.calls, host.failed)
	}
}

// At the lag limit the driver takes no input that could cut more heights; once the
// executor takes a block it does again.
func TestAtTheLagLimitNoMoreInputsAreTaken(t *testing.T) {
	host := &recorder{}
	d := New(soloCore(t, nil), host, 1)
	now := start
	d.Step(now, core.Restart{})
	for i := 0; i < 200 && d.Pending() == 0; i++ {
		now = now.Add(50 * time.Millisecond)
		d.Step(now, core.TimerFired{Kind: core.MinDelay})
	}
	if d.Pending() == 0 {
		t.Fatalf("the core cut no height in 10 s: calls %v", host.calls)
	}
	if !d.AtLag() || d.TakesInputs() || !d.Ready() {
		t.Fatalf("with %d waiting at lag 1: at lag %v, takes inputs %v, ready %v", d.Pending(), d.AtLag(), d.TakesInputs(), d.Ready())
	}
	b, ok := d.Next()
	if !ok || b.Height != 1 {
		t.Fatalf("next %v %v, want height 1", b.Height, ok)
	}
	d.Taken()
	if d.AtLag() || !d.TakesInputs() {
		t.Fatal("the executor took the block, yet the driver still takes no inputs")
	}
}
