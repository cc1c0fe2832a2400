// Package version holds the versions Tutti reports: its own, and the CometBFT version it
// is compatible with, which clients such as CosmJS read to choose their decoders.
package version

// Tutti is this release of Tutti.
const Tutti = "0.1.0"

// CometBFTCompat is the CometBFT version Tutti reports in node info. CosmJS picks its
// Comet38 decoder from a "0.38." prefix (shared/reference/cometbft.md §5), and Tutti's ABCI
// and RPC are those of CometBFT v0.38/v0.39.
const CometBFTCompat = "0.38.17"

// ABCI is the ABCI protocol version Tutti speaks (CometBFT v0.38's).
const ABCI = "2.0.0"
