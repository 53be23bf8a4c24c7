package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/storage"
)

// appendEvents writes events into the file audit store at path.
func appendEvents(t *testing.T, path string, events ...audit.Event) {
	t.Helper()
	s, err := storage.OpenAudit(context.Background(), storage.Spec{Backend: storage.BackendFile, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
}

// taskEvents is the trail of one task: one event a second from start, with
// the task, tenant and pool subjects.
func taskEvents(task, tenant, pool string, start time.Time, types ...audit.Type) []audit.Event {
	var out []audit.Event
	for i, typ := range types {
		out = append(out, audit.Event{
			Type: typ, At: start.Add(time.Duration(i) * time.Second),
			Subjects: []audit.Subject{audit.Task(task), audit.Tenant(tenant), audit.Pool(pool)},
			Data:     json.RawMessage(`{"step":` + string(rune('0'+i)) + `}`),
		})
	}
	return out
}

func readEvents(t *testing.T, args ...string) []audit.Event {
	t.Helper()
	out, stderr, code := run(t, append([]string{"-o", "json", "audit"}, args...)...)
	if code != 0 {
		t.Fatalf("audit %v: exit %d, stderr %q", args, code, stderr)
	}
	var doc AuditOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("audit %v: output is not one JSON document: %q (%v)", args, out, err)
	}
	if doc.Events == nil {
		t.Fatalf("audit %v: %q has no events list", args, out)
	}
	return doc.Events
}

// trail describes events as task:type, the order the test compares.
func trail(events []audit.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		var task string
		for _, s := range e.Subjects {
			if s.Kind == audit.KindTask {
				task = s.ID
			}
		}
		out[i] = task + ":" + string(e.Type)
	}
	return out
}

func wantTrail(t *testing.T, what string, got []audit.Event, want ...string) {
	t.Helper()
	if tr := trail(got); !slices.Equal(tr, want) {
		t.Fatalf("%s: %v, want %v", what, tr, want)
	}
}

func TestAuditReadsASubjectNewestFirst(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	appendEvents(t, filepath.Join(dir, "audit.db"), slices.Concat(
		taskEvents("t1", "acme", "gpu", base, audit.TypeSubmitted, audit.TypeQueued, audit.TypeStarted, audit.TypeCompleted),
		taskEvents("t2", "acme", "cpu", base.Add(500*time.Millisecond), audit.TypeSubmitted, audit.TypeRejected),
		taskEvents("t3", "other", "gpu", base.Add(10*time.Second), audit.TypeSubmitted),
	)...)
	from := []string{"--data-dir", dir}
	read := func(args ...string) []audit.Event { return readEvents(t, append(from, args...)...) }

	wantTrail(t, "a task's trail", read("--subject", "task:t1"), "t1:completed", "t1:started", "t1:queued", "t1:submitted")
	wantTrail(t, "a tenant's events, never another tenant's", read("--subject", "tenant:acme"),
		"t1:completed", "t1:started", "t2:rejected", "t1:queued", "t2:submitted", "t1:submitted")
	wantTrail(t, "a pool's events", read("--subject", "pool:gpu"), "t3:submitted", "t1:completed", "t1:started", "t1:queued", "t1:submitted")
	wantTrail(t, "a subject without events", read("--subject", "task:nope"))
	wantTrail(t, "kinds are part of the subject", read("--subject", "pool:acme"))
	wantTrail(t, "types filter", read("--subject", "tenant:acme", "--type", "submitted", "--type", "rejected"),
		"t2:rejected", "t2:submitted", "t1:submitted")
	wantTrail(t, "types separated by commas", read("--subject", "task:t1", "--type", "queued,started"), "t1:started", "t1:queued")
	wantTrail(t, "since is inclusive", read("--subject", "task:t1", "--since", base.Add(2*time.Second).Format(time.RFC3339)),
		"t1:completed", "t1:started")
	wantTrail(t, "until is exclusive", read("--subject", "task:t1", "--until", base.Add(2*time.Second).Format(time.RFC3339)),
		"t1:queued", "t1:submitted")
	wantTrail(t, "a window and a type", read("--subject", "tenant:acme", "--since", "2025-03-01T12:00:00.5Z", "--until", "2025-03-01T13:00:02+01:00", "--type", "submitted"),
		"t2:submitted")
	wantTrail(t, "limit keeps the newest", read("--subject", "tenant:acme", "--limit", "2"), "t1:completed", "t1:started")

	out, _, _ := run(t, append([]string{"-o", "json", "audit", "--subject", "task:t1", "--limit", "1"}, from...)...)
	var raw struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil || len(raw.Events) != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	for _, field := range []string{"eventId", "type", "at", "subjects", "data"} {
		if _, ok := raw.Events[0][field]; !ok {
			t.Errorf("event %v lacks %s", raw.Events[0], field)
		}
	}
	if s, _ := raw.Events[0]["subjects"].([]any); len(s) != 3 || s[0].(map[string]any)["kind"] != "task" || s[0].(map[string]any)["id"] != "t1" {
		t.Errorf("subjects %v, want [{kind task, id t1}, ...]", raw.Events[0]["subjects"])
	}
	out, _, _ = run(t, append([]string{"-o", "json", "audit", "--subject", "task:nope"}, from...)...)
	if strings.Join(strings.Fields(out), "") != `{"events":[]}` {
		t.Errorf("no events printed %q, want {\"events\": []}", out)
	}

	text, _, code := run(t, append([]string{"audit", "--subject", "task:t1"}, from...)...)
	if code != 0 || !strings.Contains(text, "TYPE") || !strings.Contains(text, "task:t1 tenant:acme pool:gpu") || !strings.Contains(text, `{"step":3}`) {
		t.Errorf("text output %q: want a table with subjects and data", text)
	}
}

