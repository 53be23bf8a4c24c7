package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/notifier"
	"github.com/parklot/parklot/workers/node"
	"github.com/parklot/parklot/workflows"
)

func sleepTask(id, poolName, tenant string, units int64, d time.Duration) workflows.TaskInput {
	payload, _ := json.Marshal(map[string]string{"duration": d.String()})
	return workflows.TaskInput{TaskID: id, Pool: poolName, Tenant: tenant, Units: units, Kind: "sleep", Payload: payload}
}

func submit(t *testing.T, env *testenv.Env, in workflows.TaskInput) workflows.TaskStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := env.API.Submit(ctx, in)
	if err != nil {
		t.Fatalf("submit %s: %v", in.TaskID, err)
	}
	return st
}

func poolState(t *testing.T, env *testenv.Env, name string) workflows.PoolState {
	t.Helper()
	st, err := env.API.Pool(context.Background(), name)
	if err != nil {
		t.Fatalf("pool %s: %v", name, err)
	}
	return st
}

func multiPoolConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
defaults:
  mailbox: {backend: memory}
  audit: {backend: memory}
  lease_check_interval: 1s
  default_timeout: 60s
pools:
`+yaml), config.FormatYAML)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func TestATaskThatFitsStartsAtOnceAndATaskThatDoesNotQueuesUntilUnitsAreReleased(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 4, 1), testenv.Options{})

	a := submit(t, env, sleepTask("a", "p", "acme", 3, 3*time.Second))
	if a.Status != workflows.StatusRunning {
		t.Fatalf("a: %s %s, want running", a.Status, a.Reason)
	}
	b := submit(t, env, sleepTask("b", "p", "acme", 2, 100*time.Millisecond))
	if b.Status != workflows.StatusQueued || b.Position != 1 {
		t.Fatalf("b: %s at %d, want queued at 1", b.Status, b.Position)
	}
	before := poolState(t, env, "p")
	c := submit(t, env, sleepTask("c", "p", "acme", 2, 0))
	if c.Status != workflows.StatusRejected || c.Reason != pool.ReasonQueueFull {
		t.Fatalf("c: %s %s, want rejected queue_full", c.Status, c.Reason)
	}
	after := poolState(t, env, "p")
	if after.ActiveUnits != before.ActiveUnits || len(after.Queue) != len(before.Queue) || len(after.Holders) != len(before.Holders) {
		t.Fatalf("queue_full changed the pool: before %d units %d queued, after %d units %d queued",
			before.ActiveUnits, len(before.Queue), after.ActiveUnits, len(after.Queue))
	}
	if after.ActiveUnits > after.Config.MaxUnits {
		t.Fatalf("active units %d exceed max %d", after.ActiveUnits, after.Config.MaxUnits)
	}

	done := env.WaitStatus(t, "b", 30*time.Second, workflows.StatusCompleted)
	if done.StartedAt.IsZero() || string(done.Result) != `{"slept":"100ms"}` {
		t.Fatalf("b finished without a start time or result: %+v", done)
	}
	aDone := env.WaitStatus(t, "a", 30*time.Second, workflows.StatusCompleted)
	if done.StartedAt.Before(aDone.StartedAt.Add(time.Second)) {
		t.Fatalf("b started at %s, before a (started %s) released its units", done.StartedAt, aDone.StartedAt)
	}
	final := poolState(t, env, "p")
	if final.ActiveUnits != 0 || final.Counters.Admitted != 1 || final.Counters.Granted != 1 || final.Counters.Rejected[pool.ReasonQueueFull] != 1 {
		t.Fatalf("final pool state: %+v", final.Snapshot)
	}
}

func TestEveryRefusalHasItsStableReason(t *testing.T) {
	env := testenv.Start(t, multiPoolConfig(t, `
  p: {max_units: 4, max_queue_depth: 5}
  zero: {max_units: 0}
  off: {max_units: 4, state: disabled}
  draining: {max_units: 4, state: draining}
