package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// keepAliveEvery sends an SSE comment on quiet streams so that proxies do
// not time the connection out and a dead client is noticed.
const keepAliveEvery = 15 * time.Second

// sseWriteTimeout bounds one write to a stream: a client that stops reading
// cannot hold the handler forever.
const sseWriteTimeout = 10 * time.Second

// sseWriter writes Server-Sent Events.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE sends the stream's headers and the client's reconnection delay.
func startSSE(w http.ResponseWriter, retry time.Duration) (*sseWriter, error) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	// Tells nginx-like proxies not to buffer the stream.
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	return s, s.write([]byte("retry: " + strconv.FormatInt(retry.Milliseconds(), 10) + "\n\n"))
}

// event sends one event. An empty id leaves the client's last event id as
// it is. data must not contain newlines (encoded JSON never does).
func (s *sseWriter) event(id, name string, data []byte) error {
	var b bytes.Buffer
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	b.WriteString("event: " + name + "\n")
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	return s.write(b.Bytes())
}

// end lifts the write deadline, which would otherwise outlive the stream
// on a kept-alive connection.
func (s *sseWriter) end() {
	_ = s.rc.SetWriteDeadline(time.Time{})
}

func (s *sseWriter) comment(text string) error {
	return s.write([]byte(": " + text + "\n\n"))
}

func (s *sseWriter) write(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}
