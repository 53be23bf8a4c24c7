package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/executor"
	"github.com/parklot/parklot/httpapi"
	"github.com/parklot/parklot/metrics"
	"github.com/parklot/parklot/notifier"
	"github.com/parklot/parklot/workflows"
)

// SearchAttributes are the custom search attributes task workflows set.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	workflows.SearchAttrPool:    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrTenant:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrStatus:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrMailbox: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// Options configure a node.
type Options struct {
	Config *config.Config
	Client client.Client
	Logger *slog.Logger
	// HTTPAddress overrides Config.HTTP.Address; "-" disables the endpoint.
	HTTPAddress string
	// RegisterExecutors adds custom executors (an LLM call, say) next to the
	// built-in ones, for programs that embed the worker.
	RegisterExecutors func(*executor.Registry) error
	// WorkerOptions tune the Temporal worker; zero values are fine.
	WorkerOptions worker.Options
	// DeliveryGiveUp overrides defaults.delivery_give_up (tests shorten it).
	DeliveryGiveUp time.Duration
	// WrapStores lets tests put a fault injector in front of the stores.
	WrapStores func(*activities.Stores)
	// TemporalUIURL is the Web UI the dashboard links into; empty means
	// http.temporal_ui_url of the config.
	TemporalUIURL string
	// MaxLotUpdatesPerRun bounds the runs of lot workflows this node starts;
	// 0 keeps the workflow's default. Tests lower it.
	MaxLotUpdatesPerRun int
	// MaxSignalsPerRun bounds the runs of pool managers this node starts;
	// 0 keeps workflows.DefaultMaxSignalsPerRun. Tests lower it.
	MaxSignalsPerRun int
}

// Node is a running worker and HTTP endpoint.
type Node struct {
	cfg      *config.Config
	client   client.Client
	worker   worker.Worker
	http     *http.Server
	httpAddr string
	httpDone chan struct{}
	logger   *slog.Logger
	stores   *openedStores
	API      *api.Client
	// temporalUIURL is where the dashboard's links point.
	temporalUIURL string
}

// Stores are the node's open mailbox and audit stores.
func (n *Node) Stores() *activities.Stores { return n.stores.Stores }

// Start registers everything, checks the search attributes, starts the
// worker, ensures the pool managers and serves HTTP. The caller owns the
// client and closes it after Stop.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg := opts.Config
	n := &Node{cfg: cfg, client: opts.Client, logger: opts.Logger, API: api.New(opts.Client, cfg.Temporal.TaskQueue),
		temporalUIURL: cmp.Or(opts.TemporalUIURL, cfg.HTTP.TemporalUIURL)}

	if err := EnsureSearchAttributes(ctx, opts.Client, cfg.Temporal.Namespace); err != nil {
		return nil, err
	}
	registry := executor.Builtins(ExecutorPolicies(cfg))
	if opts.RegisterExecutors != nil {
		if err := opts.RegisterExecutors(registry); err != nil {
			return nil, fmt.Errorf("register custom executors: %w", err)
		}
	}
	stores, err := openStores(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n.stores = stores
	if opts.WrapStores != nil {
		opts.WrapStores(stores.Stores)
	}

	n.worker = worker.New(opts.Client, n.API.TaskQueue, opts.WorkerOptions)
	workflows.Register(n.worker)
	n.worker.RegisterActivity(&activities.Activities{
		Executors: registry, Client: opts.Client, Logger: opts.Logger,
		Stores: stores.Stores, TaskQueue: n.API.TaskQueue, DeliveryGiveUp: cmp.Or(opts.DeliveryGiveUp, cfg.Defaults.DeliveryGiveUp),
		Webhooks: Webhooks(cfg),
		// Tasks and managers of this process share it: a decision for a
		// task waiting here needs no signal.
		Handover: activities.NewHandover(0),
	})
	if err := n.worker.Start(); err != nil {
		_ = stores.close()
		return nil, fmt.Errorf("start worker on task queue %q: %w", n.API.TaskQueue, err)
	}
	if err := ensurePools(ctx, n.API, cfg, opts.MaxSignalsPerRun); err != nil {
		n.worker.Stop()
		_ = stores.close()
		return nil, err
	}
	if err := ensureLots(ctx, n.API, cfg, opts.MaxLotUpdatesPerRun); err != nil {
		n.worker.Stop()
		_ = stores.close()
		return nil, err
	}
	RaiseCoordinatorPriority(ctx, opts.Client, cfg.Temporal.Namespace, cfg, opts.Logger)

	addr := cfg.HTTP.Address
	if opts.HTTPAddress != "" {
		addr = opts.HTTPAddress
	}
	if addr != "-" {
		if err := n.serveHTTP(addr); err != nil {
			n.worker.Stop()
			_ = stores.close()
			return nil, err
		}
	}
	return n, nil
}

