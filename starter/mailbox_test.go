package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/internal/testenv"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/workflows"
)

// deliver writes msgs into the file mailbox store at path and returns them
// as stored.
func deliver(t *testing.T, path string, msgs ...mailbox.Message) []mailbox.Message {
	t.Helper()
	s, err := storage.OpenMailbox(context.Background(), storage.Spec{Backend: storage.BackendFile, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []mailbox.Message
	for _, m := range msgs {
		stored, _, err := s.Deliver(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored)
	}
	return out
}

func msgAt(key mailbox.Key, task string, at time.Time) mailbox.Message {
	return mailbox.Message{Key: key, TaskID: task, Pool: "gpu", Status: mailbox.StatusCompleted,
		Reason: "done", Payload: json.RawMessage(`{"task":"` + task + `"}`), CreatedAt: at}
}

// readMessages runs a mailbox command with -o json and decodes its output;
// it fails the test unless the command succeeds.
func readMessages(t *testing.T, args ...string) []mailbox.Message {
	t.Helper()
	return readMessagesWith(t, nil, args...)
}

// readMessagesWith is readMessages with global flags (Temporal's address).
func readMessagesWith(t *testing.T, global []string, args ...string) []mailbox.Message {
	t.Helper()
	out, stderr, code := run(t, slices.Concat(global, []string{"-o", "json", "mailbox"}, args)...)
	if code != 0 {
		t.Fatalf("mailbox %v: exit %d, stderr %q", args, code, stderr)
	}
	var doc MailboxOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("mailbox %v: output is not one JSON document: %q (%v)", args, out, err)
	}
	if doc.Messages == nil {
		t.Fatalf("mailbox %v: %q has no messages list", args, out)
	}
	return doc.Messages
}

func taskIDs(msgs []mailbox.Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.TaskID
	}
	return ids
}

func wantTasks(t *testing.T, what string, got []mailbox.Message, want ...string) {
	t.Helper()
	if ids := taskIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("%s: tasks %v, want %v", what, ids, want)
	}
}

