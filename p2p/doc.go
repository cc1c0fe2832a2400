// Package p2p moves bytes on channels between authenticated peers; it knows
// nothing of blocks.
//
// A Switch owns one listener, dials persistent peers with exponential backoff,
// authenticates every link with cometbft's SecretConnection (node IDs and
// ID@host:port addresses exactly as in CometBFT), exchanges node info, and then
// carries length-prefixed frames for a small, fixed set of channels. Each peer
// has one bounded send queue per channel; the writer always serves the highest
// priority channel first and splits messages into frames of at most
// MaxFramePayload bytes, so a large bulk message never holds a consensus
// message back for more than one frame.
//
// Back-pressure: TrySend and Broadcast never block and return false (counted
// as a drop) when a queue is full; Send blocks until there is room, the peer
// goes away or its context ends. Inbound, the receive callback runs on the
// peer's reader goroutine, so a slow consumer slows that peer's TCP stream
// instead of buffering without bound.
package p2p
