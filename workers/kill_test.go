package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/storage/storetest"
	"github.com/parklot/parklot/workflows"
)

// TestMain lets a test start this binary as `parklot-worker` in a child
// process, so it can be killed with SIGKILL like a real one.
func TestMain(m *testing.M) {
	if os.Getenv("PARKLOT_TEST_RUN_WORKER") == "1" {
		if err := newApp().Run(os.Args); err != nil {
			fmt.Fprintln(os.Stderr, "parklot-worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type worker struct {
	cmd *exec.Cmd
	log *os.File
}

func startWorker(t *testing.T, args ...string) *worker {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "worker-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], append([]string{"dev"}, args...)...)
	cmd.Env = append(os.Environ(), "PARKLOT_TEST_RUN_WORKER=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{cmd: cmd, log: logf}
	t.Cleanup(func() { w.kill() })
	return w
}

func (w *worker) kill() {
	if w.cmd.ProcessState == nil {
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		_ = w.cmd.Wait()
	}
}

func (w *worker) output() string {
	b, _ := os.ReadFile(w.log.Name())
	return string(b)
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func dialWhenUp(t *testing.T, w *worker, addr string) client.Client {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: quietTestLogger{}})
		if err == nil {
			// Up means the worker has started the pool managers too.
			if _, err = c.DescribeWorkflowExecution(context.Background(), workflows.PoolWorkflowID("q"), ""); err == nil {
				return c
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not come up at %s: %v\n%s", addr, err, w.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type quietTestLogger struct{}

func (quietTestLogger) Debug(string, ...interface{}) {}
func (quietTestLogger) Info(string, ...interface{})  {}
func (quietTestLogger) Warn(string, ...interface{})  {}
func (quietTestLogger) Error(string, ...interface{}) {}

func TestKillingTheDevProcessMidQueueLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the dev runtime twice in a child process")
	}
	for _, backend := range []string{"file", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			store := fmt.Sprintf("{backend: file, path: %s}", filepath.Join(dir, "stores.db"))
			var spec storage.Spec
			if backend == "postgres" {
				dsn := storetest.PostgresDSN(t)
				store = fmt.Sprintf("{backend: postgres, dsn: %q}", dsn)
				spec = storage.Spec{Backend: "postgres", DSN: dsn}
			} else {
				spec = storage.Spec{Backend: "file", Path: filepath.Join(dir, "stores.db")}
			}
			cfgPath := filepath.Join(dir, "parklot.yaml")
			cfg := "defaults:\n  mailbox: " + store + "\n  audit: " + store + "\npools:\n  q: {max_units: 1, max_queue_depth: 50, default_timeout: 2m}\n"
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			port := freeTCPPort(t)
			args := []string{"--config", cfgPath, "--data-dir", dir, "--temporal-port", fmt.Sprint(port), "--ui-port", "-1", "--http-port", "0"}
			addr := fmt.Sprintf("127.0.0.1:%d", port)

			first := startWorker(t, args...)
			c := dialWhenUp(t, first, addr)
			a := api.New(c, "")
			ctx := context.Background()
			const n = 6
			ids := make([]string, n)
			for i := range n {
				ids[i] = fmt.Sprintf("k%d", i)
				// The first holds the unit long enough that the others
				// queue however slow the machine is.
				payload := []byte(`{"duration":"700ms"}`)
				if i == 0 {
					payload = []byte(`{"duration":"3s"}`)
				}
				st, err := a.Submit(ctx, workflows.TaskInput{TaskID: ids[i], Pool: "q", Tenant: "acme", User: fmt.Sprintf("u%d", i%2),
					Units: 1, Kind: "sleep", Payload: payload})
				if err != nil {
					t.Fatalf("submit %s: %v", ids[i], err)
				}
				if i > 0 && st.Status != workflows.StatusQueued {
					t.Fatalf("%s: %s, want queued", ids[i], st.Status)
				}
			}
			// Kill once the queue has started moving: one task done or
			// running, the rest parked.
			if _, err := a.Wait(ctx, ids[0], 50*time.Millisecond, nil); err != nil {
				t.Fatal(err)
			}
			c.Close()
			first.kill()

			second := startWorker(t, args...)
			c = dialWhenUp(t, second, addr)
			defer c.Close()
			a = api.New(c, "")
			wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			for _, id := range ids {
				st, err := a.Wait(wctx, id, 100*time.Millisecond, nil)
				if err != nil || st.Status != workflows.StatusCompleted {
					t.Fatalf("%s after the restart: %+v %v\n%s", id, st, err, second.output())
				}
			}

			mb, err := storage.OpenMailbox(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			au, err := storage.OpenAudit(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			defer au.Close()
			seen := map[string]int{}
			deadline := time.Now().Add(60 * time.Second)
			for {
				clear(seen)
				for _, user := range []string{"u0", "u1"} {
					msgs, err := mb.Read(ctx, mailbox.Key{Tenant: "acme", User: user}, mailbox.Cursor{}, 100)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range msgs {
						seen[m.TaskID]++
					}
				}
				if len(seen) == n || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			for _, id := range ids {
				if seen[id] != 1 {
					t.Fatalf("task %s is in the mailbox store %d times, want exactly once (all: %v)", id, seen[id], seen)
				}
				trail := auditTrail(t, au, id)
				want := "submitted,queued,started,completed,delivered"
				if id == ids[0] {
					want = "submitted,started,completed,delivered"
				}
				if trail != want {
					t.Fatalf("audit trail of %s: %s, want %s", id, trail, want)
				}
			}
			for _, user := range []string{"u0", "u1"} {
				msgs, err := a.Mailbox(ctx, mailbox.Key{Tenant: "acme", User: user}, "", 100)
				if err != nil || len(msgs) != n/2 {
					t.Fatalf("mailbox workflow of %s: %d messages (%v), want %d", user, len(msgs), err, n/2)
				}
			}
		})
	}
}

// auditTrail is the task's event types, oldest first, once the trail is
// complete (the last batch is written after the task delivered).
func auditTrail(t *testing.T, au storage.Audit, taskID string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		events, err := au.Query(context.Background(), audit.Query{Subject: audit.Task(taskID), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for i := len(events) - 1; i >= 0; i-- {
			types = append(types, string(events[i].Type))
		}
		got := strings.Join(types, ",")
		if strings.HasSuffix(got, "delivered") || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}
