package rpc

import (
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
)

// routes are CometBFT's route names with CometBFT's parameter names, so that its clients'
// requests decode unchanged. Not served: dump_consensus_state and consensus_state (there
// are no Tendermint rounds to dump), broadcast_evidence (equivocation evidence comes from
// the DAG, not from clients) and the unsafe routes.
func (s *Server) routes() map[string]*rpcserver.RPCFunc {
	return map[string]*rpcserver.RPCFunc{
		"subscribe":       rpcserver.NewWSRPCFunc(s.subscribe, "query"),
		"unsubscribe":     rpcserver.NewWSRPCFunc(s.unsubscribe, "query"),
		"unsubscribe_all": rpcserver.NewWSRPCFunc(s.unsubscribeAll, ""),

		"health":              rpcserver.NewRPCFunc(s.health, ""),
		"status":              rpcserver.NewRPCFunc(s.status, ""),
		"net_info":            rpcserver.NewRPCFunc(s.netInfo, ""),
		"blockchain":          rpcserver.NewRPCFunc(s.blockchain, "minHeight,maxHeight", rpcserver.Cacheable()),
		"genesis":             rpcserver.NewRPCFunc(s.genesis, "", rpcserver.Cacheable()),
		"genesis_chunked":     rpcserver.NewRPCFunc(s.genesisChunked, "chunk", rpcserver.Cacheable()),
		"block":               rpcserver.NewRPCFunc(s.block, "height", rpcserver.Cacheable("height")),
		"block_by_hash":       rpcserver.NewRPCFunc(s.blockByHash, "hash", rpcserver.Cacheable()),
		"block_results":       rpcserver.NewRPCFunc(s.blockResults, "height", rpcserver.Cacheable("height")),
		"commit":              rpcserver.NewRPCFunc(s.commit, "height", rpcserver.Cacheable("height")),
		"header":              rpcserver.NewRPCFunc(s.header, "height", rpcserver.Cacheable("height")),
		"header_by_hash":      rpcserver.NewRPCFunc(s.headerByHash, "hash", rpcserver.Cacheable()),
		"check_tx":            rpcserver.NewRPCFunc(s.checkTx, "tx"),
		"tx":                  rpcserver.NewRPCFunc(s.tx, "hash,prove", rpcserver.Cacheable()),
		"tx_search":           rpcserver.NewRPCFunc(s.txSearch, "query,prove,page,per_page,order_by"),
		"block_search":        rpcserver.NewRPCFunc(s.blockSearch, "query,page,per_page,order_by"),
		"validators":          rpcserver.NewRPCFunc(s.validators, "height,page,per_page", rpcserver.Cacheable("height")),
		"consensus_params":    rpcserver.NewRPCFunc(s.consensusParams, "height", rpcserver.Cacheable("height")),
		"unconfirmed_txs":     rpcserver.NewRPCFunc(s.unconfirmedTxs, "limit"),
		"num_unconfirmed_txs": rpcserver.NewRPCFunc(s.numUnconfirmedTxs, ""),

		"broadcast_tx_commit": rpcserver.NewRPCFunc(s.broadcastTxCommit, "tx"),
		"broadcast_tx_sync":   rpcserver.NewRPCFunc(s.broadcastTxSync, "tx"),
		"broadcast_tx_async":  rpcserver.NewRPCFunc(s.broadcastTxAsync, "tx"),

		"abci_query": rpcserver.NewRPCFunc(s.abciQuery, "path,data,height,prove"),
		"abci_info":  rpcserver.NewRPCFunc(s.abciInfo, "", rpcserver.Cacheable()),
	}
}
