package core

import (
	"github.com/tutti-bft/tutti/engine/commit"
	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/order"
)

// What the tests of package core_test read of a core's insides. They live outside the
// package so that they can drive cores through engine/drive, which imports this package.

const (
	StaleRounds = staleRounds
	KeptEpochs  = keptEpochs
)

func (c *Core) DAG() *dag.DAG                 { return c.dag }
func (c *Core) Linearizer() *order.Linearizer { return c.lin }
func (c *Core) Committer() *commit.Committer  { return c.committer }
func (c *Core) Config() Config                { return c.cfg }
func (c *Core) OrderedRemembered() int        { return len(c.ordered.byHash) }

// PastDAGs are the finished epochs' DAGs the core keeps, oldest first, with their numbers.
func (c *Core) PastDAGs() (numbers []uint64, dags []*dag.DAG) {
	for _, p := range c.past {
		numbers, dags = append(numbers, p.number), append(dags, p.dag)
	}
	return numbers, dags
}