`), testenv.Options{})
	past := time.Now().Add(-time.Minute)
	cases := []struct {
		name   string
		in     workflows.TaskInput
		reason pool.Reason
		status string
		field  string
	}{
		{"a pool with no capacity rejects everything", sleepTask("r1", "zero", "acme", 1, 0), pool.ReasonCapacityZero, workflows.StatusRejected, "units"},
		{"more units than the pool has", sleepTask("r2", "p", "acme", 5, 0), pool.ReasonExceedsCapacity, workflows.StatusRejected, "units"},
		{"a disabled pool", sleepTask("r3", "off", "acme", 1, 0), pool.ReasonPoolDisabled, workflows.StatusRejected, ""},
		{"a draining pool", sleepTask("r4", "draining", "acme", 1, 0), pool.ReasonPoolDraining, workflows.StatusRejected, ""},
		{"a pool nobody runs", sleepTask("r5", "nope", "acme", 1, 0), pool.ReasonUnknownPool, workflows.StatusRejected, ""},
		{"zero units", sleepTask("r6", "p", "acme", 0, 0), pool.ReasonInvalidRequest, workflows.StatusRejected, "units"},
		{"no tenant", sleepTask("r7", "p", "", 1, 0), pool.ReasonInvalidRequest, workflows.StatusRejected, "tenant"},
		{"no kind", func() workflows.TaskInput { in := sleepTask("r8", "p", "acme", 1, 0); in.Kind = ""; return in }(), pool.ReasonInvalidRequest, workflows.StatusRejected, "kind"},
		{"a deadline already past", func() workflows.TaskInput { in := sleepTask("r9", "p", "acme", 1, 0); in.Deadline = past; return in }(), pool.ReasonDeadlinePassed, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := submit(t, env, tc.in)
			if st.Reason != tc.reason || st.Message == "" {
				t.Fatalf("got %s/%s %q, want reason %s with a message", st.Status, st.Reason, st.Message, tc.reason)
			}
			if tc.status != "" && st.Status != tc.status {
				t.Fatalf("status %s, want %s", st.Status, tc.status)
			}
			if st.Field != tc.field {
				t.Fatalf("field %q, want %q", st.Field, tc.field)
			}
		})
	}
	if st := poolState(t, env, "p"); st.ActiveUnits != 0 || len(st.Queue) != 0 {
		t.Fatalf("refusals left traces in the pool: %+v", st.Snapshot)
	}
}

func TestDeadlinesAndTimeoutsExpireTasks(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 5), testenv.Options{})
	submit(t, env, sleepTask("holder", "p", "acme", 1, 3*time.Second))

	late := sleepTask("late", "p", "acme", 1, 0)
	late.Deadline = time.Now().Add(time.Second)
	if st := submit(t, env, late); st.Status != workflows.StatusQueued {
		t.Fatalf("late: %s, want queued", st.Status)
	}
	st := env.WaitStatus(t, "late", 20*time.Second, workflows.StatusExpired, workflows.StatusCompleted)
	if st.Status != workflows.StatusExpired || st.Reason != pool.ReasonDeadlinePassed || !st.StartedAt.IsZero() {
		t.Fatalf("late: %+v, want expired (deadline_passed) without ever starting", st)
	}

	env.WaitStatus(t, "holder", 20*time.Second, workflows.StatusCompleted)
	slow := sleepTask("slow", "p", "acme", 1, time.Minute)
	slow.Timeout = time.Second
	submit(t, env, slow)
	st = env.WaitStatus(t, "slow", 30*time.Second, workflows.StatusExpired, workflows.StatusCompleted, workflows.StatusFailed)
	if st.Status != workflows.StatusExpired || st.Reason != pool.ReasonTimeout {
		t.Fatalf("slow: %s/%s %q, want expired with reason timeout", st.Status, st.Reason, st.Message)
	}
	waitPool(t, env, "p", func(s workflows.PoolState) bool { return s.ActiveUnits == 0 })
	if c := poolState(t, env, "p").Counters; c.Expired != 1 {
		t.Fatalf("pool counted %d expiries, want 1 (the queued task)", c.Expired)
	}
}

func waitPool(t *testing.T, env *testenv.Env, name string, ok func(workflows.PoolState) bool) workflows.PoolState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := poolState(t, env, name)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool %s never reached the expected state: %+v", name, st.Snapshot)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHigherPriorityQueuedTasksStartFirst(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 10), testenv.Options{})
	submit(t, env, sleepTask("blocker", "p", "acme", 1, 3*time.Second))
	low := sleepTask("low", "p", "acme", 1, 0)
	low.Priority = pool.PriorityLow
	high := sleepTask("high", "p", "globex", 1, 0)
	high.Priority = pool.PriorityHigh
	submit(t, env, low)
	if st := submit(t, env, high); st.Position != 1 {
		t.Fatalf("high priority queued at %d, want 1 (ahead of low)", st.Position)
	}
	h := env.WaitStatus(t, "high", 20*time.Second, workflows.StatusCompleted)
	l := env.WaitStatus(t, "low", 20*time.Second, workflows.StatusCompleted)
	if !h.StartedAt.Before(l.StartedAt) {
		t.Fatalf("high started %s, low %s: want high first", h.StartedAt, l.StartedAt)
	}
}

func TestReportedUsageAboveTheDeclaredUnitsStopsAdmissions(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 4, 10), testenv.Options{})
	in := sleepTask("greedy", "p", "acme", 1, 4*time.Second)
	in.Payload = json.RawMessage(`{"duration":"4s","usage":4}`)
	submit(t, env, in)
	waitPool(t, env, "p", func(s workflows.PoolState) bool { return s.ActiveUnits == 4 })
	if st := submit(t, env, sleepTask("next", "p", "acme", 1, 0)); st.Status != workflows.StatusQueued {
		t.Fatalf("next: %s, want queued while usage fills the pool", st.Status)
	}
	env.WaitStatus(t, "next", 20*time.Second, workflows.StatusCompleted)
	if c := poolState(t, env, "p").Counters; c.UsageExceeded != 1 {
		t.Fatalf("usage_exceeded counted %d, want 1", c.UsageExceeded)
	}
}

func TestATerminatedTaskGivesItsUnitsBack(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 2, 10), testenv.Options{})
	submit(t, env, sleepTask("doomed", "p", "acme", 2, time.Hour))
	if st := submit(t, env, sleepTask("waiting", "p", "acme", 2, 0)); st.Status != workflows.StatusQueued {
		t.Fatalf("waiting: %s, want queued", st.Status)
	}
	if err := env.Client.TerminateWorkflow(context.Background(), workflows.TaskWorkflowID("doomed"), "", "test"); err != nil {
		t.Fatal(err)
	}
	env.WaitStatus(t, "waiting", 30*time.Second, workflows.StatusCompleted)
	if c := poolState(t, env, "p").Counters; c.Reclaimed != 1 {
		t.Fatalf("reclaimed %d, want 1", c.Reclaimed)
	}
}

func TestSubmittingAnIdAgainReturnsTheFirstTask(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 10), testenv.Options{})
	first := submit(t, env, sleepTask("same", "p", "acme", 1, 3*time.Second))
	again := submit(t, env, sleepTask("same", "p", "other-tenant", 1, 0))
	if again.Tenant != "acme" || again.Status != first.Status {
		t.Fatalf("second submit: %+v, want the first task (%+v)", again, first)
	}
	env.WaitStatus(t, "same", 20*time.Second, workflows.StatusCompleted)
	closed := submit(t, env, sleepTask("same", "p", "acme", 1, 0))
	if closed.Status != workflows.StatusCompleted {
		t.Fatalf("submit after completion: %s, want the first task's completed", closed.Status)
	}
	if c := poolState(t, env, "p").Counters; c.Admitted+c.Granted != 1 {
		t.Fatalf("pool started %d tasks, want 1", c.Admitted+c.Granted)
	}
}

func TestCancellingAQueuedTaskDropsItAndARunningOneFailsIt(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 10), testenv.Options{})
	submit(t, env, sleepTask("running", "p", "acme", 1, time.Hour))
	submit(t, env, sleepTask("queued", "p", "acme", 1, 0))
	ctx := context.Background()
	if _, err := env.API.Cancel(ctx, "queued"); err != nil {
		t.Fatal(err)
	}
	st := env.WaitStatus(t, "queued", 20*time.Second, workflows.StatusDropped)
	if st.Reason != pool.ReasonCancelled {
		t.Fatalf("queued: reason %s, want cancelled", st.Reason)
	}
	if _, err := env.API.Cancel(ctx, "running"); err != nil {
		t.Fatal(err)
	}
	st = env.WaitStatus(t, "running", 20*time.Second, workflows.StatusFailed)
	if st.Reason != pool.ReasonCancelled {
		t.Fatalf("running: reason %s, want cancelled", st.Reason)
	}
	waitPool(t, env, "p", func(s workflows.PoolState) bool { return s.ActiveUnits == 0 && len(s.Queue) == 0 })
	if _, err := env.API.Cancel(ctx, "running"); err == nil {
		t.Fatal("cancelling a finished task succeeded, want an error saying it finished")
	}
}

func TestPoolsFollowConfigChangesLiveWithoutLosingQueuedTasks(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 10), testenv.Options{})
	submit(t, env, sleepTask("hold", "p", "acme", 1, 4*time.Second))
	for i := range 3 {
		if st := submit(t, env, sleepTask(fmt.Sprintf("q%d", i), "p", "acme", 1, time.Second)); st.Status != workflows.StatusQueued {
			t.Fatalf("q%d: %s, want queued", i, st.Status)
		}
	}
	grown := multiPoolConfig(t, `
  p: {max_units: 4, max_queue_depth: 10}
  extra: {max_units: 2}