func TestAuditMergesEveryStoreOfTheConfig(t *testing.T) {
	cfgPath, a, b := twoStoreConfig(t)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	appendEvents(t, filepath.Join(a, "audit.db"), taskEvents("t1", "acme", "cpu", base, audit.TypeSubmitted, audit.TypeStarted, audit.TypeCompleted)...)
	appendEvents(t, filepath.Join(b, "audit.db"), taskEvents("t2", "acme", "gpu", base.Add(1500*time.Millisecond), audit.TypeSubmitted, audit.TypeStarted)...)
	from := []string{"--config", cfgPath, "--subject", "tenant:acme"}

	wantTrail(t, "merged newest first, the default store read once", readEvents(t, from...),
		"t2:started", "t1:completed", "t2:submitted", "t1:started", "t1:submitted")
	wantTrail(t, "limit across the stores", readEvents(t, append(from, "--limit", "3")...),
		"t2:started", "t1:completed", "t2:submitted")
	wantTrail(t, "filters in every store", readEvents(t, append(from, "--type", "started")...), "t2:started", "t1:started")
}

func TestAuditFlagErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	memOnly := filepath.Join(dir, "mem.yaml")
	if err := os.WriteFile(memOnly, []byte("defaults:\n  mailbox: {backend: memory}\n  audit: {backend: memory}\npools:\n  p: {max_units: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"the subject is required", []string{}, []string{"subject"}},
		{"a subject is kind:id", []string{"--subject", "t1"}, []string{"--subject", "kind:id", "task, tenant, pool, mailbox"}},
		{"an unknown kind lists the kinds", []string{"--subject", "job:t1"}, []string{"--subject", `"job"`, "task, tenant, pool, mailbox, vehicle, spot, ticket, lot"}},
		{"a subject needs an id", []string{"--subject", "task:"}, []string{"--subject", "id is required"}},
		{"an unknown type lists the types", []string{"--subject", "task:t1", "--type", "finished"}, []string{"--type", `"finished"`, "submitted", "delivery_failed"}},
		{"since is RFC3339", []string{"--subject", "task:t1", "--since", "yesterday"}, []string{"--since", "RFC3339"}},
		{"until is RFC3339", []string{"--subject", "task:t1", "--until", "2025-01-02"}, []string{"--until", "RFC3339"}},
		{"an empty window", []string{"--subject", "task:t1", "--since", "2025-01-02T00:00:00Z", "--until", "2025-01-01T00:00:00Z"}, []string{"--since/--until", "empty"}},
		{"limit above the maximum", []string{"--subject", "task:t1", "--limit", "1001"}, []string{"--limit", "1000"}},
		{"a negative limit", []string{"--subject", "task:t1", "--limit", "-5"}, []string{"--limit"}},
		{"memory stores cannot be read", []string{"--subject", "task:t1", "--config", memOnly}, []string{"memory", "worker process"}},
		{"a data dir without stores", []string{"--subject", "task:t1", "--data-dir", filepath.Join(dir, "none")}, []string{"no audit store", "--data-dir"}},
		{"one of --config and --data-dir", []string{"--subject", "task:t1", "--config", memOnly, "--data-dir", dir}, []string{"--config and --data-dir"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"audit"}, tc.args...)
			if !slices.Contains(tc.args, "--config") && !slices.Contains(tc.args, "--data-dir") {
				args = append(args, "--data-dir", filepath.Join(dir, "none"))
			}
			_, stderr, code := run(t, args...)
			if code != 1 {
				t.Fatalf("exit %d, stderr %q; want 1", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}
