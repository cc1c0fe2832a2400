package node

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Crash points let tests kill a node at the exact places a crash is dangerous. Set
// TUTTI_CRASHPOINT=name (or name:N, the N-th time it is reached) and the process sends
// itself SIGKILL there: no deferred code, no flush, exactly like a power cut after the
// writes already synced. Names:
//
//	sign      privval signed (its watermark is synced) but the block is not yet persisted
//	persist   an own block is persisted (synced) but not yet broadcast
//	commit    the app executed and committed a height, the block store has not stored it
//	execute   the height is stored, the core has not yet been told its result
const crashpointEnv = "TUTTI_CRASHPOINT"

var crash struct {
	once  sync.Once
	mu    sync.Mutex
	name  string
	count int
}

func crashpoint(name string) {
	crash.once.Do(func() {
		v := os.Getenv(crashpointEnv)
		crash.name, crash.count = v, 1
		if n, c, ok := strings.Cut(v, ":"); ok {
			crash.name = n
			if k, err := strconv.Atoi(c); err == nil && k > 0 {
				crash.count = k
			}
		}
	})
	if crash.name != name {
		return
	}
	crash.mu.Lock()
	defer crash.mu.Unlock()
	crash.count--
	if crash.count <= 0 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never continue past a crash point
	}
}