func (n *Node) serveHTTP(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for HTTP on %s: %w (choose a free address: --http-port for dev, --http or http.address for run; port 0 picks one)", addr, err)
	}
	n.httpAddr = l.Addr().String()
	reg := metrics.NewRegistry(metrics.NewPoolCollector(n.API, n.cfg.PoolNames(), n.logger))
	hc := n.cfg.HTTP
	h := httpapi.New(httpapi.Options{
		API: n.API, Metrics: reg, Logger: n.logger, Checks: n.stores.checks,
		Stores:        n.stores.Stores,
		TemporalUIURL: n.temporalUIURL,
		Namespace:     n.cfg.Temporal.Namespace,
		Lots:          n.cfg.LotNames(),
		Trust: httpapi.Trust{TenantHeader: hc.TenantHeader, UserHeader: hc.UserHeader,
			SessionHeader: hc.SessionHeader, HeadersAuthoritative: hc.HeadersAuthoritative},
		MaxBodyBytes:   hc.MaxBodyBytes,
		RequestTimeout: hc.RequestTimeout,
	})
	// No WriteTimeout: it would cut the event streams, which end by
	// themselves and on shutdown.
	n.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	n.http.RegisterOnShutdown(h.CloseStreams)
	n.httpDone = make(chan struct{})
	go func() {
		defer close(n.httpDone)
		if err := n.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// HTTPAddress is where the HTTP API, the dashboard, /health and /metrics
// answer, or "" when disabled.
func (n *Node) HTTPAddress() string {
	if n.httpAddr == "" {
		return ""
	}
	return "http://" + n.httpAddr
}

// Stop finishes in-flight HTTP requests and stops the worker; running
// activities are cancelled and retried or reported by their workflows.
func (n *Node) Stop(ctx context.Context) {
	if n.http != nil {
		if err := n.http.Shutdown(ctx); err != nil {
			_ = n.http.Close()
		}
		<-n.httpDone
	}
	n.worker.Stop()
	if err := n.stores.close(); err != nil {
		n.logger.Warn("closing stores", "err", err)
	}
}

// EnsurePools starts the manager of every configured pool when it does not
// run, and hands every manager its current configuration: it is safe for
// every worker to do this at start-up.
func EnsurePools(ctx context.Context, c *api.Client, cfg *config.Config) error {
	return ensurePools(ctx, c, cfg, 0)
}

func ensurePools(ctx context.Context, c *api.Client, cfg *config.Config, maxSignals int) error {
	for _, name := range cfg.PoolNames() {
		p := cfg.Pools[name]
		rc := workflows.Reconfigure{Config: PoolConfig(p), LeaseCheckInterval: p.LeaseCheckInterval}
		_, err := c.Temporal.SignalWithStartWorkflow(ctx, workflows.PoolWorkflowID(name), workflows.SignalReconfigure, rc,
			client.StartWorkflowOptions{ID: workflows.PoolWorkflowID(name), TaskQueue: c.TaskQueue, Priority: CoordinatorPriority},
			workflows.PoolManager, workflows.PoolManagerInput{Pool: name, Config: rc.Config, LeaseCheckInterval: rc.LeaseCheckInterval, MaxSignalsPerRun: maxSignals})
		if err != nil {
			return fmt.Errorf("start the manager of pool %q: %w", name, err)
		}
	}
	return nil
}

// PoolConfig turns a configured pool into the domain's settings.
func PoolConfig(p config.Pool) pool.Config {
	return pool.Config{
		MaxUnits:       int64(p.MaxUnits),
		MaxQueueDepth:  p.MaxQueueDepth,
		Policy:         pool.Policy(p.PriorityPolicy),
		Backfill:       p.Backfill,
		State:          pool.State(p.State),
		DefaultTimeout: p.DefaultTimeout,
	}
}

// ExecutorPolicies says, per pool, what the exec and http executors may do.
func ExecutorPolicies(cfg *config.Config) map[string]executor.Policy {
	out := make(map[string]executor.Policy, len(cfg.Pools))
	for name, p := range cfg.Pools {
		pol := executor.Policy{Exec: executor.ExecPolicy{
			Enabled: p.Executors.Exec.Enabled, Commands: p.Executors.Exec.Commands,
			MaxOutputBytes: p.Executors.Exec.MaxOutputBytes, Env: p.Executors.Exec.Env,
		}}
		if h := p.Executors.HTTP; h != nil {
			pol.HTTP = executor.HTTPPolicy{URL: h.URL, Timeout: h.Timeout, Headers: h.Headers, MaxResponseBytes: int(h.MaxResponseBytes)}
		}
		out[name] = pol
	}
	return out
}

// Webhooks builds the notifier of every pool that configures a webhook.
func Webhooks(cfg *config.Config) map[string]*notifier.Webhook {
	out := map[string]*notifier.Webhook{}
	for name, p := range cfg.Pools {
		if w := p.Webhook; w != nil {
			out[name] = &notifier.Webhook{URL: w.URL, Secret: []byte(w.Secret), Timeout: w.Timeout}
		}
	}
	return out
}

// EnsureSearchAttributes registers Parklot's search attributes when they are
// missing. Several workers starting together may race to add them, so an
// add that fails is followed by a second look. Where the caller may not add
// them (Temporal Cloud), the error says how the operator registers them.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	missing, err := missingSearchAttributes(ctx, c, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	_, addErr := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if missing, err = missingSearchAttributes(ctx, c, namespace); err != nil || len(missing) == 0 {
		return err
	}
	names := make([]string, 0, len(missing))
	for name := range missing {
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Errorf("namespace %q lacks the search attributes %v and this worker could not add them (%v); register them once, all of type Keyword: "+
		"on a self-hosted cluster `temporal operator search-attribute create --namespace %s --name ParklotPool --type Keyword --name ParklotTenant --type Keyword "+
		"--name ParklotStatus --type Keyword --name ParklotMailbox --type Keyword`; on Temporal Cloud in the namespace's settings in the Cloud UI or with tcld",
		namespace, names, addErr, namespace)
}

func missingSearchAttributes(ctx context.Context, c client.Client, namespace string) (map[string]enumspb.IndexedValueType, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list the search attributes of namespace %q: %w (on Temporal Cloud, check that the API key or certificate may read the namespace)", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	return missing, nil
}
