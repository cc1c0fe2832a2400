package node

import (
	"context"
	"fmt"

	"github.com/cometbft/cometbft/proxy"

	"github.com/tutti-bft/tutti/engine/version"
	"github.com/tutti-bft/tutti/p2p"
)

// describeSelf fills in what the switch tells peers about this node, which is also what
// status reports as node_info and what peers show in net_info, so each field is what
// CometBFT puts there: the CometBFT version Tutti is compatible with (CosmJS picks its
// decoders from its "0.38." prefix), the app's protocol version from its Info answer when
// the node starts (CometBFT's node info is built once too), whether transactions are
// indexed, and the RPC and external addresses as configured.
func (n *Node) describeSelf(ctx context.Context, c *p2p.Config) error {
	info, err := n.conns.Query.Info(ctx, proxy.RequestInfo)
	if err != nil {
		return fmt.Errorf("ask the app for its protocol version: %w", err)
	}
	c.Version = version.CometBFTCompat
	c.AppVersion = info.AppVersion
	c.TxIndex = "on"
	if n.cfg.TxIndex.Indexer == "null" {
		c.TxIndex = "off"
	}
	c.RPCAddress = n.cfg.RPC.ListenAddress
	c.ExternalAddress = n.cfg.P2P.ExternalAddress
	return nil
}
