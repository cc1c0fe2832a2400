package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	cmtpubsub "github.com/cometbft/cometbft/libs/pubsub"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"

	"github.com/tutti-bft/tutti/engine/logging"
)

// CometBFT's defaults for what config.toml's [rpc] section does not carry (yet).
const (
	maxSubscriptionsPerClient = 5
	subscriptionBufferSize    = 200
	webSocketWriteBufferSize  = 200
	// asyncCheckTxSlots bounds broadcast_tx_async's CheckTx calls in flight; beyond it the
	// call waits for a slot, which pushes back on a flooding client instead of piling up
	// goroutines.
	asyncCheckTxSlots = 256
)

// Server is the JSON-RPC server of one node.
type Server struct {
	Env
	params    *paramsTracker
	genChunks []string
	asyncSem  chan struct{}

	// ctx ends when the server closes: broadcast_tx_async's CheckTx calls and the websocket
	// subscription writers stop with it.
	ctx    context.Context
	cancel context.CancelFunc

	searches *clientSlots // tx_search and block_search in progress per client

	// subscribeMu makes counting the subscribing clients and subscribing one step, so
	// clients subscribing at once cannot all pass the count (subscribe.go).
	subscribeMu sync.Mutex

	mu       sync.Mutex
	http     *http.Server
	listener net.Listener
	hijacked map[string]net.Conn // websocket connections by remote address, which http.Server.Close leaves open
	closed   bool
	served   chan struct{}
}

// New builds the server over env; Start listens.
func New(env Env) (*Server, error) {
	if err := env.check(); err != nil {
		return nil, err
	}
	chunks, err := genesisChunks(env.Genesis)
	if err != nil {
		return nil, err
	}
	s := &Server{Env: env, params: newParamsTracker(env.Store, env.Genesis.ConsensusParams), genChunks: chunks,
		asyncSem: make(chan struct{}, asyncCheckTxSlots), hijacked: map[string]net.Conn{},
		searches: newClientSlots(max(env.Config.MaxSearchesPerClient, 1))}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// serverConfig is cometbft's server configuration from [rpc]. The write timeout outlasts
// broadcast_tx_commit's wait, as CometBFT's node arranges.
func (s *Server) serverConfig() *rpcserver.Config {
	cfg := rpcserver.DefaultConfig()
	cfg.MaxOpenConnections = s.Config.MaxOpenConnections
	cfg.MaxBodyBytes = s.Config.MaxBodyBytes
	cfg.MaxHeaderBytes = s.Config.MaxHeaderBytes
	cfg.MaxRequestBatchSize = s.Config.MaxRequestBatchSize
	if commit := s.Config.TimeoutBroadcastTxCommit.D(); cfg.WriteTimeout <= commit {
		cfg.WriteTimeout = commit + time.Second
	}
	return cfg
}

// Handler is the HTTP handler of every route: JSON-RPC at /, URI routes at /<method>,
// the websocket at /websocket, with cometbft's recovery, logging and request-size checks.
func (s *Server) Handler() http.Handler {
	routes := s.routes()
	logger := logging.Comet(s.Logger.With().Str("module", "rpc-server").Logger())
	wsLogger := wsLogger{logger.With("protocol", "websocket")}
	wm := rpcserver.NewWebsocketManager(routes,
		rpcserver.OnDisconnect(func(remoteAddr string) {
			s.forgetHijacked(remoteAddr)
			err := s.Events.bus.UnsubscribeAll(context.Background(), remoteAddr)
			if err != nil && !errors.Is(err, cmtpubsub.ErrSubscriptionNotFound) {
				wsLogger.Error("failed to unsubscribe a closed websocket from events", "addr", remoteAddr, "err", err)
			}
		}),
		rpcserver.ReadLimit(s.Config.MaxBodyBytes),
		rpcserver.WriteChanCapacity(webSocketWriteBufferSize),
	)
	wm.SetLogger(wsLogger)
	mux := http.NewServeMux()
	mux.HandleFunc("/websocket", wm.WebsocketHandler)
	rpcserver.RegisterRPCFuncs(mux, routes, logger)
	return rpcserver.PreChecksHandler(rpcserver.RecoverAndLogHandler(cors(s.Config.CORSAllowedOrigins, mux), logger),
		s.serverConfig())
}

// Start listens on [rpc] laddr (tcp://host:port or unix:///path) and serves in the
// background until Close.
func (s *Server) Start() error {
	cfg := s.serverConfig()
	ln, err := rpcserver.Listen(s.Config.ListenAddress, cfg.MaxOpenConnections)
	if err != nil {
		return fmt.Errorf("rpc: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadTimeout: cfg.ReadTimeout, ReadHeaderTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes, ConnState: s.trackHijacked}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.Join(errors.New("rpc: server closed"), ln.Close())
	}
	s.http, s.listener, s.served = srv, ln, make(chan struct{})
	s.mu.Unlock()
	s.Logger.Info().Str("laddr", s.Config.ListenAddress).Str("listen", ln.Addr().String()).Msg("RPC server started")
	go func() {
		defer close(s.served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error().Err(err).Msg("RPC server stopped")
		}
	}()
	return nil
}

// Addr is the address the server listens on (with the port chosen when laddr's was 0).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// trackHijacked remembers websocket connections so Close can end them.
func (s *Server) trackHijacked(c net.Conn, state http.ConnState) {
	if state != http.StateHijacked {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return
	}
	s.hijacked[c.RemoteAddr().String()] = c
}

func (s *Server) forgetHijacked(remoteAddr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hijacked, remoteAddr)
}

// Close stops listening, closes every connection (websockets included) and ends the
// subscriptions' writers. The event bus belongs to the node, which stops it.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv, served := s.http, s.served
	for _, c := range s.hijacked {
		_ = c.Close()
	}
	s.hijacked = nil
	s.mu.Unlock()
	s.cancel()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-served
	return err
}
