package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsShutdown bounds how long a stopping node waits for scrapes in progress.
const metricsShutdown = 5 * time.Second

// serveMetrics listens on [instrumentation] prometheus_listen_addr and serves /metrics from
// the node's registry until the returned stop is called (Run calls it on the way out, once
// its ctx has ended). Binding here, before the loop starts, makes a taken port an error of
// Run rather than a silent absence of metrics. With prometheus = false nothing listens.
func (n *Node) serveMetrics() (stop func(), err error) {
	if n.metrics == nil {
		return func() {}, nil
	}
	n.metrics.reg.MustRegister(newP2PCollector(n.cfg.Instrumentation.Namespace, n.sw))
	addr := strings.TrimPrefix(n.cfg.Instrumentation.PrometheusListenAddr, "tcp://")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("config key instrumentation.prometheus_listen_addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	n.metricsAddr.Store(ln.Addr().String())
	n.log.Info().Str("addr", ln.Addr().String()).Msg("serving Prometheus metrics at /metrics")
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.log.Error().Err(err).Msg("the metrics server stopped")
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), metricsShutdown)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close() // a scrape outlived the grace period
		}
		<-served
		n.metricsAddr.Store("")
	}, nil
}

// MetricsAddr is the address /metrics is served on while the node runs ("" when it is not
// serving): the bound one, so a configured port 0 shows which port was chosen.
func (n *Node) MetricsAddr() string {
	s, _ := n.metricsAddr.Load().(string)
	return s
}
