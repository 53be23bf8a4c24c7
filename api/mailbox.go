package api

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"

	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/workflows"
)

// Mailbox reads the recent messages of key through its mailbox workflow,
// oldest first, strictly after since (an RFC3339 time or a message id).
// A key nothing was ever delivered to has no messages, not an error.
func (c *Client) Mailbox(ctx context.Context, key mailbox.Key, since string, limit int) ([]mailbox.Message, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	if _, err := mailbox.ParseCursor(since); err != nil {
		return nil, err
	}
	if _, err := mailbox.CheckLimit(limit); err != nil {
		return nil, err
	}
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.MailboxWorkflowID(key), "", workflows.QueryMessages,
		workflows.MessagesQuery{Since: since, Limit: limit})
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return []mailbox.Message{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read mailbox %s: %w", key, err)
	}
	var page workflows.MessagesPage
	if err := v.Get(&page); err != nil {
		return nil, fmt.Errorf("decode mailbox %s: %w", key, err)
	}
	return page.Messages, nil
}
