package drive

import (
	"errors"
	"fmt"
	"time"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// Host carries out what the driver asks. Every method is called from the one goroutine
// that drives the core.
type Host interface {
	// Persist writes p's blocks and commit state. With p.Sync the write must be durable
	// before the actions after it run: a host that finishes it before returning reports
	// syncing false; one that finishes later reports true and calls Driver.Synced then.
	Persist(p core.Persist) (syncing bool, err error)
	Broadcast(b *types.Block)
	Send(peer int, m wire.Message)
	ServeStored(s core.ServeStored)
	SetTimer(t core.SetTimer)
	Evidence(e types.Equivocation)
	// Declined gives back transactions offered to the core that it will not propose.
	Declined(txs [][]byte)
	// Halted: the core stopped to protect safety; it takes no more inputs.
	Halted(reason string)
	// Failed: the driver stopped, on a persist error or a broken promise of the core.
	Failed(err error)
}

// ErrSentBeforePersist is the driver's check failing: the core asked to send a new own
// block that no synced persist before it held.
var ErrSentBeforePersist = errors.New("an own block was to be sent before its synced persist")

// Driver owns a core between its host's inputs and actions.
type Driver struct {
	core *core.Core
	host Host
	lag  int

	pending []order.ABCIBlock // cut, not yet taken by the executor

	syncing bool          // a synced persist is under way
	queued  []core.Action // the actions behind it
	// The round of our latest block before the current batch of actions: a Broadcast above
	// it is of a block this batch created, which a synced persist in the batch must hold.
	signedBefore uint64
	durable      []types.Digest // blocks of this batch's completed synced persists
	inFlight     []types.Digest // blocks of the synced persist under way
	stopped      bool

	// SkipSendCheck turns the persist-before-send check off, so the simulator can show its
	// own checkers catch a core that sends first. Never set it otherwise.
	SkipSendCheck bool
}

// New drives c; lag is how many cut ABCI blocks may wait for the executor before the
// driver takes no more inputs that could cut more (TakesInputs).
func New(c *core.Core, h Host, lag int) *Driver {
	return &Driver{core: c, host: h, lag: lag}
}

// Core is the driven core, for reading its state on the driving goroutine.
func (d *Driver) Core() *core.Core { return d.core }

// Start carries out the actions core.Restore returned.
func (d *Driver) Start(restored []core.Action) {
	d.batch(d.core.LastOwnRound(), restored)
}

// Ready reports whether the driver takes an input now: no synced persist is under way and
// neither the core nor the driver stopped.
func (d *Driver) Ready() bool { return !d.syncing && !d.stopped && !d.core.Halted() }

// TakesInputs reports whether the driver takes inputs that may cut blocks: it is Ready
// and the executor is below the lag limit. Execution results are taken whenever Ready.
func (d *Driver) TakesInputs() bool { return d.Ready() && len(d.pending) < d.lag }

// AtLag reports whether the executor is at the lag limit.
func (d *Driver) AtLag() bool { return len(d.pending) >= d.lag }

// Step feeds the core one input at now and carries out its actions. The host calls it only
// when Ready.
func (d *Driver) Step(now time.Time, in core.Input) {
	if !d.Ready() {
		d.fail(fmt.Errorf("drive: input %T while not ready (a synced persist under way, or stopped)", in))
		return
	}
	signedBefore := d.core.LastOwnRound()
	d.batch(signedBefore, d.core.Step(now, in))
}

// Synced tells the driver the synced persist it was waiting for is durable; the actions
// behind it run now.
func (d *Driver) Synced() {
	if !d.syncing {
		return
	}
	d.syncing = false
	d.durable = append(d.durable, d.inFlight...)
	d.inFlight = nil
	rest := d.queued
	d.queued = nil
	d.run(rest)
}

// Next is the oldest cut ABCI block the executor has not taken.
func (d *Driver) Next() (order.ABCIBlock, bool) {
	if len(d.pending) == 0 {
		return order.ABCIBlock{}, false
	}
	return d.pending[0], true
}

// Taken: the executor took the block Next returned.
func (d *Driver) Taken() {
	d.pending[0] = order.ABCIBlock{}
	d.pending = d.pending[1:]
}

// Pending is how many cut ABCI blocks wait for the executor.
func (d *Driver) Pending() int { return len(d.pending) }

// batch carries out one step's actions; signedBefore is our latest round before the step.
func (d *Driver) batch(signedBefore uint64, actions []core.Action) {
	d.signedBefore, d.durable = signedBefore, d.durable[:0]
	d.run(actions)
}

// run carries out actions strictly in order, suspending behind a synced persist the host
// finishes later.
func (d *Driver) run(actions []core.Action) {
	for i, a := range actions {
		if d.stopped {
			return
		}
		switch a := a.(type) {
		case core.Persist:
			syncing, err := d.host.Persist(a)
			if err != nil {
				d.fail(err)
				return
			}
			if !a.Sync {
				continue
			}
			digests := make([]types.Digest, len(a.Blocks))
			for j, b := range a.Blocks {
				digests[j] = b.Digest()
			}
			if syncing {
				d.syncing, d.queued, d.inFlight = true, actions[i+1:], digests
				return
			}
			d.durable = append(d.durable, digests...)
		case core.Broadcast:
			if !d.SkipSendCheck && a.Block.Round > d.signedBefore && !d.isDurable(a.Block.Digest()) {
				d.fail(fmt.Errorf("%w (round %d)", ErrSentBeforePersist, a.Block.Round))
				return
			}
			d.host.Broadcast(a.Block)
		case core.SendTo:
			d.host.Send(a.Peer, a.Msg)
		case core.RequestBlocks:
			d.host.Send(a.Peer, wire.FetchRequestMessage(a.Refs))
		case core.ServeStored:
			d.host.ServeStored(a)
		case core.SetTimer:
			d.host.SetTimer(a)
		case core.DeliverABCIBlock:
			d.pending = append(d.pending, a.Block)
		case core.ReportEvidence:
			d.host.Evidence(a.Evidence)
		case core.PayloadDeclined:
			d.host.Declined(a.Txs)
		case core.Halt:
			d.host.Halted(a.Reason)
			return
		}
	}
}

func (d *Driver) isDurable(digest types.Digest) bool {
	for _, x := range d.durable {
		if x == digest {
			return true
		}
	}
	return false
}

func (d *Driver) fail(err error) {
	d.stopped = true
	d.host.Failed(err)
}
