package sdknet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/abci/grammar"
)

// maxFrame bounds the ABCI messages the proxy decodes. A larger frame is still forwarded,
// but the proxy stops decoding that connection and records an error, so a check over it
// fails instead of judging a partial record. Blocks here are a few megabytes at most.
const maxFrame = 64 << 20

// abciProxy forwards ABCI socket connections from a node to its app, byte for byte, and
// records the requests the node sends on each connection as grammar calls.
type abciProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []*connRecord
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// connRecord is what one connection carried: the node's requests in order (Info with the
// last_block_height the app answered) and any decoding problem or app exception.
type connRecord struct {
	mu      sync.Mutex
	calls   []grammar.Call
	pending []int // indexes of Info calls whose answer has not come yet
	errs    []error
}

// startProxy listens on listen and forwards every connection to target.
func startProxy(listen, target string) (*abciProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &abciProxy{ln: ln, target: target, open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *abciProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		// Recorded in the order the node opened them (the dials to the app below may
		// finish in another): the handshake's Info is on the connection opened before the
		// consensus one.
		rec := &connRecord{}
		p.mu.Lock()
		p.conns = append(p.conns, rec)
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c, rec)
	}
}

// serve dials the app (retrying briefly: it may be restarting) and pipes both ways; when
// either side ends, both are closed, so the node sees its app go away as it would without
// the proxy.
func (p *abciProxy) serve(node net.Conn, rec *connRecord) {
	defer p.wg.Done()
	var app net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		app, err = net.DialTimeout("tcp", p.target, time.Second)
		if err == nil || time.Now().After(deadline) || p.isClosed() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		node.Close()
		return
	}
	if !p.track(node, app) {
		node.Close()
		app.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { node.Close(); app.Close() }) }
	done := make(chan struct{})
	go func() {
		pipe(app, node, rec.request)
		closeBoth()
		close(done)
	}()
	pipe(node, app, rec.response)
	closeBoth()
	<-done
	p.untrack(node, app)
}

func (p *abciProxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *abciProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.open[c] = struct{}{}
	}
	return true
}

func (p *abciProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.open, c)
	}
}

// Close stops listening, cuts every connection and waits for the forwarders.
func (p *abciProxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// pipe copies length-prefixed frames from src to dst, handing each complete frame's
// payload to see. What cannot be framed (a bad length, one over maxFrame, a frame cut
// short) ends the decoding: see gets an error and the rest is copied as raw bytes, so
// the decoder never changes what is forwarded.
func pipe(dst io.Writer, src io.Reader, see func([]byte, error)) {
	r := bufio.NewReaderSize(src, 64<<10)
	raw := func(prefix []byte, err error) {
		see(nil, err)
		if _, werr := dst.Write(prefix); werr == nil {
			_, _ = io.Copy(dst, r)
		}
	}
	for {
		size, hdr, err := readUvarint(r)
		if err != nil {
			if len(hdr) > 0 || (!errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed)) {
				raw(hdr, fmt.Errorf("frame length: %w", err))
			}
			return
		}
		if size > maxFrame {
			raw(hdr, fmt.Errorf("frame of %d bytes is over the proxy's decoding limit of %d", size, maxFrame))
			return
		}
		buf := make([]byte, len(hdr)+int(size))
		copy(buf, hdr)
		if n, err := io.ReadFull(r, buf[len(hdr):]); err != nil {
			raw(buf[:len(hdr)+n], fmt.Errorf("frame of %d bytes cut short after %d: %w", size, n, err))
			return
		}
		if _, err := dst.Write(buf); err != nil {
			return
		}
		see(buf[len(hdr):], nil)
	}
}

// readUvarint reads a frame's length, returning the bytes it took.
func readUvarint(r io.ByteReader) (uint64, []byte, error) {
	var hdr []byte
	var v uint64
	for shift := 0; ; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			if len(hdr) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, hdr, err
		}
		hdr = append(hdr, b)
		if len(hdr) == binary.MaxVarintLen64 && b > 1 {
			return 0, hdr, errors.New("length overflows 64 bits")
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, hdr, nil
		}
	}
}

// request records one request from the node.
func (rec *connRecord) request(payload []byte, err error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if err != nil {
		rec.errs = append(rec.errs, fmt.Errorf("request: %w", err))
		return
	}
	var req abci.Request
	if err := req.Unmarshal(payload); err != nil {
		rec.errs = append(rec.errs, fmt.Errorf("request %d: %w", len(rec.calls), err))
		return
	}
	c, ok := callOf(&req)
	if !ok {
		return
	}
	if c.Method == "Info" {
		rec.pending = append(rec.pending, len(rec.calls))
	}
	rec.calls = append(rec.calls, c)
}

// response looks at the app's answers only for Info (the height a session starts from)
// and exceptions; the others are forwarded undecoded. A Response's oneof field number is
// the first byte of its encoding: 4 is info, 1 is exception.
func (rec *connRecord) response(payload []byte, err error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if err != nil {
		rec.errs = append(rec.errs, fmt.Errorf("response: %w", err))
		return
	}
	if len(payload) == 0 || (payload[0] != 4<<3|2 && payload[0] != 1<<3|2) {
		return
	}
	var res abci.Response
	if err := res.Unmarshal(payload); err != nil {
		rec.errs = append(rec.errs, fmt.Errorf("response: %w", err))
		return
	}
	switch v := res.Value.(type) {
	case *abci.Response_Info:
		if len(rec.pending) == 0 {
			rec.errs = append(rec.errs, errors.New("an Info answer without an Info request"))
			return
		}
		rec.calls[rec.pending[0]].Height = v.Info.LastBlockHeight
		rec.pending = rec.pending[1:]
	case *abci.Response_Exception:
		rec.errs = append(rec.errs, fmt.Errorf("the app answered with an exception: %s", v.Exception.Error))
	}
}

