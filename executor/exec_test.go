//go:build unix

package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newExec(pol ExecPolicy) *execExecutor {
	return &execExecutor{
		policies:  map[string]Policy{"jobs": {Exec: pol}},
		tick:      10 * time.Millisecond,
		waitDelay: time.Second,
	}
}

var enabled = ExecPolicy{Enabled: true}

func execTask(t *testing.T, p ExecPayload) Task {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return task(KindExec, string(raw))
}

func sh(script string) ExecPayload {
	return ExecPayload{Command: "/bin/sh", Args: []string{"-c", script}}
}

func TestExecIsRefusedByPolicy(t *testing.T) {
	tests := []struct {
		name   string
		pool   string
		policy ExecPolicy
		cmd    string
		want   string
	}{
		{"pool without a policy", "gpu", enabled, "/bin/echo",
			`exec is not enabled for pool "gpu": set pools.gpu.executors.exec.enabled: true`},
		{"exec not enabled", "jobs", ExecPolicy{Commands: []string{"/bin/echo"}}, "/bin/echo",
			`exec is not enabled for pool "jobs": set pools.jobs.executors.exec.enabled: true`},
		{"command outside the allow-list", "jobs", ExecPolicy{Enabled: true, Commands: []string{"/bin/echo", "/bin/sleep"}}, "/bin/sh",
			`command "/bin/sh" is not allowed for pool "jobs": add it to pools.jobs.executors.exec.commands (allowed now: /bin/echo, /bin/sleep)`},
		{"dot-dot cannot escape the allow-list", "jobs", ExecPolicy{Enabled: true, Commands: []string{"/bin/echo"}}, "/bin/../bin/sh",
			`command "/bin/sh" is not allowed for pool "jobs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := execTask(t, ExecPayload{Command: tt.cmd})
			tk.Pool = tt.pool
			out, err, _ := run(context.Background(), t, newExec(tt.policy), tk)
			wantError(t, err, CodeNotAllowed, true, tt.want)
			if out != nil {
				t.Errorf("result = %s, want none", out)
			}
		})
	}
}

func TestExecRunsAllowListedCommandsWhateverTheirSpelling(t *testing.T) {
	pol := ExecPolicy{Enabled: true, Commands: []string{"/bin/echo", "/bin/./sleep"}}
	for _, p := range []ExecPayload{
		{Command: "/bin/echo", Args: []string{"hi"}},
		{Command: "/bin//echo", Args: []string{"hi"}},
		{Command: "/bin/sleep", Args: []string{"0"}},
	} {
		t.Run(p.Command, func(t *testing.T) {
			if _, err, _ := run(context.Background(), t, newExec(pol), execTask(t, p)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExecRefusesBadPayloads(t *testing.T) {
	tests := []struct {
		name, payload string
		code          Code
		want          string
	}{
		{"empty payload", ``, CodeInvalidPayload,
			`exec payload: "command" is required: give the absolute path of the program, like "/usr/bin/python3"`},
		{"relative command", `{"command":"sh"}`, CodeInvalidPayload,
			`exec payload: "command" must be an absolute path like "/usr/bin/python3" (there is no shell and no PATH lookup), got "sh"`},
		{"a command line instead of a path", `{"command":"echo hi"}`, CodeInvalidPayload,
			`"command" must be an absolute path`},
		{"unknown field", `{"command":"/bin/echo","cwd":"/tmp"}`, CodeInvalidPayload,
			`exec payload: unknown field "cwd": the allowed fields are "command", "args", "env", "stdin", "dir"`},
		{"args as a string", `{"command":"/bin/echo","args":"hi there"}`, CodeInvalidPayload,
			`exec payload: "args" must be an array of strings, got string`},
		{"args with a number", `{"command":"/bin/echo","args":["a",1]}`, CodeInvalidPayload,
			`exec payload: "args" must be an array of strings, got number among its values`},
		{"env value as a number", `{"command":"/bin/echo","env":{"N":1}}`, CodeInvalidPayload,
			`exec payload: "env" must be an object whose values are strings, got number among its values`},
		{"env as a list", `{"command":"/bin/echo","env":["A=1"]}`, CodeInvalidPayload,
			`exec payload: "env" must be an object whose values are strings, got array`},
		{"env name with =", `{"command":"/bin/echo","env":{"A=B":"1"}}`, CodeInvalidPayload,
			`exec payload: "env" has an invalid variable name "A=B"`},
		{"empty env name", `{"command":"/bin/echo","env":{"":"1"}}`, CodeInvalidPayload,
			`exec payload: "env" has an invalid variable name ""`},
		{"NUL in an argument", `{"command":"/bin/echo","args":["a\u0000b"]}`, CodeInvalidPayload,
			`exec payload: "args" element 0 contains a NUL byte`},
		{"relative dir", `{"command":"/bin/echo","dir":"work"}`, CodeInvalidPayload,
			`exec payload: "dir" must be an absolute path like "/srv/jobs", got "work"`},
		{"loader variable from the payload", `{"command":"/bin/echo","env":{"LD_PRELOAD":"/tmp/x.so"}}`, CodeNotAllowed,
			`exec payload: env "LD_PRELOAD" is not allowed from a task payload (it changes what the command loads): set it in pools.jobs.executors.exec.env instead`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err, _ := run(context.Background(), t, newExec(enabled), task(KindExec, tt.payload))
			wantError(t, err, tt.code, true, tt.want)
		})
	}
}

func TestExecCapturesOutputAndExitCode(t *testing.T) {
	out, err, _ := run(context.Background(), t, newExec(enabled),
		execTask(t, sh(`echo "hello $1"; echo warning >&2`)))
	if err != nil {
		t.Fatal(err)
	}
	res := decode[ExecResult](t, out)
	if res.ExitCode != 0 || res.Stdout != "hello \n" || res.Stderr != "warning\n" || res.Truncated || res.Signal != "" {
		t.Errorf("result = %+v", res)
	}
	if res.DurationMs < 0 {
		t.Errorf("durationMs = %d", res.DurationMs)
	}
	for _, field := range []string{`"exitCode":0`, `"stdout":`, `"stderr":`, `"truncated":false`, `"durationMs":`} {
		if !strings.Contains(string(out), field) {
			t.Errorf("result %s lacks %s", out, field)
		}
	}
}

func TestExecPassesArgsWithoutAShell(t *testing.T) {
	out, err, _ := run(context.Background(), t, newExec(enabled),
		execTask(t, ExecPayload{Command: "/bin/echo", Args: []string{"$HOME", "a b", "*", ";", "rm"}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[ExecResult](t, out).Stdout; got != "$HOME a b * ; rm\n" {
		t.Errorf("stdout = %q, want the args verbatim", got)
	}
}

func TestExecFeedsStdinAndRunsInDir(t *testing.T) {
	dir := t.TempDir()
	out, err, _ := run(context.Background(), t, newExec(enabled), execTask(t, ExecPayload{
		Command: "/bin/sh", Args: []string{"-c", `read line; echo "got:$line"; pwd -P`},
		Stdin: "first line\nsecond\n", Dir: dir,
	}))
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := decode[ExecResult](t, out).Stdout, "got:first line\n"+real+"\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestExecWithoutStdinReadsNothing(t *testing.T) {
	out, err, _ := runWithin(context.Background(), t, 5*time.Second, newExec(enabled), execTask(t, ExecPayload{Command: "/bin/cat"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[ExecResult](t, out).Stdout; got != "" {
		t.Errorf("stdout = %q, want empty", got)
	}
}

func TestExecEnvironmentIsPathPolicyAndPayloadOnly(t *testing.T) {
	t.Setenv("PARKLOT_EXEC_SECRET", "leaked")
	pol := ExecPolicy{Enabled: true, Env: map[string]string{"POLICY_VAR": "p", "SHARED": "from-policy"}}
	out, err, _ := run(context.Background(), t, newExec(pol), execTask(t, ExecPayload{
		Command: "/usr/bin/env",
		Env:     map[string]string{"PAYLOAD_VAR": "x y", "SHARED": "from-payload"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(decode[ExecResult](t, out).Stdout), "\n")
	want := []string{"PATH=" + os.Getenv("PATH"), "PAYLOAD_VAR=x y", "POLICY_VAR=p", "SHARED=from-payload"}
	if !slices.Equal(got, want) {
		t.Errorf("environment = %q, want exactly %q", got, want)
	}
}

func TestExecDoesNotSeeTheWorkersVariables(t *testing.T) {
	t.Setenv("PARKLOT_EXEC_SECRET", "leaked")
	out, err, _ := run(context.Background(), t, newExec(enabled),
		execTask(t, sh(`echo "${PARKLOT_EXEC_SECRET-unset} ${HOME-unset}"`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[ExecResult](t, out).Stdout; got != "unset unset\n" {
		t.Errorf("stdout = %q, want the worker's variables unset", got)
	}
}

func TestExecPolicyMaySetLoaderVariables(t *testing.T) {
	pol := ExecPolicy{Enabled: true, Env: map[string]string{"LD_LIBRARY_PATH": "/opt/lib"}}
	out, err, _ := run(context.Background(), t, newExec(pol), execTask(t, sh(`echo "$LD_LIBRARY_PATH"`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[ExecResult](t, out).Stdout; got != "/opt/lib\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestExecTruncatesEachStreamAtTheBound(t *testing.T) {
	tests := []struct {
		name       string
		max        int
		script     string
		stdout     string
		stderr     string
		truncated  bool
		stdoutSize int
	}{
		{"both under the bound", 10, `printf 0123456789; printf ERR >&2`, "0123456789", "ERR", false, -1},
		{"stdout over the bound", 10, `printf 0123456789abc; printf ERR >&2`, "0123456789", "ERR", true, -1},
		{"stderr over the bound", 10, `printf out; printf ERRORERRORERROR >&2`, "out", "ERRORERROR", true, -1},
		{"default bound is 64 KiB", 0, `/usr/bin/yes | /usr/bin/head -c 70000`, "", "", true, DefaultMaxOutputBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err, _ := run(context.Background(), t, newExec(ExecPolicy{Enabled: true, MaxOutputBytes: tt.max}), execTask(t, sh(tt.script)))
			if err != nil {
				t.Fatal(err)
			}
			res := decode[ExecResult](t, out)
			if res.Truncated != tt.truncated {
				t.Errorf("truncated = %v, want %v", res.Truncated, tt.truncated)
			}
			if tt.stdoutSize >= 0 {
				if len(res.Stdout) != tt.stdoutSize {
					t.Errorf("len(stdout) = %d, want %d", len(res.Stdout), tt.stdoutSize)
				}
				return
			}
			if res.Stdout != tt.stdout || res.Stderr != tt.stderr {
				t.Errorf("stdout, stderr = %q, %q; want %q, %q", res.Stdout, res.Stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestExecNonZeroExitIsARetryableErrorWithTheCodeAndStderrTail(t *testing.T) {
	out, err, _ := run(context.Background(), t, newExec(enabled),
		execTask(t, sh(`echo partial; echo "loading" >&2; echo "boom: disk full" >&2; exit 3`)))
	wantError(t, err, CodeExitStatus, false,
		`exec /bin/sh in pool "jobs" exited with code 3: loading`, "boom: disk full")
	res := decode[ExecResult](t, out)
	if res.ExitCode != 3 || res.Stdout != "partial\n" {
		t.Errorf("result with the error = %+v", res)
	}
}

func TestExecFailureQuotesTheRealEndOfALongStderr(t *testing.T) {
	_, err, _ := run(context.Background(), t, newExec(ExecPolicy{Enabled: true, MaxOutputBytes: 16}),
		execTask(t, sh(`/usr/bin/yes noise | /usr/bin/head -c 5000 >&2; echo "the real cause" >&2; exit 1`)))
	wantError(t, err, CodeExitStatus, false, "exited with code 1: …", "the real cause")
	if len(err.Error()) > 700 {
		t.Errorf("message is %d bytes long, want the tail only", len(err.Error()))
	}
}

func TestExecKilledBySignalIsAnError(t *testing.T) {
	out, err, _ := run(context.Background(), t, newExec(enabled), execTask(t, sh(`echo dying >&2; kill -TERM $$`)))
	wantError(t, err, CodeExitStatus, false, `exec /bin/sh in pool "jobs" was killed by signal terminated: dying`)
	if res := decode[ExecResult](t, out); res.ExitCode != -1 || res.Signal != "terminated" {
		t.Errorf("result = %+v, want exitCode -1 and signal terminated", res)
	}
}

func TestExecCommandThatCannotStartIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		p    ExecPayload
	}{
		{"missing program", ExecPayload{Command: "/nonexistent/parklot-tool"}},
		{"missing dir", ExecPayload{Command: "/bin/echo", Dir: "/nonexistent/dir"}},
		{"a directory as program", ExecPayload{Command: "/tmp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err, _ := run(context.Background(), t, newExec(enabled), execTask(t, tt.p))
			wantError(t, err, CodeStartFailed, true, "could not start", "check that the command and dir exist on the worker")
		})
	}
}

func TestExecReportsProgressWhileRunning(t *testing.T) {
	_, err, rec := run(context.Background(), t, newExec(enabled), execTask(t, ExecPayload{Command: "/bin/sleep", Args: []string{"0.2"}}))
	if err != nil {
		t.Fatal(err)
	}
	if rec.progressCount() == 0 {
		t.Fatal("no progress reported while the command ran")
	}
	if _, ok := rec.progress[0].(Running); !ok {
		t.Errorf("progress detail is %T, want Running", rec.progress[0])
	}
}

type outcome struct {
	out []byte
	err error
}

// startGroup runs a shell script through exec in the background: before, then
// writing the shell's pid (its process group id) to a file, then after. It
// returns the group id once written, and a channel with Execute's outcome.
func startGroup(ctx context.Context, t *testing.T, e *execExecutor, before, after string) (int, <-chan outcome) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pgid")
	done := make(chan outcome, 1)
	rec := newRecorder(t)
	go func() {
		out, err := e.Execute(ctx, execTask(t, ExecPayload{
			Command: "/bin/sh", Args: []string{"-c", before + "\n" + `echo $$ > "$0.tmp" && mv "$0.tmp" "$0"` + "\n" + after, pidFile},
		}), rec)
		rec.close()
		done <- outcome{out, err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(pidFile); err == nil {
			pgid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			return pgid, done
		}
		select {
		case o := <-done:
			// A quick command may end before this loop sees its file.
			data, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatalf("command ended before writing its pid: %s, %v", o.out, o.err)
			}
			pgid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			again := make(chan outcome, 1)
			again <- o
			return pgid, again
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("command did not start within 5s")
	return 0, nil
}

// groupMembers lists the live (non-zombie) processes of process group pgid,
// from /proc, since the container's init may never reap killed orphans.
func groupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to inspect process groups: %v", err)
	}
	var live []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if fields[2] == strconv.Itoa(pgid) {
			live = append(live, e.Name()+" "+string(stat[:i+1]))
		}
	}
	return live
}

func wantGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		live := groupMembers(t, pgid)
		if len(live) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live processes: %v", pgid, live)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecCancelKillsTheWholeProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pgid, done := startGroup(ctx, t, newExec(enabled), `/bin/sleep 30 & /bin/sleep 30 &`, `wait`)
	if live := groupMembers(t, pgid); len(live) < 3 {
		t.Fatalf("want the shell and its sleeps in group %d, got %v", pgid, live)
	}
	cancel()
	select {
	case o := <-done:
		if !errors.Is(o.err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", o.err)
		}
		if IsPermanent(o.err) {
			t.Error("a cancel must not be marked permanent")
		}
		if res := decode[ExecResult](t, o.out); res.Signal != "killed" {
			t.Errorf("result = %+v, want the kill recorded", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Execute did not return within 5s of the cancel")
	}
	wantGroupGone(t, pgid)
}

func TestExecContextDeadlineKillsTheCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	pgid, done := startGroup(ctx, t, newExec(enabled), ``, `/bin/sleep 30`)
	select {
	case o := <-done:
		if !errors.Is(o.err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", o.err)
		}
		if !strings.Contains(o.err.Error(), "process group killed") {
			t.Errorf("err = %q, want it to say what happened", o.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Execute did not return within 5s of the deadline")
	}
	wantGroupGone(t, pgid)
}

func TestExecKillsProcessesLeftBehindByACommandThatExited(t *testing.T) {
	tests := []struct {
		name, script string
	}{
		{"detached from the output", `/bin/sleep 30 >/dev/null 2>&1 & echo started`},
		{"still holding the output open", `/bin/sleep 30 & echo started`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pgid, done := startGroup(context.Background(), t, newExec(enabled), tt.script, ``)
			select {
			case o := <-done:
				if o.err != nil {
					t.Fatalf("err = %v, want success", o.err)
				}
				if res := decode[ExecResult](t, o.out); res.ExitCode != 0 || res.Stdout != "started\n" {
					t.Errorf("result = %+v", res)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Execute did not return within 5s of the command's exit")
			}
			wantGroupGone(t, pgid)
		})
	}
}

func TestExecWithACancelledContextStartsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	marker := filepath.Join(t.TempDir(), "ran")
	_, err, _ := run(ctx, t, newExec(enabled), execTask(t, sh(fmt.Sprintf("touch %q", marker))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran despite the cancelled context")
	}
}

func TestExecFromBuiltinsUsesThePoolPolicy(t *testing.T) {
	r := Builtins(map[string]Policy{"jobs": {Exec: ExecPolicy{Enabled: true, Env: map[string]string{"GREETING": "hi"}}}})
	e, err := r.Lookup(KindExec)
	if err != nil {
		t.Fatal(err)
	}
	out, err, _ := run(context.Background(), t, e, execTask(t, sh(`echo "$GREETING"`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[ExecResult](t, out).Stdout; got != "hi\n" {
		t.Errorf("stdout = %q", got)
	}
}
