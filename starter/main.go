// Command parklot is the command line for Parklot's users and operators:
// submit and follow tasks, read pools, validate configuration.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	err := newApp(os.Stdout, os.Stderr).Run(os.Args)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on stderr and maps it to the documented exit codes:
// 0 success, 3 refused (rejected, expired), 1 any other error.
func exitCode(err error, stderr *os.File) int {
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "parklot:", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "parklot:", err)
	return 1
}
