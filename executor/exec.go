package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// ExecPayload is the payload of the exec executor.
type ExecPayload struct {
	// Command is the absolute path of the program; it runs without a shell.
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	// Env is added to the pool's env (and overrides it). Dynamic-loader
	// variables (LD_*, DYLD_*) are refused here: they would let a payload
	// change what an allow-listed command runs.
	Env map[string]string `json:"env,omitempty"`
	// Stdin is written to the command's standard input (empty: /dev/null).
	Stdin string `json:"stdin,omitempty"`
	// Dir is the absolute working directory (empty: the worker's).
	Dir string `json:"dir,omitempty"`
}

// ExecResult is what exec returns, also with the error of a failed run.
// Output that is not UTF-8 is carried with U+FFFD replacement characters.
type ExecResult struct {
	// ExitCode is -1 when the process was killed by a signal.
	ExitCode int `json:"exitCode"`
	// Signal names the signal that killed the process, if one did.
	Signal string `json:"signal,omitempty"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Truncated is true when stdout or stderr exceeded MaxOutputBytes and
	// only its beginning is kept.
	Truncated  bool  `json:"truncated"`
	DurationMs int64 `json:"durationMs"`
}

// stderrTailBytes bounds the stderr tail quoted in a failure message.
const stderrTailBytes = 512

// execExecutor runs local commands, where the pool's ExecPolicy allows it.
type execExecutor struct {
	policies map[string]Policy
	tick     time.Duration
	// waitDelay bounds how long Wait waits after a cancel for the process
	// group to die, or after the command exits for leftover processes that
	// hold its stdout or stderr open.
	waitDelay time.Duration
}

func (e *execExecutor) Execute(ctx context.Context, t Task, r Reporter) (json.RawMessage, error) {
	r = orNop(r)
	pol := e.policies[t.Pool].Exec
	if !pol.Enabled {
		return nil, permanentf(CodeNotAllowed, KindExec, fmt.Sprintf(
			"exec is not enabled for pool %q: set pools.%s.executors.exec.enabled: true", t.Pool, t.Pool))
	}
	var p ExecPayload
	if err := decodePayload(KindExec, t.Payload, &p); err != nil {
		return nil, err
	}
	command, err := checkExec(t.Pool, pol, p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	limit := pol.MaxOutputBytes
	if limit <= 0 {
		limit = DefaultMaxOutputBytes
	}
	stdout := &capture{limit: limit}
	stderr := &capture{limit: limit, tailLimit: stderrTailBytes}
	cmd := exec.CommandContext(ctx, command, p.Args...)
	cmd.Env = execEnv(os.Getenv("PATH"), pol.Env, p.Env)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if p.Stdin != "" {
		cmd.Stdin = strings.NewReader(p.Stdin)
	}
	cmd.WaitDelay = e.waitDelay
	// The command leads its own process group so that a cancel (and the
	// clean-up after it exits) reaches every process it started.
	useProcessGroup(cmd)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, startError(t.Pool, command, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitErr := waitReporting(r, start, e.tick, done)
	// Processes the command left behind would use capacity that the pool
	// believes free once the task ends, so they end with it.
	killProcessGroup(cmd)

	state := cmd.ProcessState
	res := ExecResult{
		ExitCode:   -1,
		Stdout:     stdout.String(),
		Stderr:     stderr.String(),
		Truncated:  stdout.truncated() || stderr.truncated(),
		DurationMs: time.Since(start).Milliseconds(),
	}
	if state != nil {
		res.ExitCode = state.ExitCode()
		res.Signal = signalName(state)
	}
	out, merr := json.Marshal(res)
	if merr != nil {
		return nil, merr
	}
	exited := state != nil && state.Exited()
	succeeded := exited && state.Success() && (waitErr == nil || errors.Is(waitErr, exec.ErrWaitDelay))

	switch {
	case ctx.Err() != nil && !succeeded:
		return out, fmt.Errorf("exec %s in pool %q was stopped after %s and its process group killed: %w",
			command, t.Pool, time.Duration(res.DurationMs)*time.Millisecond, ctx.Err())
	case succeeded:
		return out, nil
	case state != nil && res.Signal != "":
		return out, &Error{Code: CodeExitStatus, Kind: KindExec, Message: fmt.Sprintf(
			"exec %s in pool %q was killed by signal %s%s", command, t.Pool, res.Signal, stderr.tailSuffix())}
	case exited:
		return out, &Error{Code: CodeExitStatus, Kind: KindExec, Message: fmt.Sprintf(
			"exec %s in pool %q exited with code %d%s", command, t.Pool, res.ExitCode, stderr.tailSuffix())}
	default:
		return out, fmt.Errorf("exec %s in pool %q: %w", command, t.Pool, waitErr)
	}
}

// checkExec validates the payload against the pool's policy and returns the
// cleaned command path to run.
func checkExec(pool string, pol ExecPolicy, p ExecPayload) (string, error) {
	if p.Command == "" {
		return "", fieldErrorf(KindExec, "command", "is required: give the absolute path of the program, like %q", "/usr/bin/python3")
	}
	if !filepath.IsAbs(p.Command) {
		return "", fieldErrorf(KindExec, "command", "must be an absolute path like %q (there is no shell and no PATH lookup), got %q",
			"/usr/bin/python3", p.Command)
	}
	command := filepath.Clean(p.Command)
	if len(pol.Commands) > 0 && !slices.ContainsFunc(pol.Commands, func(c string) bool { return filepath.Clean(c) == command }) {
		return "", permanentf(CodeNotAllowed, KindExec, fmt.Sprintf(
			"command %q is not allowed for pool %q: add it to pools.%s.executors.exec.commands (allowed now: %s)",
			command, pool, pool, strings.Join(pol.Commands, ", ")))
	}
	for i, a := range p.Args {
		if strings.ContainsRune(a, 0) {
			return "", fieldErrorf(KindExec, "args", "element %d contains a NUL byte, which no program can receive", i)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Env)) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return "", fieldErrorf(KindExec, "env", "has an invalid variable name %q: names must be non-empty, without '=' or NUL", name)
		}
		if strings.ContainsRune(p.Env[name], 0) {
			return "", fieldErrorf(KindExec, "env", "variable %q contains a NUL byte", name)
		}
		if strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "DYLD_") {
			return "", permanentf(CodeNotAllowed, KindExec, fmt.Sprintf(
				"exec payload: env %q is not allowed from a task payload (it changes what the command loads): set it in pools.%s.executors.exec.env instead",
				name, pool))
		}
	}
	if p.Dir != "" && !filepath.IsAbs(p.Dir) {
		return "", fieldErrorf(KindExec, "dir", "must be an absolute path like %q, got %q", "/srv/jobs", p.Dir)
	}
	return command, nil
}

// execEnv builds the command's whole environment: the worker's PATH, then the
// pool's env, then the payload's, later ones overriding earlier ones. It is
// never nil, so exec.Cmd never falls back to the worker's environment.
func execEnv(path string, layers ...map[string]string) []string {
	merged := make(map[string]string)
	if path != "" {
		merged["PATH"] = path
	}
	for _, layer := range layers {
		for k, v := range layer {
			merged[k] = v
		}
	}
	env := make([]string, 0, len(merged))
	for k, v := range merged {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

func startError(pool, command string, err error) error {
	e := &Error{Code: CodeStartFailed, Kind: KindExec, Err: err,
		Message: fmt.Sprintf("exec %s in pool %q could not start: %v", command, pool, err)}
	// A missing program or directory, or one the worker may not use, is a
	// deployment problem that a retry on the same worker cannot fix.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		e.Permanent = true
		e.Message += ": check that the command and dir exist on the worker and that the worker may run them"
	}
	return e
}

// capture keeps the first limit bytes written to it and, when tailLimit > 0,
// the last tailLimit bytes too. It never fails a write, so a chatty command is
// not killed by a broken pipe.
type capture struct {
	limit     int
	tailLimit int
	head      []byte
	tail      []byte
	total     int64
}

func (c *capture) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	if room := c.limit - len(c.head); room > 0 {
		c.head = append(c.head, p[:min(room, len(p))]...)
	}
	if c.tailLimit > 0 {
		c.tail = append(c.tail, p...)
		if over := len(c.tail) - c.tailLimit; over > 0 {
			c.tail = append(c.tail[:0], c.tail[over:]...)
		}
	}
	return len(p), nil
}

func (c *capture) truncated() bool { return c.total > int64(len(c.head)) }

func (c *capture) String() string { return strings.ToValidUTF8(string(c.head), "\uFFFD") }

// tailSuffix is ": <last bytes of output>" for a failure message, or "".
func (c *capture) tailSuffix() string {
	tail := c.tail
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(tail), "\uFFFD"))
	if s == "" {
		return ""
	}
	if c.total > int64(len(c.tail)) {
		s = "…" + s
	}
	return ": " + s
}
