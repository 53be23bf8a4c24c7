//go:build unix

package executor

import (
	"os"
	"os/exec"
	"syscall"
)

// useProcessGroup starts cmd as the leader of a new process group and makes
// a cancel of its context kill that whole group, not just the leader.
func useProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			if err == syscall.ESRCH {
				return os.ErrProcessDone
			}
			return err
		}
		return nil
	}
}

// killProcessGroup kills whatever is left of cmd's process group after the
// leader has been waited for. An empty group answers ESRCH; its id could only
// name another group if the pid space wrapped around in between.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// signalName names the signal that ended the process, or "".
func signalName(state *os.ProcessState) string {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}
