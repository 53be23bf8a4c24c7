package workflows

import (
	"sort"

	"go.temporal.io/sdk/workflow"

	"github.com/parklot/parklot/domain/mailbox"
)

// Mailbox protocol names.
const (
	// SignalDeliver carries one mailbox.Message to a mailbox workflow.
	SignalDeliver = "deliver"
	// QueryMessages answers a MessagesQuery with a MessagesPage.
	QueryMessages = "messages"
)

// DefaultMailboxWindow is how many recent messages a mailbox workflow keeps;
// file and PostgreSQL stores keep everything.
const DefaultMailboxWindow = 1000

// mailboxSignalsPerRun bounds a mailbox run well under Temporal's limits.
const mailboxSignalsPerRun = 1000

// MailboxWorkflowID is the identity of the mailbox of key.
func MailboxWorkflowID(key mailbox.Key) string { return key.WorkflowID() }

// MessagesQuery reads a mailbox oldest first, strictly after Since (an
// RFC3339 time or a message id; empty means from the start).
type MessagesQuery struct {
	Since string `json:"since,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// MessagesPage is the answer to QueryMessages.
type MessagesPage struct {
	Messages []mailbox.Message `json:"messages"`
}

// MailboxInput starts or continues a mailbox workflow.
type MailboxInput struct {
	Key      mailbox.Key       `json:"key"`
	Window   int               `json:"window,omitempty"`
	Messages []mailbox.Message `json:"messages,omitempty"`
}

// Mailbox keeps the recent outcomes delivered to one key, de-duplicated by
// task id, and answers reads. It is the read path that works with every
// store, the memory one included.
func Mailbox(ctx workflow.Context, in MailboxInput) error {
	if in.Window <= 0 {
		in.Window = DefaultMailboxWindow
	}
	msgs := in.Messages
	byTask := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		byTask[m.TaskID] = true
	}
	if err := workflow.SetQueryHandler(ctx, QueryMessages, func(q MessagesQuery) (MessagesPage, error) {
		cur, err := mailbox.ParseCursor(q.Since)
		if err != nil {
			return MessagesPage{}, err
		}
		limit, err := mailbox.CheckLimit(q.Limit)
		if err != nil {
			return MessagesPage{}, err
		}
		page, err := mailbox.Page(in.Key, msgs, cur, limit)
		if page == nil {
			page = []mailbox.Message{}
		}
		return MessagesPage{Messages: page}, err
	}); err != nil {
		return err
	}
	deliveries := workflow.GetSignalChannel(ctx, SignalDeliver)
	for received := 0; received < mailboxSignalsPerRun && !workflow.GetInfo(ctx).GetContinueAsNewSuggested(); {
		var m mailbox.Message
		deliveries.Receive(ctx, &m)
		received++
		msgs, byTask = add(msgs, byTask, m, in.Window)
		for deliveries.ReceiveAsync(&m) {
			received++
			msgs, byTask = add(msgs, byTask, m, in.Window)
		}
	}
	// Take whatever is still buffered along, so no delivery is lost.
	var m mailbox.Message
	for deliveries.ReceiveAsync(&m) {
		msgs, byTask = add(msgs, byTask, m, in.Window)
	}
	in.Messages = msgs
	return workflow.NewContinueAsNewError(ctx, Mailbox, in)
}

// add keeps msgs sorted oldest first, one message per task, at most window.
func add(msgs []mailbox.Message, byTask map[string]bool, m mailbox.Message, window int) ([]mailbox.Message, map[string]bool) {
	if byTask[m.TaskID] {
		return msgs, byTask
	}
	byTask[m.TaskID] = true
	msgs = append(msgs, m)
	sort.SliceStable(msgs, func(i, j int) bool { return mailbox.Compare(msgs[i], msgs[j]) < 0 })
	for len(msgs) > window {
		delete(byTask, msgs[0].TaskID)
		msgs = msgs[1:]
	}
	return msgs, byTask
}
