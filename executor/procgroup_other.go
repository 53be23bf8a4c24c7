//go:build !unix

package executor

import (
	"os"
	"os/exec"
)

// Without process groups, a cancel kills the command itself only.
func useProcessGroup(*exec.Cmd) {}

func killProcessGroup(*exec.Cmd) {}

func signalName(*os.ProcessState) string { return "" }
