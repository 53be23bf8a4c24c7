package devserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func echoWorkflow(ctx workflow.Context, in string) (string, error) {
	return "echo:" + in, nil
}

func runEcho(t *testing.T, s *Server, id string) string {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace(), Logger: quietSDKLogger{}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	w := worker.New(c, "devserver-test", worker.Options{})
	w.RegisterWorkflow(echoWorkflow)
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "devserver-test"}, echoWorkflow, "hi")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	return out
}

func TestEphemeralServerRunsAWorkflowAndServesTheUI(t *testing.T) {
	s, err := Start(context.Background(), Options{
		Ephemeral:        true,
		Namespace:        "parklot-test",
		SearchAttributes: map[string]enumspb.IndexedValueType{"ParklotPool": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		Logger:           quietLogger(),
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Stop()

	if got := runEcho(t, s, "wf-1"); got != "echo:hi" {
		t.Fatalf("workflow returned %q, want echo:hi", got)
	}

	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace(), Logger: quietSDKLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sa, err := c.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	if sa.CustomAttributes["ParklotPool"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("ParklotPool not registered as keyword: %v", sa.CustomAttributes)
	}

	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.UIAddress() + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				body = string(b)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("UI at %s did not answer 200: %v", s.UIAddress(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("UI page is not HTML: %.200s", body)
	}
}

func TestServerOnADataDirKeepsWorkflowsAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, UIPort: -1, Logger: quietLogger()}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	runEcho(t, s, "kept")
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	s, err = Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer s.Stop()
	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace(), Logger: quietSDKLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out string
	if err := c.GetWorkflow(context.Background(), "kept", "").Get(context.Background(), &out); err != nil {
		t.Fatalf("workflow from before the restart: %v", err)
	}
	if out != "echo:hi" {
		t.Fatalf("result after restart %q, want echo:hi", out)
	}
}

func TestABusyPortIsReportedWithTheFlagToChange(t *testing.T) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := listen(port)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(context.Background(), Options{Ephemeral: true, FrontendPort: port, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "--temporal-port") {
		t.Fatalf("want an error naming --temporal-port, got %v", err)
	}
}

func listen(port int) (interface{ Close() error }, error) {
	return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}
