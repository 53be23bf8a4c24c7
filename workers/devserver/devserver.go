package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// Options say where the embedded server keeps its state and where it listens.
type Options struct {
	// DataDir holds temporal.db; it is created when missing. Ignored when Ephemeral.
	DataDir string
	// Ephemeral keeps the whole server in memory: nothing survives Stop.
	Ephemeral bool
	// IP the frontend and the UI bind to; 127.0.0.1 when empty.
	IP string
	// FrontendPort for the gRPC frontend; 0 picks a free port.
	FrontendPort int
	// UIPort for the Web UI; 0 picks a free port, -1 disables the UI.
	UIPort int
	// Namespace is registered at start-up (with SearchAttributes) when missing.
	Namespace string
	// SearchAttributes are the custom search attributes the namespace gets.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's log lines; the server is chatty, so only
	// warnings and errors pass unless the logger's level is lower.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server and its Web UI.
type Server struct {
	temporal        temporal.Server
	ui              *uiserver.Server
	frontendAddress string
	uiAddress       string
	namespace       string
	uiDone          chan struct{}
	stoppedTemporal bool
	logger          slogLogger
}

// FrontendAddress is the host:port clients and workers dial.
func (s *Server) FrontendAddress() string { return s.frontendAddress }

// UIAddress is the Web UI's base URL, or "" when the UI is disabled.
func (s *Server) UIAddress() string {
	if s.uiAddress == "" {
		return ""
	}
	return "http://" + s.uiAddress
}

// Namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// Start brings the server up and returns once its frontend answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	frontendPort, err := portOrFree(opts.IP, opts.FrontendPort, "--temporal-port")
	if err != nil {
		return nil, err
	}

	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{},
	}
	if opts.Ephemeral {
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		// A process may run several ephemeral servers (tests); shared-cache
		// in-memory databases are keyed by name, so each gets its own.
		sqlCfg.DatabaseName = fmt.Sprintf("parklot-%d-%d", os.Getpid(), time.Now().UnixNano())
	} else {
		if opts.DataDir == "" {
			return nil, errors.New("a data directory is required unless the server is ephemeral: pass --data-dir or --ephemeral")
		}
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w (choose a writable --data-dir)", opts.DataDir, err)
		}
		sqlCfg.DatabaseName = filepath.Join(opts.DataDir, "temporal.db")
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		sqlCfg.ConnectAttributes["journal_mode"] = "wal"
		if _, err := os.Stat(sqlCfg.DatabaseName); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
				return nil, fmt.Errorf("create Temporal schema in %s: %w", sqlCfg.DatabaseName, err)
			}
		}
	}

	cfg, err := serverConfig(opts.IP, frontendPort, sqlCfg)
	if err != nil {
		return nil, err
	}
	nsCfg, err := sqliteschema.NewNamespaceConfig(cfg.ClusterMetadata.CurrentClusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return nil, fmt.Errorf("register namespace %q: %w", opts.Namespace, err)
	}

	logger := newSlogLogger(opts.Logger.With("component", "temporal"))
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range cfg.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		// Static membership: one process needs no gossip ring, and without
		// one no service waits for the others to join after a restart
		// (history would otherwise back off on "not enough hosts").
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// Search attributes registered at start-up must be usable at once.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			// One partition per task queue: a single-process server gains
			// nothing from spreading a queue, and with several partitions a
			// task can sit in one that no poller is waiting on.
			dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  []dynamicconfig.ConstrainedValue{{Value: 1}},
			dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): []dynamicconfig.ConstrainedValue{{Value: 1}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal server on %s: %w", cfg.PublicClient.HostPort, err)
	}
	s := &Server{
		logger:          logger,
		temporal:        srv,
		frontendAddress: cfg.PublicClient.HostPort,
		namespace:       opts.Namespace,
	}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}

	if opts.UIPort >= 0 {
		uiPort, err := portOrFree(opts.IP, opts.UIPort, "--ui-port")
		if err != nil {
			_ = s.Stop()
			return nil, err
		}
		s.startUI(opts.IP, uiPort)
	}
	return s, nil
}

// waitReady polls the frontend until it serves the namespace: Start returns
// before the services have joined their ring.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for {
		c, err := client.Dial(client.Options{HostPort: s.frontendAddress, Namespace: s.namespace, Logger: quietSDKLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err == nil {
				_, err = c.WorkflowService().DescribeNamespace(ctx, describeNamespace(s.namespace))
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded Temporal server on %s did not become ready: %w", s.frontendAddress, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) startUI(ip string, port int) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                ip,
		Port:                port,
		TemporalGRPCAddress: s.frontendAddress,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}))
	s.uiAddress = addr
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		_ = s.ui.Start()
	}()
}

// Stop shuts the UI and the server down; it is safe to call more than once.
func (s *Server) Stop() error {
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
		s.ui = nil
	}
	if s.stoppedTemporal {
		return nil
	}
	s.stoppedTemporal = true
	s.logger.stopping.Store(true)
	return s.temporal.Stop()
}

// frontendService also serves the frontend's HTTP API (used by Nexus and
// HTTP clients) on a free port; without one the server warns at every start.
func frontendService(s config.Service, httpPort int) config.Service {
	s.RPC.HTTPPort = httpPort
	return s
}

func serverConfig(ip string, frontendPort int, sqlCfg *config.SQL) (*config.Config, error) {
	ports, err := freePorts(ip, 9)
	if err != nil {
		return nil, err
	}
	const clusterName = "active"
	frontend := net.JoinHostPort(ip, strconv.Itoa(frontendPort))
	service := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: ip}}
	}
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: ip},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(ip, strconv.Itoa(ports[0])),
				HandlerPath:   "/metrics",
			}},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": frontendService(service(frontendPort, ports[1]), ports[8]),
			"history":  service(ports[2], ports[3]),
			"matching": service(ports[4], ports[5]),
			"worker":   service(ports[6], ports[7]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: frontend},
	}, nil
}
