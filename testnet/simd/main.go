// Command simd is the Cosmos SDK's example chain (simapp, SDK v0.50), built here as a test
// app: the project's SDK tests run it as an external ABCI socket app under Tutti. It lives
// in its own Go module so the SDK's dependencies stay out of the main go.mod.
package main

import (
	"fmt"
	"os"

	"cosmossdk.io/simapp"
	"cosmossdk.io/simapp/simd/cmd"
	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
)

func main() {
	root := cmd.NewRootCmd()
	if err := svrcmd.Execute(root, "", simapp.DefaultNodeHome); err != nil {
		fmt.Fprintln(root.OutOrStderr(), err)
		os.Exit(1)
	}
}