func TestMailboxFromStoreReadsOneKeyOldestFirst(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	acme, acmeU, acmeUS := mailbox.Key{Tenant: "acme"}, mailbox.Key{Tenant: "acme", User: "u"}, mailbox.Key{Tenant: "acme", User: "u", Session: "s"}
	other := mailbox.Key{Tenant: "other"}
	// Delivered out of time order: the read orders by createdAt.
	stored := deliver(t, filepath.Join(dir, "mailbox.db"),
		msgAt(acme, "a3", base.Add(3*time.Second)),
		msgAt(acme, "a1", base.Add(1*time.Second)),
		msgAt(acmeU, "u1", base.Add(2*time.Second)),
		msgAt(acme, "a2", base.Add(2*time.Second)),
		msgAt(acmeUS, "s1", base.Add(4*time.Second)),
		msgAt(other, "o1", base.Add(1*time.Second)),
		msgAt(acme, "a4", base.Add(4*time.Second)),
	)
	byTask := map[string]mailbox.Message{}
	for _, m := range stored {
		byTask[m.TaskID] = m
	}
	from := []string{"--from", "store", "--data-dir", dir}
	read := func(args ...string) []mailbox.Message { return readMessages(t, append(from, args...)...) }

	wantTasks(t, "tenant acme", read("--tenant", "acme"), "a1", "a2", "a3", "a4")
	wantTasks(t, "user u is another mailbox than no user", read("--tenant", "acme", "--user", "u"), "u1")
	wantTasks(t, "a session is another mailbox again", read("--tenant", "acme", "--user", "u", "--session", "s"), "s1")
	wantTasks(t, "a session without its user is not that mailbox", read("--tenant", "acme", "--session", "s"))
	wantTasks(t, "another tenant sees only its own", read("--tenant", "other"), "o1")
	wantTasks(t, "an unknown tenant has an empty mailbox", read("--tenant", "nobody"))
	wantTasks(t, "since a time is strictly after it", read("--tenant", "acme", "--since", base.Add(2*time.Second).Format(time.RFC3339)), "a3", "a4")
	wantTasks(t, "since a time in another zone", read("--tenant", "acme", "--since", "2025-03-01T13:00:01.5+01:00"), "a2", "a3", "a4")
	wantTasks(t, "since a messageId is strictly after it", read("--tenant", "acme", "--since", byTask["a2"].MessageID), "a3", "a4")
	wantTasks(t, "a messageId in upper case is the same id", read("--tenant", "acme", "--since", strings.ToUpper(byTask["a1"].MessageID)), "a2", "a3", "a4")
	wantTasks(t, "limit keeps the oldest", read("--tenant", "acme", "--limit", "2"), "a1", "a2")
	wantTasks(t, "limit and since page on", read("--tenant", "acme", "--limit", "2", "--since", byTask["a2"].MessageID), "a3", "a4")

	got := read("--tenant", "acme", "--limit", "1")
	var payload bytes.Buffer
	if err := json.Compact(&payload, got[0].Payload); err != nil {
		t.Fatal(err)
	}
	if want := byTask["a1"]; got[0].MessageID != want.MessageID || !got[0].CreatedAt.Equal(want.CreatedAt) || got[0].Key != want.Key ||
		got[0].Pool != "gpu" || got[0].Status != mailbox.StatusCompleted || got[0].Reason != "done" || payload.String() != `{"task":"a1"}` {
		t.Fatalf("message %+v, want %+v", got[0], want)
	}

	// The JSON document: one "messages" list (empty, never null) of camelCase messages.
	out, _, _ := run(t, append([]string{"-o", "json", "mailbox", "--tenant", "acme", "--limit", "1"}, from...)...)
	var raw struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil || len(raw.Messages) != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	for _, field := range []string{"messageId", "taskId", "pool", "status", "reason", "payload", "createdAt"} {
		if _, ok := raw.Messages[0][field]; !ok {
			t.Errorf("message %v lacks %s", raw.Messages[0], field)
		}
	}
	out, _, _ = run(t, append([]string{"-o", "json", "mailbox", "--tenant", "nobody"}, from...)...)
	if strings.Join(strings.Fields(out), "") != `{"messages":[]}` {
		t.Errorf("empty mailbox printed %q, want {\"messages\": []}", out)
	}

	text, _, code := run(t, append([]string{"mailbox", "--tenant", "acme", "--limit", "2"}, from...)...)
	if code != 0 || !strings.Contains(text, "CREATED") || !strings.Contains(text, `{"task":"a2"}`) || strings.Contains(text, `{"task":"a3"}`) ||
		!strings.Contains(text, "--since "+byTask["a2"].MessageID) {
		t.Errorf("text output %q: want a table of a1 and a2 and the --since of the next page", text)
	}
}

// twoStoreConfig writes a config whose default mailbox and audit stores are
// files in dir/a, with pool gpu on files in dir/b, pool cpu spelling the
// default path differently and pool mem on memory stores.
func twoStoreConfig(t *testing.T) (cfgPath, a, b string) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `
defaults:
  mailbox: {backend: file, path: ` + a + `/mailbox.db}
  audit: {backend: file, path: ` + a + `/audit.db}
pools:
  gpu:
    max_units: 1
    mailbox: {backend: file, path: ` + b + `/mailbox.db}
    audit: {backend: file, path: ` + b + `/audit.db}
  cpu:
    max_units: 1
    mailbox: {backend: file, path: ` + a + `/../a/mailbox.db}
    audit: {backend: file, path: ` + a + `/./audit.db}
  mem:
    max_units: 1
    mailbox: {backend: memory}
    audit: {backend: memory}
`
	cfgPath = filepath.Join(dir, "parklot.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, a, b
}

