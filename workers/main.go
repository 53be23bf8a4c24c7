// Command parklot-worker runs Parklot's workers: `dev` is the desktop runtime
// (embedded Temporal server and Web UI, worker and HTTP endpoint in one
// process); `run` serves the same workflows against an existing Temporal
// cluster or Temporal Cloud.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "parklot-worker:", err)
		os.Exit(1)
	}
}
