package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/workflows"
)

// flakyMailbox fails every call while down, as a store whose database has
// gone away does.
type flakyMailbox struct {
	storage.Mailbox
	down  atomic.Bool
	tries atomic.Int64
}

var errOutage = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused (simulated outage)")

func (f *flakyMailbox) Deliver(ctx context.Context, m mailbox.Message) (mailbox.Message, bool, error) {
	f.tries.Add(1)
	if f.down.Load() {
		return mailbox.Message{}, false, errOutage
	}
	return f.Mailbox.Deliver(ctx, m)
}

func (f *flakyMailbox) Ping(ctx context.Context) error {
	if f.down.Load() {
		return errOutage
	}
	return f.Mailbox.Ping(ctx)
}

func withFlakyMailbox(f *flakyMailbox) func(*activities.Stores) {
	return func(s *activities.Stores) {
		f.Mailbox = s.DefaultMailbox
		s.DefaultMailbox = f
		for name := range s.Mailboxes {
			s.Mailboxes[name] = f
		}
	}
}

func waitDelivery(t *testing.T, env *testenv.Env, id string, ok func(*workflows.Delivery) bool) workflows.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := env.API.Status(context.Background(), id)
		if err == nil && st.Delivery != nil && ok(st.Delivery) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: delivery %+v (%v) never reached the expected state", id, st.Delivery, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAMailboxStoreOutageDelaysDeliveryButNotScheduling(t *testing.T) {
	flaky := &flakyMailbox{}
	flaky.down.Store(true)
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 10), testenv.Options{WrapStores: withFlakyMailbox(flaky)})
	ids := []string{"o1", "o2", "o3"}
	for _, id := range ids {
		submit(t, env, sleepTask(id, "p", "acme", 1, 100*time.Millisecond))
	}
	// Every task runs to its end while the store is down: units are
	// released before delivery, so the queue keeps moving.
	for _, id := range ids {
		st := waitDelivery(t, env, id, func(d *workflows.Delivery) bool { return d.State == workflows.DeliveryPending && d.Attempts >= 1 })
		if st.Status != workflows.StatusCompleted || !strings.Contains(st.Delivery.LastError, "simulated outage") {
			t.Fatalf("%s during the outage: %s, delivery %+v", id, st.Status, st.Delivery)
		}
	}
	if ps := poolState(t, env, "p"); ps.Counters.Released != 3 || ps.ActiveUnits != 0 {
		t.Fatalf("pool during the outage: %+v", ps.Counters)
	}

	flaky.down.Store(false)
	for _, id := range ids {
		waitDelivery(t, env, id, func(d *workflows.Delivery) bool { return d.State == workflows.DeliveryDelivered })
	}
	msgs, err := env.API.Mailbox(context.Background(), mailbox.Key{Tenant: "acme"}, "", 100)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("mailbox after the outage: %d messages (%v), want 3", len(msgs), err)
	}
	stored, err := flaky.Mailbox.Read(context.Background(), mailbox.Key{Tenant: "acme"}, mailbox.Cursor{}, 100)
	if err != nil || len(stored) != 3 {
		t.Fatalf("store after the outage: %d messages (%v), want 3", len(stored), err)
	}
}

func TestADeliveryThatNeverSucceedsIsRecordedAsDeliveryFailed(t *testing.T) {
	flaky := &flakyMailbox{}
	flaky.down.Store(true)
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 1, 10), testenv.Options{WrapStores: withFlakyMailbox(flaky), DeliveryGiveUp: 2 * time.Second})
	submit(t, env, sleepTask("lost", "p", "acme", 1, 0))
	st := waitDelivery(t, env, "lost", func(d *workflows.Delivery) bool { return d.State == workflows.DeliveryFailed })
	if !strings.Contains(st.Delivery.LastError, "simulated outage") || st.Status != workflows.StatusCompleted {
		t.Fatalf("failed delivery: %s %+v", st.Status, st.Delivery)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		events, err := env.Node.Stores().Audit("p").Query(context.Background(), audit.Query{Subject: audit.Task("lost"), Types: []audit.Type{audit.TypeDeliveryFailed}, Limit: 10})
		if err == nil && len(events) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery_failed was not audited: %v %v", events, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
