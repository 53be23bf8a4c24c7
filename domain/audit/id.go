package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
)

// NewEventID returns a UUIDv7 whose timestamp is t, so event ids sort by
// event time. t is an argument (not the clock) so that a workflow can derive
// ids from workflow time.
//
// Besides the 48-bit millisecond timestamp, the 12 "rand_a" bits carry the
// sub-millisecond fraction (RFC 9562 §6.2, method 3), so ids made from
// increasing times sort in that order even within one millisecond; the
// remaining 62 bits are random. (domain/mailbox has the same ten lines: the
// two packages deliberately share no code.)
func NewEventID(t time.Time) string {
	var u uuid.UUID
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails since Go 1.24
	return stamp(u, t)
}

// EventIDFor is NewEventID with the random bits taken from a hash of key
// instead of the random source. A workflow derives its events' ids this way
// (key = workflow id, run id and a sequence number), so a replay or a
// retried write produces the same ids and the store keeps one copy.
func EventIDFor(t time.Time, key string) string {
	sum := sha256.Sum256([]byte(key))
	var u uuid.UUID
	copy(u[:], sum[:16])
	return stamp(u, t)
}

// stamp writes t and the version and variant bits over u.
func stamp(u uuid.UUID, t time.Time) string {
	ns := t.UnixNano()
	if ns < 0 {
		ns = 0
	}
	ms := ns / int64(time.Millisecond)
	frac := (ns % int64(time.Millisecond)) * 4096 / int64(time.Millisecond)
	u[0] = byte(ms >> 40)
	u[1] = byte(ms >> 32)
	u[2] = byte(ms >> 24)
	u[3] = byte(ms >> 16)
	u[4] = byte(ms >> 8)
	u[5] = byte(ms)
	u[6] = 0x70 | byte(frac>>8)&0x0f
	u[7] = byte(frac)
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}

func canonicalID(s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
