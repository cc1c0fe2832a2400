package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tutti-bft/tutti/app/ledger/client"
)

// subscribeWithin bounds the wait for each node's first event after subscribing.
const subscribeWithin = 15 * time.Second

// broadcastTimeout bounds one broadcast_tx_sync call: past it the send counts as an error
// whose fate is unknown.
const broadcastTimeout = 10 * time.Second

// tickEvery is the open loop's scheduler tick. Sends keep their exact due times whatever
// the tick; it only sets how late a send can leave (at most a tick, on an idle host).
const tickEvery = 2 * time.Millisecond

// Run sends the load cfg describes and returns its report. It subscribes to the NewBlock
// events of the first cfg.Observe endpoints before the first send, sends for
// cfg.Duration (or until cfg.Interrupt closes), then waits up to cfg.Drain for the
// accepted transactions to commit. Cancelling ctx stops everything at once; the report then covers what happened
// so far.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	eps := make([]*endpoint, len(cfg.Endpoints))
	for i, raw := range cfg.Endpoints {
		url, _ := NormalizeEndpoint(raw)
		ep, err := dial(url, cfg.Concurrency)
		if err != nil {
			return nil, err
		}
		if cfg.Transport == "ws" {
			if ep.ws, err = dialWS(url); err != nil {
				for _, done := range eps[:i] {
					done.close()
				}
				return nil, err
			}
		}
		eps[i] = ep
	}
	// The event readers outlive the websockets: cometbft's client delivers an event while
	// holding the lock that unsubscribing takes, so the readers must keep reading until
	// every websocket is closed.
	readers, stopReaders := context.WithCancel(context.Background())
	defer func() {
		for _, ep := range eps {
			ep.close()
		}
		stopReaders()
	}()

	st, err := eps[0].status(ctx)
	if err != nil {
		return nil, fmt.Errorf("load: %s: status: %w", eps[0].url, err)
	}
	tr := newTracker(time.Now())
	observed := min(cfg.Observe, len(eps))
	for _, ep := range eps[:observed] {
		if err := ep.subscribe(readers, tr, subscribeWithin); err != nil {
			return nil, err
		}
	}
	var src source
	switch cfg.App {
	case "kvstore":
		src = newKVSource(cfg.Size, len(eps))
	case "ledger":
		clients := make([]*client.Client, len(eps))
		for i, ep := range eps {
			clients[i] = ep.ledgerClient()
		}
		if src, err = newLedgerSource(ctx, cfg.LedgerSeed, cfg.LedgerAccounts, st.NodeInfo.Network, clients); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	tr.begin(start)
	if cfg.WindowFrom > 0 && cfg.AtWindow != nil {
		// The fault starts on the generator's own clock, so the window and the fault
		// begin together.
		timer := time.AfterFunc(cfg.WindowFrom, cfg.AtWindow)
		defer timer.Stop()
	}
	progressDone := make(chan struct{})
	progressStopped := make(chan struct{})
	go func() {
		defer close(progressStopped)
		if cfg.Progress != nil {
			showProgress(cfg.Progress, cfg.ProgressTTY, tr, cfg.Duration, eps[0].peers, progressDone)
		}
	}()
	defer func() { close(progressDone); <-progressStopped }()

	// cut closes when the user interrupts or ctx ends; stopSend closes at the end of the
	// send phase, which is also when the duration is up. The open loop's schedule ends by
	// itself at the duration, and sends it queued before then still go out; only a cut
	// drops them.
	cut := make(chan struct{})
	stopSend := make(chan struct{})
	go func() {
		defer close(stopSend)
		select {
		case <-time.After(cfg.Duration):
			return
		case <-cfg.Interrupt:
		case <-ctx.Done():
		}
		close(cut)
	}()
	send := func(seq int64, due time.Time) *record {
		raw, ep, finish := src.next(ctx, seq)
		rec := tr.sending(raw, due)
		bctx, cancel := context.WithTimeout(ctx, broadcastTimeout)
		a := eps[ep].broadcast(bctx, raw)
		cancel()
		finish(a.outcome, a.code)
		tr.answered(rec, a)
		return rec
	}
	// sendBatch sends each endpoint's share of js in one batch request.
	sendBatch := func(js []job) {
		type pending struct {
			rec    *record
			raw    []byte
			finish func(outcome, uint32)
		}
		byEndpoint := map[int][]pending{}
		for _, j := range js {
			raw, ep, finish := src.next(ctx, j.seq)
			byEndpoint[ep] = append(byEndpoint[ep], pending{tr.sending(raw, j.due), raw, finish})
		}
		for ep, ps := range byEndpoint {
			raws := make([][]byte, len(ps))
			for i, p := range ps {
				raws[i] = p.raw
			}
			bctx, cancel := context.WithTimeout(ctx, broadcastTimeout)
			answers := eps[ep].broadcastBatch(bctx, raws)
			cancel()
			for i, p := range ps {
				p.finish(answers[i].outcome, answers[i].code)
				tr.answered(p.rec, answers[i])
			}
		}
	}
	var wg sync.WaitGroup
	if cfg.ClosedLoop {
		var seq int64
		var seqMu sync.Mutex
		for range cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				closedLoopWorker(cfg, tr, stopSend, func() int64 { seqMu.Lock(); defer seqMu.Unlock(); seq++; return seq - 1 }, send)
			}()
		}
		<-stopSend
	} else {
		sched := newSchedule(start, cfg.Rate, cfg.Duration)
		jobs := make(chan job, max(1000, int(2*cfg.Rate)))
		for range cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					select {
					case <-cut:
						// Interrupted: what is still queued is never sent.
						tr.unsentQueued()
						continue
					default:
					}
					if cfg.Batch > 1 {
						sendBatch(append([]job{j}, takeDue(jobs, cfg.Batch-1)...))
						continue
					}
					send(j.seq, j.due)
				}
			}()
		}
		ticker := time.NewTicker(tickEvery)
		runSchedule(sched, ticker.C, cut, jobs, func(j job) { tr.offer(j.due) }, func(j job) { tr.unsent(j.due) })
		ticker.Stop()
		close(jobs)
	}
	tr.endSend(time.Now())
	wg.Wait()

	interrupted := false
	select {
	case <-cut:
		interrupted = true
	default:
	}
	// An interrupt during the drain ends it: the user has seen enough.
	intr := cfg.Interrupt
	if interrupted {
		intr = nil
	}
	drainEnd := time.After(cfg.Drain)
