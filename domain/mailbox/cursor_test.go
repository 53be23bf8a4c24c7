package mailbox

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCursor(t *testing.T) {
	id := NewMessageID(time.Now())
	tests := []struct {
		in      string
		want    Cursor
		wantErr bool
	}{
		{"", Cursor{}, false},
		{"2025-01-02T03:04:05Z", Cursor{After: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, false},
		{"2025-01-02T04:04:05.5+01:00", Cursor{After: time.Date(2025, 1, 2, 3, 4, 5, 5e8, time.UTC)}, false},
		{id, Cursor{MessageID: id}, false},
		{strings.ToUpper(id), Cursor{MessageID: id}, false},
		{"yesterday", Cursor{}, true},
		{"2025-01-02", Cursor{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCursor(tt.in)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "RFC3339") {
					t.Fatalf("ParseCursor(%q) = %v, want an ErrInvalid naming both accepted forms", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.After.Equal(tt.want.After) || got.MessageID != tt.want.MessageID {
				t.Fatalf("ParseCursor(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckLimit(t *testing.T) {
	for _, tt := range []struct {
		in, want int
		wantErr  bool
	}{
		{0, DefaultLimit, false}, {1, 1, false}, {1000, 1000, false},
		{1001, 0, true}, {-1, 0, true},
	} {
		got, err := CheckLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("CheckLimit(%d) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckLimit(%d) error does not wrap ErrInvalid", tt.in)
		}
	}
	if ClampLimit(0) != DefaultLimit || ClampLimit(5000) != MaxLimit || ClampLimit(7) != 7 {
		t.Error("ClampLimit does not clamp to [1, MaxLimit] with DefaultLimit for 0")
	}
}

func TestPageReadsStrictlyAfterTheCursor(t *testing.T) {
	key := Key{Tenant: "t"}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var msgs []Message
	for i := range 5 {
		msgs = append(msgs, Message{MessageID: NewMessageID(base.Add(time.Duration(i) * time.Second)), CreatedAt: base.Add(time.Duration(i) * time.Second)})
	}
	page, err := Page(key, msgs, Cursor{After: base.Add(time.Second)}, 2)
	if err != nil || len(page) != 2 || page[0].MessageID != msgs[2].MessageID {
		t.Fatalf("after a time: got %d messages starting %v, err %v; want msgs[2:4]", len(page), page, err)
	}
	page, err = Page(key, msgs, Cursor{MessageID: msgs[3].MessageID}, 10)
	if err != nil || len(page) != 1 || page[0].MessageID != msgs[4].MessageID {
		t.Fatalf("after an id: got %v, err %v; want msgs[4:]", page, err)
	}
	if _, err := Page(key, msgs, Cursor{MessageID: NewMessageID(base)}, 10); !errors.Is(err, ErrCursorNotFound) {
		t.Fatalf("unknown id: err %v, want ErrCursorNotFound", err)
	}
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", "2025-01-02T03:04:05Z", NewMessageID(time.Now()), "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		// What a read prints as the next --since must parse back to the
		// same position.
		again, err := ParseCursor(c.String())
		if err != nil {
			t.Fatalf("ParseCursor(%q).String() = %q does not parse: %v", s, c.String(), err)
		}
		if !again.After.Equal(c.After) || again.MessageID != c.MessageID {
			t.Fatalf("round trip of %q: %+v then %+v", s, c, again)
		}
	})
}