`)
	grown.Temporal.Namespace = env.Config.Temporal.Namespace
	if err := node.EnsurePools(context.Background(), env.API, grown); err != nil {
		t.Fatal(err)
	}
	st := waitPool(t, env, "p", func(s workflows.PoolState) bool { return s.Config.MaxUnits == 4 && len(s.Queue) == 0 })
	if st.ActiveUnits > 4 {
		t.Fatalf("active %d over the new capacity", st.ActiveUnits)
	}
	for i := range 3 {
		env.WaitStatus(t, fmt.Sprintf("q%d", i), 20*time.Second, workflows.StatusCompleted)
	}
	if st := submit(t, env, sleepTask("in-new-pool", "extra", "acme", 2, 0)); st.Status != workflows.StatusRunning {
		t.Fatalf("new pool: %s %s, want running", st.Status, st.Reason)
	}

	// Draining by an operator survives a worker restarting with the same file.
	if err := env.API.SetPoolState(context.Background(), "p", pool.StateDraining); err != nil {
		t.Fatal(err)
	}
	waitPool(t, env, "p", func(s workflows.PoolState) bool { return s.State == pool.StateDraining })
	if err := node.EnsurePools(context.Background(), env.API, grown); err != nil {
		t.Fatal(err)
	}
	if st := submit(t, env, sleepTask("after-drain", "p", "acme", 1, 0)); st.Reason != pool.ReasonPoolDraining {
		t.Fatalf("after drain and an unchanged reconfigure: %s/%s, want pool_draining", st.Status, st.Reason)
	}
}

func TestNoSubmissionIsLostAcrossContinueAsNewDuringABurst(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 4, 1000), testenv.Options{PoolManagerMaxSignals: 40})
	const n = 300
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			in := sleepTask(fmt.Sprintf("burst-%03d", i), "p", fmt.Sprintf("tenant-%d", i%3), 1, 0)
			_, err := env.API.Submit(context.Background(), in)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	for i := range n {
		env.WaitStatus(t, fmt.Sprintf("burst-%03d", i), 60*time.Second, workflows.StatusCompleted)
	}
	st := waitPool(t, env, "p", func(s workflows.PoolState) bool { return s.ActiveUnits == 0 })
	if st.Runs < 5 {
		t.Fatalf("manager continued as new %d times, want several with a 40-signal bound", st.Runs)
	}
	if got := st.Counters.Admitted + st.Counters.Granted; got != n {
		t.Fatalf("pool started %d tasks, want exactly %d", got, n)
	}
	if st.Counters.Released != n || len(st.Queue) != 0 || len(st.Holders) != 0 {
		t.Fatalf("released %d, queue %d, holders %d after the burst", st.Counters.Released, len(st.Queue), len(st.Holders))
	}
}

func TestEveryOutcomeReachesTheMailboxOnceAndTheAuditTrailIsComplete(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 1), testenv.Options{})
	ctx := context.Background()
	done := sleepTask("done", "p", "acme", 1, 3*time.Second)
	done.User, done.Session = "ann", "s1"
	submit(t, env, done)
	submit(t, env, sleepTask("waits", "p", "acme", 1, 0))
	submit(t, env, sleepTask("full", "p", "acme", 1, 0)) // queue_full
	failing := sleepTask("fails", "p", "globex", 1, 0)
	failing.Payload = json.RawMessage(`{"fail":"model crashed"}`)
	for _, id := range []string{"done", "waits", "full"} {
		env.WaitStatus(t, id, 20*time.Second, workflows.StatusCompleted, workflows.StatusRejected)
	}
	submit(t, env, failing)
	env.WaitStatus(t, "fails", 20*time.Second, workflows.StatusFailed)

	read := func(key mailbox.Key) []mailbox.Message {
		t.Helper()
		msgs, err := env.API.Mailbox(ctx, key, "", 100)
		if err != nil {
			t.Fatalf("mailbox %s: %v", key, err)
		}
		return msgs
	}
	waitDelivered := func(id string) workflows.TaskStatus {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, err := env.API.Status(ctx, id)
			if err == nil && st.Delivery != nil && st.Delivery.State == workflows.DeliveryDelivered {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never delivered: %+v %v", id, st.Delivery, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, id := range []string{"done", "waits", "full", "fails"} {
		waitDelivered(id)
	}
	ann := read(mailbox.Key{Tenant: "acme", User: "ann", Session: "s1"})
	if len(ann) != 1 || ann[0].TaskID != "done" || ann[0].Status != mailbox.StatusCompleted || string(ann[0].Payload) != `{"slept":"3s"}` {
		t.Fatalf("ann's mailbox: %+v", ann)
	}
	acme := read(mailbox.Key{Tenant: "acme"})
	// Oldest first: the rejection happened before the queued task finished.
	if len(acme) != 2 || acme[0].TaskID != "full" || acme[0].Reason != string(pool.ReasonQueueFull) || acme[1].TaskID != "waits" {
		t.Fatalf("acme's mailbox (tenant only): %+v", acme)
	}
	globex := read(mailbox.Key{Tenant: "globex"})
	if len(globex) != 1 || globex[0].Status != mailbox.StatusFailed || !strings.Contains(string(globex[0].Payload), "model crashed") {
		t.Fatalf("globex's mailbox: %+v", globex)
	}
	stored, err := env.Node.Stores().Mailbox("p").Read(ctx, mailbox.Key{Tenant: "acme"}, mailbox.Cursor{}, 100)
	if err != nil || len(stored) != 2 {
		t.Fatalf("store has %d messages for acme (%v), want 2", len(stored), err)
	}

	events, err := env.Node.Stores().Audit("p").Query(ctx, audit.Query{Subject: audit.Task("waits"), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i := len(events) - 1; i >= 0; i-- {
		types = append(types, string(events[i].Type))
	}
	if got, want := strings.Join(types, ","), "submitted,queued,started,completed,delivered"; got != want {
		t.Fatalf("audit trail of a queued task: %s, want %s", got, want)
	}
	byTenant, err := env.Node.Stores().Audit("p").Query(ctx, audit.Query{Subject: audit.Tenant("globex"), Limit: 100})
	if err != nil || len(byTenant) != 4 || byTenant[0].Type != audit.TypeDelivered || byTenant[1].Type != audit.TypeFailed {
		t.Fatalf("globex's events, newest first: %+v (%v), want delivered, failed, started, submitted", byTenant, err)
	}
}

func TestAPoolWebhookReceivesEachOutcomeSigned(t *testing.T) {
	t.Setenv("TEST_WEBHOOK_SECRET", "s3cret")
	got := make(chan mailbox.Message, 4)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			http.Error(w, "warming up", http.StatusServiceUnavailable) // retried
			return
		}
		if !notifier.Verify([]byte("s3cret"), r.Header.Get(notifier.HeaderTimestamp), body, r.Header.Get(notifier.HeaderSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m mailbox.Message
		_ = json.Unmarshal(body, &m)
		got <- m
	}))
	defer srv.Close()
	env := testenv.Start(t, multiPoolConfig(t, `
  hooked:
    max_units: 1
    webhook: {url: "`+srv.URL+`", secret_env: TEST_WEBHOOK_SECRET}
