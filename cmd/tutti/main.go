// Command tutti is Tutti's command line: it initialises homes, generates testnets, shows
// keys and (as the issues land) runs a node, in CometBFT's conventions.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
