package notifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/notifier"
)

// A gateway verifies each webhook before it trusts the body, rejects stale
// timestamps, and acknowledges a message it has already seen.
func Example() {
	secret := []byte("shared-secret-from-the-environment")
	seen := map[string]bool{}

	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		ts := r.Header.Get(notifier.HeaderTimestamp)
		if !notifier.Verify(secret, ts, body, r.Header.Get(notifier.HeaderSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if at, _ := time.Parse(time.RFC3339, ts); time.Since(at).Abs() > 5*time.Minute {
			http.Error(w, "stale timestamp", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(notifier.HeaderMessageID)
		if seen[id] {
			fmt.Println("duplicate", id, "acknowledged")
			return
		}
		seen[id] = true
		var msg mailbox.Message
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, "not a message", http.StatusBadRequest)
			return
		}
		fmt.Printf("task %s in pool %s: %s\n", msg.TaskID, msg.Pool, msg.Status)
	}))
	defer gateway.Close()

	hook := &notifier.Webhook{URL: gateway.URL, Secret: secret, Timeout: 5 * time.Second}
	msg := mailbox.Message{
		MessageID: "0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		Key:       mailbox.Key{Tenant: "acme"},
		TaskID:    "render-7",
		Pool:      "gpu",
		Status:    mailbox.StatusCompleted,
		CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
	for range 2 { // the second call stands for a retry after a lost answer
		if err := hook.Notify(context.Background(), msg); err != nil {
			fmt.Println("error:", err, "permanent:", notifier.IsPermanent(err))
		}
	}

	wrong := &notifier.Webhook{URL: gateway.URL, Secret: []byte("wrong")}
	err := wrong.Notify(context.Background(), msg)
	fmt.Println("wrong secret permanent:", notifier.IsPermanent(err))
	// Output:
	// task render-7 in pool gpu: completed
	// duplicate 0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b acknowledged
	// wrong secret permanent: true
}