// callOf is the grammar call of a request, as grammar.Recorder records it; Flush is left
// out (the grammar ignores it, and the socket client sends one after almost every call).
func callOf(req *abci.Request) (grammar.Call, bool) {
	switch v := req.Value.(type) {
	case *abci.Request_Flush:
		return grammar.Call{}, false
	case *abci.Request_Echo:
		return grammar.Call{Method: "Echo"}, true
	case *abci.Request_Info:
		return grammar.Call{Method: "Info"}, true
	case *abci.Request_InitChain:
		return grammar.Call{Method: "InitChain", Height: max(v.InitChain.InitialHeight, 1)}, true
	case *abci.Request_Query:
		return grammar.Call{Method: "Query"}, true
	case *abci.Request_CheckTx:
		return grammar.Call{Method: "CheckTx"}, true
	case *abci.Request_Commit:
		return grammar.Call{Method: "Commit"}, true
	case *abci.Request_ListSnapshots:
		return grammar.Call{Method: "ListSnapshots"}, true
	case *abci.Request_OfferSnapshot:
		return grammar.Call{Method: "OfferSnapshot"}, true
	case *abci.Request_LoadSnapshotChunk:
		return grammar.Call{Method: "LoadSnapshotChunk"}, true
	case *abci.Request_ApplySnapshotChunk:
		return grammar.Call{Method: "ApplySnapshotChunk"}, true
	case *abci.Request_PrepareProposal:
		return grammar.Call{Method: "PrepareProposal", Height: v.PrepareProposal.Height}, true
	case *abci.Request_ProcessProposal:
		return grammar.Call{Method: "ProcessProposal", Height: v.ProcessProposal.Height, Hash: fmt.Sprintf("%X", v.ProcessProposal.Hash)}, true
	case *abci.Request_ExtendVote:
		return grammar.Call{Method: "ExtendVote"}, true
	case *abci.Request_VerifyVoteExtension:
		return grammar.Call{Method: "VerifyVoteExtension"}, true
	case *abci.Request_FinalizeBlock:
		return grammar.Call{Method: "FinalizeBlock", Height: v.FinalizeBlock.Height, Hash: fmt.Sprintf("%X", v.FinalizeBlock.Hash)}, true
	case *abci.Request_InsertTx:
		return grammar.Call{Method: "InsertTx"}, true
	case *abci.Request_ReapTxs:
		return grammar.Call{Method: "ReapTxs"}, true
	}
	return grammar.Call{Method: fmt.Sprintf("unknown request %T", req.Value)}, true
}

func (rec *connRecord) snapshot() ([]grammar.Call, []error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]grammar.Call(nil), rec.calls...), append([]error(nil), rec.errs...)
}

// isConsensus says whether a connection carried consensus calls.
func isConsensus(calls []grammar.Call) bool {
	for _, c := range calls {
		switch c.Method {
		case "InitChain", "PrepareProposal", "ProcessProposal", "FinalizeBlock", "Commit", "ExtendVote", "VerifyVoteExtension":
			return true
		}
	}
	return false
}

// session is one node process's consensus connection, with the handshake's Info (which
// goes over the query connection, as in CometBFT) in front: what grammar.CheckTutti
// judges.
type session struct {
	calls []grammar.Call
	errs  []error
}

// Sessions returns, for each consensus connection in the order they were opened, the Info
// the node asked last on another connection before it, then the consensus calls. Decoding
// errors of either connection are returned with it.
func (p *abciProxy) Sessions() []session {
	p.mu.Lock()
	conns := append([]*connRecord(nil), p.conns...)
	p.mu.Unlock()
	var out []session
	var info *grammar.Call
	var infoErrs []error
	for _, rec := range conns {
		calls, errs := rec.snapshot()
		if !isConsensus(calls) {
			for i := range calls {
				if calls[i].Method == "Info" {
					c := calls[i]
					info, infoErrs = &c, errs
					break
				}
			}
			continue
		}
		var s session
		if info != nil {
			s.calls = append(s.calls, *info)
			s.errs = append(s.errs, infoErrs...)
		}
		s.calls = append(s.calls, calls...)
		s.errs = append(s.errs, errs...)
		out = append(out, s)
		info, infoErrs = nil, nil
	}
	return out
}

// Check runs grammar.CheckTutti over every session and returns the number of consensus
// calls checked; a session with a decoding error fails, as its record is incomplete.
func (p *abciProxy) Check() (int, error) {
	sessions := p.Sessions()
	if len(sessions) == 0 {
		return 0, errors.New("the proxy saw no consensus connection")
	}
	var errs []error
	n := 0
	for i, s := range sessions {
		n += len(s.calls)
		if len(s.errs) > 0 {
			errs = append(errs, fmt.Errorf("session %d: %w", i, errors.Join(s.errs...)))
			continue
		}
		if len(s.calls) == 0 || s.calls[0].Method != "Info" {
			errs = append(errs, fmt.Errorf("session %d: no Info answered before the consensus connection's calls", i))
			continue
		}
		if err := grammar.CheckTutti(s.calls); err != nil {
			errs = append(errs, fmt.Errorf("session %d: %w", i, err))
		}
	}
	return n, errors.Join(errs...)
}
