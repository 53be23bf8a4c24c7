package mailbox

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNewMessageIDIsATimeOrderedUUIDv7(t *testing.T) {
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	var ids []string
	for i := range 2000 {
		// Steps of 300ns: several ids fall into each millisecond, so the
		// sub-millisecond bits have to carry the order.
		ids = append(ids, NewMessageID(base.Add(time.Duration(i)*300*time.Nanosecond)))
	}
	if !slices.IsSorted(ids) {
		t.Fatal("ids made from increasing times are not in increasing order")
	}
	u, err := uuid.Parse(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.Version() != 7 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("version %d variant %v, want a v7 RFC 4122 uuid", u.Version(), u.Variant())
	}
	sec, nsec := u.Time().UnixTime()
	if got := time.Unix(sec, nsec).UTC(); !got.Equal(base) {
		t.Errorf("embedded time %v, want %v", got, base)
	}
	if NewMessageID(base) == NewMessageID(base) {
		t.Error("two ids for the same instant are equal: the random bits are missing")
	}
}

func TestPrepareFillsDefaultsAndCanonicalizes(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	m, err := Message{
		Key:     Key{Tenant: "t"},
		TaskID:  "task-1",
		Status:  StatusCompleted,
		Payload: json.RawMessage(`{ "a" : [1, 2] }`),
	}.Prepare(now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 1, 2, 2, 4, 5, 123456000, time.UTC); !m.CreatedAt.Equal(want) || m.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC truncated to microseconds", m.CreatedAt, want)
	}
	if u, err := uuid.Parse(m.MessageID); err != nil || u.Version() != 7 {
		t.Errorf("MessageID = %q, want a UUIDv7", m.MessageID)
	}
	if string(m.Payload) != `{"a":[1,2]}` {
		t.Errorf("Payload = %s, want it compacted", m.Payload)
	}

	upper := strings.ToUpper(NewMessageID(now))
	m, err = Message{MessageID: upper, Key: Key{Tenant: "t"}, TaskID: "x", Status: StatusFailed, CreatedAt: now}.Prepare(now)
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != strings.ToLower(upper) {
		t.Errorf("MessageID = %q, want the lower-case form", m.MessageID)
	}
}

func TestPrepareRefusesInvalidMessages(t *testing.T) {
	valid := Message{Key: Key{Tenant: "t"}, TaskID: "task", Status: StatusRejected}
	tests := []struct {
		name    string
		edit    func(*Message)
		wantErr string
	}{
		{"a message needs a mailbox key", func(m *Message) { m.Key = Key{} }, "tenant is required"},
		{"a message needs a task id", func(m *Message) { m.TaskID = "" }, "taskId is required"},
		{"the status must be known", func(m *Message) { m.Status = "done" }, `status "done"`},
		{"the message id must be a UUID", func(m *Message) { m.MessageID = "m-1" }, "not a UUID"},
		{"the payload must be JSON", func(m *Message) { m.Payload = json.RawMessage(`{`) }, "payload"},
		{"the reason cannot hold NUL bytes", func(m *Message) { m.Reason = "a\x00b" }, "NUL"},
		{"the payload is bounded", func(m *Message) {
			m.Payload = json.RawMessage(`"` + strings.Repeat("x", MaxPayloadBytes) + `"`)
		}, "maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid
			tt.edit(&m)
			_, err := m.Prepare(time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Prepare() = %v, want an ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMessageJSONUsesCamelCase(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := json.Marshal(Message{
		MessageID: "id", Key: Key{Tenant: "t"}, TaskID: "task", Pool: "gpu",
		Status: StatusCompleted, Reason: "ok", Payload: json.RawMessage(`1`), CreatedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messageId":"id","key":{"tenant":"t"},"taskId":"task","pool":"gpu","status":"completed","reason":"ok","payload":1,"createdAt":"2025-01-02T03:04:05Z"}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
}
