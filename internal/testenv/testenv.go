// Package testenv gives end-to-end tests a real Temporal server in-process
// (go.temporal.io/server/temporaltest) with a Parklot node on it: the worker,
// the pool managers of a config, and the api client. Tests only.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/executor"
	"github.com/parklot/parklot/workers/node"
	"github.com/parklot/parklot/workflows"
)

// Env is a server, a node and a client, stopped when the test ends.
type Env struct {
	Server *temporaltest.TestServer
	Client client.Client
	API    *api.Client
	Node   *node.Node
	Config *config.Config
}

// Options tune Start.
type Options struct {
	// RegisterExecutors adds test executors.
	RegisterExecutors func(*executor.Registry) error
	// NoNode starts only the server and the client.
	NoNode bool
	// PoolManagerMaxSignals bounds each manager run, to force continue-as-new.
	PoolManagerMaxSignals int
	// LotMaxUpdates bounds each lot workflow run, to force continue-as-new.
	LotMaxUpdates int
	// WrapStores puts test doubles (fault injectors) in front of the stores.
	WrapStores func(*activities.Stores)
	// DeliveryGiveUp shortens how long deliveries are retried.
	DeliveryGiveUp time.Duration
	// Interceptors wrap the node's worker (fault injection).
	Interceptors []interceptor.WorkerInterceptor
}

// Start starts everything for cfg (nil means one pool "p" of 4 units).
// It skips the test under -short: a real server costs seconds.
func Start(t *testing.T, cfg *config.Config, opts Options) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with an in-process Temporal server; run without -short")
	}
	if cfg == nil {
		cfg = PoolConfig(t, "p", 4, 10)
	}
	srv := temporaltest.NewServer(
		temporaltest.WithT(t),
		temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():      []dynamicconfig.ConstrainedValue{{Value: 1}},
			dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():     []dynamicconfig.ConstrainedValue{{Value: 1}},
		})),
	)
	c := srv.GetDefaultClient()
	cfg.Temporal.Namespace = srv.GetDefaultNamespace()
	env := &Env{Server: srv, Client: c, API: api.New(c, cfg.Temporal.TaskQueue), Config: cfg}
	if opts.NoNode {
		return env
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := node.Start(ctx, node.Options{
		Config: cfg, Client: c, Logger: Logger(), HTTPAddress: "-",
		RegisterExecutors:   opts.RegisterExecutors,
		MaxSignalsPerRun:    opts.PoolManagerMaxSignals,
		MaxLotUpdatesPerRun: opts.LotMaxUpdates,
		WrapStores:          opts.WrapStores,
		DeliveryGiveUp:      opts.DeliveryGiveUp,
		// The suite runs packages in parallel on small machines; a workflow
		// task starved of CPU for a second is not a deadlock there.
		WorkerOptions: worker.Options{DeadlockDetectionTimeout: 10 * time.Second, Interceptors: opts.Interceptors},
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	env.Node = n
	return env
}

// Logger discards everything; failing tests print their own evidence.
func Logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// PoolConfig is a config with one memory-backed pool.
func PoolConfig(t *testing.T, name string, units, depth int) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
defaults:
  mailbox: {backend: memory}
  audit: {backend: memory}
  lease_check_interval: 2s
pools:
  `+name+`:
    max_units: `+strconv.Itoa(units)+`
    max_queue_depth: `+strconv.Itoa(depth)+`
    default_timeout: 60s
`), config.FormatYAML)
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	return cfg
}

// WaitStatus polls a task until its status is one of want or the timeout
// passes, and returns the last status seen.
func (e *Env) WaitStatus(t *testing.T, taskID string, timeout time.Duration, want ...string) workflows.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st workflows.TaskStatus
	for {
		var err error
		st, err = e.API.Status(context.Background(), taskID)
		if err == nil {
			for _, w := range want {
				if st.Status == w {
					return st
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: status %q after %s, want one of %v (err %v)", taskID, st.Status, timeout, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
