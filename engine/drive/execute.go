package drive

import (
	"context"
	"fmt"

	"github.com/tutti-bft/tutti/abci/exec"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/mempool"
	"github.com/tutti-bft/tutti/engine/order"
)

// Execution runs cut ABCI blocks through the app, one height at a time, in the order every
// host must keep: the app executes the height; the host stores it durably before the app's
// Commit, so a crash leaves the app behind the store, never ahead (the handshake replays
// what the store holds and the app lacks); the app commits; the mempool forgets the
// height's transactions and rechecks the rest against the new state. No CheckTx reaches
// the app from the moment the height is stored until that recheck is done, so a client
// never sees a check against a state the mempool has not caught up with.
type Execution struct {
	Exec *exec.Executor
	Pool *mempool.Mempool
	// Save stores the executed height durably (synced) before the app commits it.
	Save func(*exec.Executed, core.ExecutionResult) error
	// Committed, if set, runs once the app committed the height, before the mempool
	// update.
	Committed func(*exec.Executed, core.ExecutionResult)
}

// Height executes one block. An error means the app must not see the next height: the
// host stops executing.
func (e Execution) Height(ctx context.Context, b *order.ABCIBlock) (*exec.Executed, core.ExecutionResult, error) {
	poolLocked := false
	executed, result, err := e.Exec.Execute(ctx, b, func(x *exec.Executed, r core.ExecutionResult) error {
		if err := e.Save(x, r); err != nil {
			return err
		}
		e.Pool.Lock()
		poolLocked = true
		return nil
	})
	if err != nil {
		if poolLocked {
			e.Pool.Unlock()
		}
		return nil, result, fmt.Errorf("execute height %d: %w", b.Height, err)
	}
	if e.Committed != nil {
		e.Committed(executed, result)
	}
	_, err = e.Pool.Update(ctx, b.Txs)
	e.Pool.Unlock()
	if err != nil {
		return executed, result, fmt.Errorf("mempool update after height %d: %w", b.Height, err)
	}
	return executed, result, nil
}
