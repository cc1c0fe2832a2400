// Package relay decides where a transaction a node admitted goes next and which validator
// is meant to propose it, batches what goes to each peer, and limits what each peer may
// relay to us. It moves no bytes itself: the node (and the simulator) send what it decides.
package relay