`), testenv.Options{})
	submit(t, env, sleepTask("hooked-1", "hooked", "acme", 1, 0))
	select {
	case m := <-got:
		if m.TaskID != "hooked-1" || m.Status != mailbox.StatusCompleted || m.MessageID == "" {
			t.Fatalf("webhook got %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the webhook was never called with a valid signature")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := env.API.Status(context.Background(), "hooked-1")
		if err == nil && st.Delivery != nil && st.Delivery.Webhook == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the webhook sent: %+v %v", st.Delivery, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPoolManagersRunAheadOfTheirTasksInTheTaskQueue: a manager starts at
// node.CoordinatorPriority, one that an older worker started without a
// priority is raised when a worker starts, one an operator set is kept, and
// it goes on deciding afterwards.
func TestPoolManagersRunAheadOfTheirTasksInTheTaskQueue(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "prio", 2, 10), testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := func() int32 {
		t.Helper()
		desc, err := env.Client.DescribeWorkflowExecution(ctx, workflows.PoolWorkflowID("prio"), "")
		if err != nil {
			t.Fatal(err)
		}
		return desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey()
	}
	want := int32(node.CoordinatorPriority.PriorityKey)
	if got := key(); got != want {
		t.Fatalf("a new manager runs at priority %d, want %d", got, want)
	}
	setPriority := func(p *commonpb.Priority) {
		t.Helper()
		if _, err := env.Client.WorkflowService().UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{
			Namespace:                env.Config.Temporal.Namespace,
			WorkflowExecution:        &commonpb.WorkflowExecution{WorkflowId: workflows.PoolWorkflowID("prio")},
			WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: p},
			UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	raise := func() {
		node.RaiseCoordinatorPriority(ctx, env.Client, env.Config.Temporal.Namespace, env.Config, slog.New(slog.DiscardHandler))
	}
	// As an older worker left it: no priority.
	setPriority(&commonpb.Priority{})
	if got := key(); got != 0 {
		t.Fatalf("priority %d after unsetting it", got)
	}
	raise()
	if got := key(); got != want {
		t.Fatalf("a running manager without a priority raised to %d, want %d", got, want)
	}
	// An operator's own choice is kept.
	setPriority(&commonpb.Priority{PriorityKey: 2})
	raise()
	if got := key(); got != 2 {
		t.Fatalf("an operator's priority 2 became %d", got)
	}
	submit(t, env, sleepTask("prio-1", "prio", "acme", 1, 0))
	env.WaitStatus(t, "prio-1", 20*time.Second, workflows.StatusCompleted)
}

// TestADecisionTakenInTheTasksOwnProcessNeedsNoSignal: with the manager and
// the task in one worker process, the first decision is handed over to the
// task's SendAcquire, so a task admitted at once runs in two workflow tasks
// and is never signalled by its pool. A decision that misses the wait comes
// as a signal, so the test asks this of one task in five, not all.
func TestADecisionTakenInTheTasksOwnProcessNeedsNoSignal(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "hand", 2, 10), testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	handedOver := 0
	for i := range 5 {
		id := fmt.Sprintf("hand-%d", i)
		if st := submit(t, env, sleepTask(id, "hand", "acme", 1, 0)); st.Status != workflows.StatusRunning {
			t.Fatalf("%s: %s, want running at once in an empty pool", id, st.Status)
		}
		env.WaitStatus(t, id, 20*time.Second, workflows.StatusCompleted)
		var signals, wfts int
		for _, e := range historyEvents(ctx, t, env, workflows.TaskWorkflowID(id)) {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				if e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.SignalDecision {
					signals++
				}
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				wfts++
			}
		}
		if signals == 0 {
			handedOver++
			if wfts != 2 {
				t.Errorf("%s got its decision handed over but ran %d workflow tasks, want 2", id, wfts)
			}
		}
	}
	if handedOver == 0 {
		t.Fatal("no task of five got its decision handed over: every decision was signalled")
	}
}

// A handed-over decision lives only in memory until the task's workflow
// task completes. When that workflow task fails instead, the retry sends the
// acquire again and the manager answers the repeat with the task's state:
// the task runs once, the pool admits it once, and its units come back.
func TestATaskWhoseWorkflowTaskFailsAfterAHandoverGetsItsDecisionAgain(t *testing.T) {
	inject := &failAfterHandover{}
	env := testenv.Start(t, testenv.PoolConfig(t, "lost", 2, 10), testenv.Options{
		Interceptors: []interceptor.WorkerInterceptor{inject},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The first tasks may get their decision as a signal: a task waits
	// for a handover only once its manager has sent decisions from here.
	var id string
	n := 0
	for n < 6 && inject.failed.Load() == nil {
		id = fmt.Sprintf("lost-%d", n)
		n++
		if st := submit(t, env, sleepTask(id, "lost", "acme", 1, 0)); st.Status != workflows.StatusRunning && st.Status != workflows.StatusCompleted {
			t.Fatalf("%s: %s, want running at once in an empty pool", id, st.Status)
		}
		env.WaitStatus(t, id, 20*time.Second, workflows.StatusCompleted)
	}
	failed := inject.failed.Load()
	if failed == nil {
		t.Fatalf("none of %d tasks got its decision handed over", n)
	}
	if *failed != workflows.TaskWorkflowID(id) {
		t.Fatalf("the failure was injected into %s, want %s", *failed, workflows.TaskWorkflowID(id))
	}
	events := map[enumspb.EventType]int{}
	for _, e := range historyEvents(ctx, t, env, *failed) {
		events[e.GetEventType()]++
	}
	if got := events[enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED]; got != 1 {
		t.Errorf("%s: %d failed workflow tasks, want the 1 injected", id, got)
	}
	if got := events[enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]; got != 1 {
		t.Errorf("%s: Execute scheduled %d times, want once", id, got)
	}
	st := poolState(t, env, "lost")
	c := st.Counters
	if c.Duplicates != 1 {
		t.Errorf("the manager counted %d repeated acquires, want 1 (the retried workflow task's)", c.Duplicates)
	}
	if c.Admitted != int64(n) || c.Queued != 0 || c.Released != int64(n) {
		t.Errorf("counters admitted %d, queued %d, released %d; want %d, 0, %d: each task admitted and released once", c.Admitted, c.Queued, c.Released, n, n)
	}
	if st.ActiveUnits != 0 || len(st.Holders) != 0 {
		t.Errorf("after every task completed: %d active units, holders %v; want none", st.ActiveUnits, st.Holders)
	}
}

// historyEvents reads the whole history of a workflow's current run.
func historyEvents(ctx context.Context, t *testing.T, env *testenv.Env, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := env.Client.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// failAfterHandover fails, once, the workflow task in which a task's
// SendAcquire returned a decision handed over in memory, so that decision is
// in no history.
type failAfterHandover struct {
	interceptor.WorkerInterceptorBase
	// failed is the workflow id whose workflow task was failed.
	failed atomic.Pointer[string]
}

func (f *failAfterHandover) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &failAfterHandoverInbound{root: f}
	in.Next = next
	return in
}

type failAfterHandoverInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	root *failAfterHandover
}

func (in *failAfterHandoverInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	out := &failAfterHandoverOutbound{root: in.root}
	out.Next = outbound
	return in.Next.Init(out)
}

type failAfterHandoverOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	root *failAfterHandover
}

func (out *failAfterHandoverOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	f := out.Next.ExecuteLocalActivity(ctx, activityType, args...)
	if activityType != workflows.ActivitySendAcquire || out.root.failed.Load() != nil {
		return f
	}
	wrapped, settle := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(gctx workflow.Context) {
		var res workflows.SendAcquireResult
		id := workflow.GetInfo(gctx).WorkflowExecution.ID
		if err := f.Get(gctx, &res); err == nil && res.Decision != nil && out.root.failed.CompareAndSwap(nil, &id) {
			panic("injected: the workflow task fails after its decision was handed over")
		}
		settle.Chain(f)
	})
	return wrapped
}