func TestMailboxFromStoreMergesEveryStoreOfTheConfig(t *testing.T) {
	cfgPath, a, b := twoStoreConfig(t)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	key := mailbox.Key{Tenant: "acme"}
	// Interleaved in time across the two stores, with two messages in the
	// same microsecond in different stores.
	inA := deliver(t, filepath.Join(a, "mailbox.db"),
		msgAt(key, "t1", base.Add(1*time.Second)),
		msgAt(key, "t3", base.Add(3*time.Second)),
		msgAt(key, "t5", base.Add(5*time.Second)),
		msgAt(mailbox.Key{Tenant: "other"}, "x", base.Add(2*time.Second)),
	)
	inB := deliver(t, filepath.Join(b, "mailbox.db"),
		msgAt(key, "t2", base.Add(2*time.Second)),
		msgAt(key, "t4", base.Add(3*time.Second)),
		msgAt(key, "t6", base.Add(6*time.Second)),
	)
	all := append(append([]mailbox.Message{}, inA[:3]...), inB...)
	slices.SortFunc(all, mailbox.Compare)
	want := taskIDs(all)

	from := []string{"--from", "store", "--config", cfgPath, "--tenant", "acme"}
	out, stderr, code := run(t, append([]string{"-o", "json", "mailbox"}, from...)...)
	if code != 0 || !strings.Contains(stderr, "1 pool(s)") || !strings.Contains(stderr, "memory") {
		t.Fatalf("exit %d, stderr %q: want success and a note that pool mem is not included", code, stderr)
	}
	var doc MailboxOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	wantTasks(t, "merged, the default store read once", doc.Messages, want...)
	wantTasks(t, "limit applies across the stores", readMessages(t, append(from, "--limit", "3")...), want[:3]...)
	wantTasks(t, "since a time, across the stores", readMessages(t, append(from, "--since", base.Add(3*time.Second).Format(time.RFC3339))...), "t5", "t6")

	// Paging with --since <last messageId> visits every message once,
	// whichever store holds the cursor.
	for _, size := range []int{1, 2, 4} {
		var paged []string
		since := ""
		for range 10 {
			args := append(slices.Clone(from), "--limit", strconv.Itoa(size))
			if since != "" {
				args = append(args, "--since", since)
			}
			page := readMessages(t, args...)
			if len(page) == 0 {
				break
			}
			paged = append(paged, taskIDs(page)...)
			since = page[len(page)-1].MessageID
		}
		if !slices.Equal(paged, want) {
			t.Fatalf("pages of %d: %v, want %v", size, paged, want)
		}
	}

	// An id no store of the key holds, even one of another tenant's mailbox.
	for _, id := range []string{mailbox.NewMessageID(base), inA[3].MessageID} {
		_, stderr, code = run(t, append([]string{"mailbox", "--since", id}, from...)...)
		if code != 1 || !strings.Contains(stderr, "--since") || !strings.Contains(stderr, "not found") {
			t.Errorf("--since %s: exit %d, stderr %q; want a cursor-not-found error naming --since", id, code, stderr)
		}
	}
}

func TestMessageTimeRecoversTheCreatedAtOfAnID(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		at := mailbox.CanonicalTime(time.Unix(0, rng.Int64N(4e18)))
		got, ok := messageTime(mailbox.NewMessageID(at))
		if !ok || !got.Equal(at) {
			t.Fatalf("messageTime(NewMessageID(%v)) = %v, %v", at, got, ok)
		}
	}
	if _, ok := messageTime("6ba7b810-9dad-11d1-80b4-00c04fd430c8"); ok {
		t.Error("a version 1 UUID has no message time")
	}
}

func TestMailboxStoreRefusesConfigsItCannotRead(t *testing.T) {
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
		{"memory stores are read through the workflow", []string{"--from", "store", "--config", memOnly}, []string{"memory", "worker process", "--from workflow"}},
		{"a data dir without stores is not the worker's", []string{"--from", "store", "--data-dir", filepath.Join(dir, "empty")}, []string{"no mailbox store", "--data-dir"}},
		{"an unreadable config names --config", []string{"--from", "store", "--config", filepath.Join(dir, "none.yaml")}, []string{"--config"}},
		{"one of --config and --data-dir", []string{"--from", "store", "--config", memOnly, "--data-dir", dir}, []string{"--config and --data-dir"}},
		{"the workflow read takes no config", []string{"--config", memOnly}, []string{"--config", "--from store"}},
		{"an unknown source lists both", []string{"--from", "cache"}, []string{"--from", "workflow", "store"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, append([]string{"--address", "127.0.0.1:1", "mailbox", "--tenant", "acme"}, tc.args...)...)
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
	if _, err := os.Stat(filepath.Join(dir, "empty")); !os.IsNotExist(err) {
		t.Errorf("reading created the data dir: %v", err)
	}
}

func TestMailboxFlagErrorsNameTheFlag(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"the tenant is required", []string{}, []string{"tenant"}},
		{"an empty tenant", []string{"--tenant", ""}, []string{"--tenant", "required"}},
		{"a slash in the tenant", []string{"--tenant", "a/b"}, []string{"--tenant"}},
		{"a slash in the user", []string{"--tenant", "a", "--user", "x/y"}, []string{"--user"}},
		{"a control character in the session", []string{"--tenant", "a", "--session", "s\n"}, []string{"--session"}},
		{"since is a time or an id", []string{"--tenant", "a", "--since", "yesterday"}, []string{"--since", "RFC3339", "messageId"}},
		{"since a date is not a time", []string{"--tenant", "a", "--since", "2025-01-02"}, []string{"--since", "RFC3339", "messageId"}},
		{"limit above the maximum", []string{"--tenant", "a", "--limit", "1001"}, []string{"--limit", "1000"}},
		{"a negative limit", []string{"--tenant", "a", "--limit", "-1"}, []string{"--limit"}},
	}
	for _, tc := range cases {
		for _, from := range []string{"workflow", "store"} {
			t.Run(tc.name+" from "+from, func(t *testing.T) {
				args := append([]string{"--address", "127.0.0.1:1", "mailbox", "--from", from}, tc.args...)
				if from == "store" {
					args = append(args, "--data-dir", t.TempDir())
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
				if strings.Contains(stderr, "connect to Temporal") || strings.Contains(stderr, "no mailbox store") {
					t.Errorf("stderr %q: the flag was not checked first", stderr)
				}
			})
		}
	}
}

