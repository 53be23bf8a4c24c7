package memory

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
)

var errMailboxClosed = errors.New("memory mailbox store is closed: open a new one")

// Mailbox is an in-memory storage.Mailbox. The zero value is not usable;
// call NewMailbox.
type Mailbox struct {
	mu     sync.RWMutex
	closed bool
	boxes  map[mailbox.Key][]mailbox.Message // each sorted by mailbox.Compare
	byTask map[taskKey]mailbox.Message
	ids    map[string]taskKey
	now    func() time.Time
}

type taskKey struct {
	key    mailbox.Key
	taskID string
}

// NewMailbox returns an empty store.
func NewMailbox() *Mailbox {
	return &Mailbox{
		boxes:  map[mailbox.Key][]mailbox.Message{},
		byTask: map[taskKey]mailbox.Message{},
		ids:    map[string]taskKey{},
		now:    time.Now,
	}
}

// Deliver implements storage.Mailbox.
func (s *Mailbox) Deliver(ctx context.Context, msg mailbox.Message) (mailbox.Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return mailbox.Message{}, false, err
	}
	msg, err := msg.Prepare(s.now())
	if err != nil {
		return mailbox.Message{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return mailbox.Message{}, false, errMailboxClosed
	}
	tk := taskKey{msg.Key, msg.TaskID}
	if first, ok := s.byTask[tk]; ok {
		return clone(first), false, nil
	}
	if _, used := s.ids[msg.MessageID]; used {
		return mailbox.Message{}, false, mailbox.ConflictError(msg)
	}
	msg = clone(msg) // the caller keeps its payload slice
	box := s.boxes[msg.Key]
	i, _ := slices.BinarySearchFunc(box, msg, mailbox.Compare)
	s.boxes[msg.Key] = slices.Insert(box, i, msg)
	s.byTask[tk] = msg
	s.ids[msg.MessageID] = tk
	return clone(msg), true, nil
}

// Read implements storage.Mailbox.
func (s *Mailbox) Read(ctx context.Context, key mailbox.Key, cursor mailbox.Cursor, limit int) ([]mailbox.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := key.Validate(); err != nil {
		return nil, err
	}
	limit, err := mailbox.CheckLimit(limit)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errMailboxClosed
	}
	page, err := mailbox.Page(key, s.boxes[key], cursor, limit)
	if err != nil {
		return nil, err
	}
	out := make([]mailbox.Message, len(page))
	for i, m := range page {
		out[i] = clone(m)
	}
	return out, nil
}

// Ping implements storage.Mailbox.
func (s *Mailbox) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errMailboxClosed
	}
	return ctx.Err()
}

// Close implements storage.Mailbox. It drops the messages.
func (s *Mailbox) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.boxes, s.byTask, s.ids = nil, nil, nil
	return nil
}

func clone(m mailbox.Message) mailbox.Message {
	m.Payload = slices.Clone(m.Payload)
	return m
}
