package order

import (
	"crypto/sha256"
	"encoding/binary"
)

// CommitVote is one validator of block K-1 as block K's DecidedLastCommit lists it.
type CommitVote struct {
	ValidatorIndex int
	PubKey         []byte
	Power          int64
	Signed         bool // COMMIT when its attestation for K-1 was ordered by the cut of K
}

// MisbehaviorKind mirrors ABCI's MisbehaviorType; the DAG only produces duplicate votes.
type MisbehaviorKind int

// DuplicateVote is ABCI's DUPLICATE_VOTE: two signed blocks for one slot.
const DuplicateVote MisbehaviorKind = 1

// Misbehavior is one ordered equivocation, reported to the app with the block that
// orders its evidence.
type Misbehavior struct {
	Kind           MisbehaviorKind
	ValidatorIndex int
	PubKey         []byte
	Power          int64
	Height         int64 // the ABCI height that ordered the equivocation's round
	TimeMs         int64 // and that height's time
	Epoch          uint64
	Round          uint64 // the DAG round of the equivocation
}

// ABCIBlock is one height of the linear chain handed to the application. Every field is
// derived from the ordered DAG alone.
type ABCIBlock struct {
	Height             int64
	TimeMs             int64
	ProposerIndex      int
	ProposerPubKey     []byte
	Txs                [][]byte
	DecidedLastCommit  []CommitVote
	Misbehavior        []Misbehavior
	LastBlockHash      []byte
	AppHash            []byte // the app hash after executing K-1, attested by a quorum
	LastResultsHash    []byte
	NextValidatorsHash []byte // as attested for K-1 (the set that signs K)
	Epoch              uint64
	// EndsEpoch: the set of the next height differs from this epoch's committee, so the
	// next block comes from the next epoch's DAG. Derived from NextValidatorsHash, which
	// the hash covers, so it is not hashed itself.
	EndsEpoch   bool
	FirstCommit uint64
	LastCommit  uint64
	Hash        []byte
}

// CommitIndices lists the DAG commits this block holds.
func (b *ABCIBlock) CommitIndices() []uint64 {
	out := make([]uint64, 0, b.LastCommit-b.FirstCommit+1)
	for i := b.FirstCommit; i <= b.LastCommit; i++ {
		out = append(out, i)
	}
	return out
}

const blockHashDomain = "tutti/abci-block/v1"

// computeHash is sha256 over every header field and the transactions, each length-prefixed
// so no two different blocks share an encoding.
func (b *ABCIBlock) computeHash(chainID string) []byte {
	h := sha256.New()
	var buf []byte
	putBytes := func(p []byte) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(p)))
		h.Write(buf)
		h.Write(p)
	}
	putInt := func(v uint64) {
		buf = binary.BigEndian.AppendUint64(buf[:0], v)
		h.Write(buf)
	}
	putBytes([]byte(blockHashDomain))
	putBytes([]byte(chainID))
	putInt(uint64(b.Height))
	putInt(uint64(b.TimeMs))
	putInt(uint64(b.ProposerIndex))
	putBytes(b.LastBlockHash)
	putBytes(b.AppHash)
	putBytes(b.LastResultsHash)
	putBytes(b.NextValidatorsHash)
	putInt(b.Epoch)
	putInt(b.FirstCommit)
	putInt(b.LastCommit)
	putInt(uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		putBytes(tx)
	}
	putInt(uint64(len(b.DecidedLastCommit)))
	for _, v := range b.DecidedLastCommit {
		putInt(uint64(v.ValidatorIndex))
		putInt(uint64(v.Power))
		if v.Signed {
			putInt(1)
		} else {
			putInt(0)
		}
	}
	putInt(uint64(len(b.Misbehavior)))
	for _, m := range b.Misbehavior {
		putInt(uint64(m.Kind))
		putInt(uint64(m.ValidatorIndex))
		putInt(m.Epoch)
		putInt(m.Round)
	}
	return h.Sum(nil)
}
