package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/notifier"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/workflows"
)

// DefaultDeliveryGiveUp is how long a task keeps trying to deliver its
// outcome before it records delivery_failed.
const DefaultDeliveryGiveUp = 24 * time.Hour

// Stores are the mailbox and audit stores of each pool, with the defaults for
// pools that set none.
type Stores struct {
	Mailboxes      map[string]storage.Mailbox
	Audits         map[string]storage.Audit
	DefaultMailbox storage.Mailbox
	DefaultAudit   storage.Audit
}

// Mailbox returns pool's mailbox store.
func (s *Stores) Mailbox(pool string) storage.Mailbox {
	if m, ok := s.Mailboxes[pool]; ok {
		return m
	}
	return s.DefaultMailbox
}

// Audit returns pool's audit store.
func (s *Stores) Audit(pool string) storage.Audit {
	if a, ok := s.Audits[pool]; ok {
		return a
	}
	return s.DefaultAudit
}

// DeliverOutcome stores a task's outcome in its pool's mailbox store and
// hands it to the mailbox workflow of its key. Idempotent: the store keeps
// one message per (key, task) and the workflow ignores a task it has seen,
// so a retry after any failure delivers exactly once. Past the give-up time
// it fails with type delivery_give_up, which the task records.
func (a *Activities) DeliverOutcome(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
	giveUp := a.DeliveryGiveUp
	if giveUp <= 0 {
		giveUp = DefaultDeliveryGiveUp
	}
	if !in.FirstAttempt.IsZero() && time.Since(in.FirstAttempt) > giveUp {
		return workflows.DeliverResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("gave up after %s: %s", giveUp.Round(time.Second), in.LastError), workflows.ErrTypeDeliveryGiveUp, nil)
	}
	store := a.Stores.Mailbox(in.Message.Pool)
	if store == nil {
		return workflows.DeliverResult{}, temporal.NewNonRetryableApplicationError("no mailbox store is configured for pool "+in.Message.Pool, workflows.ErrTypeDeliveryGiveUp, nil)
	}
	stored, _, err := store.Deliver(ctx, in.Message)
	if errors.Is(err, mailbox.ErrInvalid) {
		return workflows.DeliverResult{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeDeliveryGiveUp, nil)
	}
	if err != nil {
		return workflows.DeliverResult{}, err
	}
	wid := workflows.MailboxWorkflowID(stored.Key)
	_, err = a.Client.SignalWithStartWorkflow(ctx, wid, workflows.SignalDeliver, stored,
		client.StartWorkflowOptions{ID: wid, TaskQueue: a.TaskQueue}, workflows.Mailbox, workflows.MailboxInput{Key: stored.Key})
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("hand message to mailbox workflow %s: %w", wid, err)
	}
	return workflows.DeliverResult{MessageID: stored.MessageID, Notify: a.Webhooks[in.Message.Pool] != nil, Message: stored}, nil
}

// NotifyWebhook POSTs a delivered message to the pool's webhook, signed.
// Receivers de-duplicate by the message id header, so retries are safe.
func (a *Activities) NotifyWebhook(ctx context.Context, msg mailbox.Message) error {
	w := a.Webhooks[msg.Pool]
	if w == nil {
		return nil
	}
	err := w.Notify(ctx, msg)
	if err != nil && notifier.IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "webhook_refused", nil)
	}
	return err
}

// AppendAudit writes a batch of audit events to the pool's audit store.
// Idempotent by event id, so retries never duplicate.
func (a *Activities) AppendAudit(ctx context.Context, in workflows.AuditInput) error {
	store := a.Stores.Audit(in.Pool)
	if store == nil {
		return nil // no audit store: nothing to keep
	}
	err := store.Append(ctx, in.Events...)
	if errors.Is(err, audit.ErrInvalid) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "audit_invalid", nil)
	}
	return err
}
