package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/workers/devserver"
	"github.com/parklot/parklot/workers/node"
)

// LocalOptions size the in-process runtime the bench starts when it targets
// no cluster.
type LocalOptions struct {
	Pools []PoolSpec
	// QueueDepth is every pool's max_queue_depth.
	QueueDepth int
	// DefaultTimeout is every pool's default_timeout.
	DefaultTimeout time.Duration
	// Logger receives the server's and the node's warnings; nil discards.
	Logger *slog.Logger
	// SDKLogger is the Temporal client's and workers' logger; nil discards.
	SDKLogger sdklog.Logger
}

// Local is an ephemeral embedded Temporal server (no UI) with a Parklot
// node on it, in this process.
type Local struct {
	Server *devserver.Server
	Client client.Client
	Node   *node.Node
	Config *config.Config
}

// StartLocal starts the server and the node; on error nothing is left
// running.
func StartLocal(ctx context.Context, o LocalOptions) (*Local, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SDKLogger == nil {
		o.SDKLogger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	}
	cfg, err := LocalConfig(o.Pools, o.QueueDepth, o.DefaultTimeout)
	if err != nil {
		return nil, err
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		Ephemeral:        true,
		UIPort:           -1,
		Namespace:        cfg.Temporal.Namespace,
		SearchAttributes: node.SearchAttributes,
		Logger:           o.Logger,
	})
	if err != nil {
		return nil, err
	}
	cfg.Temporal.Address = srv.FrontendAddress()
	tc, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: cfg.Temporal.Namespace, Logger: o.SDKLogger})
	if err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("connect to the embedded Temporal server: %w", err)
	}
	n, err := node.Start(ctx, node.Options{Config: cfg, Client: tc, Logger: o.Logger, HTTPAddress: "-"})
	if err != nil {
		tc.Close()
		_ = srv.Stop()
		return nil, err
	}
	return &Local{Server: srv, Client: tc, Node: n, Config: cfg}, nil
}

// Target is where Run sends the workload.
func (l *Local) Target() Target {
	return Target{Client: l.Client, TaskQueue: l.Config.Temporal.TaskQueue, Namespace: l.Config.Temporal.Namespace, Address: l.Server.FrontendAddress(), InProcess: true}
}

// Stop shuts the node, the client and the server down.
func (l *Local) Stop() {
	l.Node.Stop(context.Background())
	l.Client.Close()
	_ = l.Server.Stop()
}

// LocalConfig is the node's configuration: the pools, memory stores, and
// nothing else. It goes through config.Parse so that every default and
// check a real deployment gets applies here too.
func LocalConfig(pools []PoolSpec, queueDepth int, timeout time.Duration) (*config.Config, error) {
	var b strings.Builder
	b.WriteString("defaults:\n  mailbox: {backend: memory}\n  audit: {backend: memory}\npools:\n")
	for _, p := range pools {
		fmt.Fprintf(&b, "  %s:\n    max_units: %d\n    max_queue_depth: %d\n    default_timeout: %s\n", p.Name, p.MaxUnits, queueDepth, timeout)
	}
	cfg, err := config.Parse([]byte(b.String()), config.FormatYAML)
	if err != nil {
		return nil, fmt.Errorf("bench config:\n%w", err)
	}
	return cfg, nil
}
