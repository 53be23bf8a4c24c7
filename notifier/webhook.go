package notifier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
)

// Headers of the webhook request.
const (
	HeaderSignature = "X-Parklot-Signature"
	HeaderTimestamp = "X-Parklot-Timestamp"
	HeaderMessageID = "X-Parklot-Message-Id"
)

// signaturePrefix names the algorithm in HeaderSignature, leaving room for
// another one later without ambiguity.
const signaturePrefix = "sha256="

// DefaultTimeout bounds an attempt when Webhook.Timeout is not positive.
const DefaultTimeout = 10 * time.Second

// maxErrorBody bounds the part of a non-2xx response quoted in the error.
const maxErrorBody = 64 << 10

// defaultClient does not follow redirects; see the package doc.
var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Webhook POSTs mailbox messages to one URL. The zero value is not usable:
// URL and Secret are required. A Webhook is safe for concurrent use.
type Webhook struct {
	// URL is the http or https endpoint of the receiver.
	URL string
	// Secret keys the HMAC-SHA256 signature; the receiver holds the same bytes.
	Secret []byte
	// Timeout bounds one attempt, from connecting to reading the answer;
	// DefaultTimeout (10s) when not positive.
	Timeout time.Duration
	// Client sends the request; nil means a client on http.DefaultTransport
	// that does not follow redirects.
	Client *http.Client
}

// Notify POSTs msg as JSON, signed, and returns nil on a 2xx answer. It makes
// one attempt; the caller retries unless IsPermanent(err). msg must carry its
// MessageID (messages read from a store or prepared with Message.Prepare do):
// receivers de-duplicate retries by it.
func (w *Webhook) Notify(ctx context.Context, msg mailbox.Message) error {
	target, err := w.endpoint()
	if err != nil {
		return err
	}
	if len(w.Secret) == 0 {
		return permanentf("notifier: no secret to sign with; set the webhook's secret_env to a variable holding one")
	}
	if msg.MessageID == "" {
		return permanentf("notifier: message of task %q has no messageId; notify after the mailbox store assigned one", msg.TaskID)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return permanentf("notifier: encode message %s: %v", msg.MessageID, err)
	}

	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ts := time.Now().UTC().Format(time.RFC3339)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return permanentf("notifier: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "parklot-webhook")
	req.Header.Set(HeaderMessageID, msg.MessageID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sign(w.Secret, ts, body))

	client := w.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Timeouts, refused connections, resets: the receiver may be back soon.
		return fmt.Errorf("notifier: message %s: %w", msg.MessageID, err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	serr := &StatusError{
		URL:        target.Redacted(),
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(strings.ToValidUTF8(string(excerpt), "\uFFFD")),
	}
	if permanentStatus(resp.StatusCode) {
		return &permanentError{serr}
	}
	return serr
}

func (w *Webhook) endpoint() (*url.URL, error) {
	if w.URL == "" {
		return nil, permanentf("notifier: no URL; set the webhook's url, e.g. https://gateway.example.com/parklot")
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanentf("notifier: %q is not an http(s) URL", w.URL)
	}
	return u, nil
}

// permanentStatus reports whether a receiver that answered code will answer
// the same to a retry: it refused the request itself (4xx) or sent it
// elsewhere (3xx). 408 and 429 ask for a retry later.
func permanentStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return code >= 300 && code < 500
}

// sign returns the HeaderSignature value for ts and body.
func sign(secret []byte, ts string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify reports whether signature, the value of an X-Parklot-Signature
// header, is the HMAC-SHA256 with secret of timestamp + "." + body. body must
// be the raw request body and timestamp the X-Parklot-Timestamp header as
// received. The comparison is constant-time. Verify is false for an empty
// secret and for a timestamp that is not RFC 3339; it does not judge whether
// the timestamp is recent, which is the receiver's policy (see the package
// doc).
func Verify(secret []byte, timestamp string, body []byte, signature string) bool {
	if len(secret) == 0 {
		return false
	}
	// A strict timestamp keeps "timestamp.body" unambiguous: no bytes can move
	// between the two and still verify.
	if _, err := time.Parse(time.RFC3339, timestamp); err != nil {
		return false
	}
	hexSum, ok := strings.CutPrefix(signature, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(secret, timestamp, body))
}

// StatusError is a non-2xx answer of the receiver.
type StatusError struct {
	// URL is the webhook URL without its password, if it had one.
	URL        string
	StatusCode int
	// Body is the start of the response body (at most 64 KiB), trimmed.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("notifier: POST %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// permanentError marks an error that a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanentf(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err, returned by Notify, means that retrying the
// same message cannot succeed: a 3xx or a 4xx other than 408 and 429, or a
// Webhook or message that cannot be sent at all. Other errors (5xx, 408, 429,
// timeouts, network failures) are worth a retry.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