func TestMailboxFromWorkflowReadsWhatWasDelivered(t *testing.T) {
	env := testenv.Start(t, testenv.PoolConfig(t, "p", 2, 10), testenv.Options{})
	ctx := context.Background()
	signal := func(m mailbox.Message) mailbox.Message {
		t.Helper()
		m, err := m.Prepare(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		id := workflows.MailboxWorkflowID(m.Key)
		if _, err := env.Client.SignalWithStartWorkflow(ctx, id, workflows.SignalDeliver, m,
			client.StartWorkflowOptions{ID: id, TaskQueue: env.API.TaskQueue}, workflows.Mailbox, workflows.MailboxInput{Key: m.Key}); err != nil {
			t.Fatalf("deliver %s to %s: %v", m.TaskID, m.Key, err)
		}
		return m
	}
	mk := func(key mailbox.Key, task string, status mailbox.Status) mailbox.Message {
		return mailbox.Message{Key: key, TaskID: task, Pool: "p", Status: status, Reason: string(status)}
	}
	acmeU, acme, other := mailbox.Key{Tenant: "acme", User: "u"}, mailbox.Key{Tenant: "acme"}, mailbox.Key{Tenant: "other", User: "u"}
	first := signal(mk(acmeU, "a", mailbox.StatusCompleted))
	signal(mk(acmeU, "a", mailbox.StatusFailed)) // a retried delivery of task a
	signal(mk(acme, "c", mailbox.StatusExpired))
	signal(mk(other, "d", mailbox.StatusDropped))
	signal(mk(acmeU, "b", mailbox.StatusRejected))

	base := []string{"--address", env.Server.GetFrontendHostPort(), "--namespace", env.Config.Temporal.Namespace}
	read := func(args ...string) []mailbox.Message { return readMessagesWith(t, base, args...) }
	// Signals are asynchronous: wait for the last one sent to each mailbox.
	readN := func(n int, args ...string) []mailbox.Message {
		t.Helper()
		var got []mailbox.Message
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if got = read(args...); len(got) >= n || time.Now().After(deadline) {
				return got
			}
		}
	}
	got := readN(2, "--tenant", "acme", "--user", "u")
	wantTasks(t, "acme/u, task a once", got, "a", "b")
	if got[0].MessageID != first.MessageID || got[0].Status != mailbox.StatusCompleted {
		t.Fatalf("task a: %+v, want the first delivery %+v", got[0], first)
	}
	wantTasks(t, "since the first message", read("--tenant", "acme", "--user", "u", "--since", first.MessageID), "b")
	wantTasks(t, "since a time", read("--tenant", "acme", "--user", "u", "--since", first.CreatedAt.Format(time.RFC3339Nano)), "b")
	wantTasks(t, "limit", read("--tenant", "acme", "--user", "u", "--limit", "1"), "a")
	wantTasks(t, "acme without a user is its own mailbox", readN(1, "--tenant", "acme"), "c")
	wantTasks(t, "another tenant, same user", readN(1, "--tenant", "other", "--user", "u", "--from", "workflow"), "d")
	wantTasks(t, "a key nothing was delivered to", read("--tenant", "acme", "--user", "nobody"))
}