drain:
	for tr.pending() > 0 {
		select {
		case <-drainEnd:
			break drain
		case <-intr:
			interrupted = true
			break drain
		case <-ctx.Done():
			break drain
		case <-time.After(50 * time.Millisecond):
		}
	}
	rep := tr.report(time.Now(), cfg.WindowFrom)
	rep.App, rep.Endpoints, rep.Observed, rep.Concurrency, rep.Interrupted = cfg.App, cfg.Endpoints, observed, cfg.Concurrency, interrupted || ctx.Err() != nil
	rep.StartHeight = st.SyncInfo.LatestBlockHeight
	if cfg.ClosedLoop {
		rep.Mode = "closed"
	} else {
		rep.Mode, rep.TargetRate = "open", cfg.Rate
	}
	if cfg.App == "kvstore" {
		rep.TxBytes = cfg.Size
	}
	return rep, nil
}

// closedLoopWorker sends one transaction at a time and waits for its commit (or
// cfg.CommitWait) before the next, until stop closes.
func closedLoopWorker(cfg Config, tr *tracker, stop <-chan struct{}, nextSeq func() int64, send func(int64, time.Time) *record) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		due := time.Now()
		tr.offer(due)
		rec := send(nextSeq(), due)
		if rec.outcome != accepted {
			// A refused or failed send: pause briefly so that a node that refuses
			// everything is not hammered in a tight loop.
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case <-rec.done:
		case <-time.After(cfg.CommitWait):
		case <-stop:
			return
		}
	}
}

// takeDue takes up to n more jobs already queued, without waiting for any.
func takeDue(jobs <-chan job, n int) []job {
	var out []job
	for len(out) < n {
		select {
		case j, ok := <-jobs:
			if !ok {
				return out
			}
			out = append(out, j)
		default:
			return out
		}
	}
	return out
}
