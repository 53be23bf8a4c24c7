package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/workers/demo"
	"github.com/parklot/parklot/workers/devserver"
	"github.com/parklot/parklot/workers/node"
)

func newApp() *cli.App {
	return &cli.App{
		Name:  "parklot-worker",
		Usage: "run Parklot's workers",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		},
		Commands:  []*cli.Command{devCommand(), runCommand(), benchCommand()},
		Writer:    os.Stdout,
		ErrWriter: os.Stderr,
	}
}

func newLogger(c *cli.Context) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.String("log-level"))
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level})), nil
}

// sdkLogger keeps the SDK's per-poll chatter out of the default output.
func sdkLogger(l *slog.Logger) sdklog.Logger {
	h := l.Handler()
	return sdklog.NewStructuredLogger(slog.New(minLevel{Handler: h, min: slog.LevelWarn}).With("component", "temporal-sdk"))
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{Handler: m.Handler.WithAttrs(a), min: m.min}
}

func (m minLevel) WithGroup(g string) slog.Handler {
	return minLevel{Handler: m.Handler.WithGroup(g), min: m.min}
}

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "desktop runtime: embedded Temporal server and Web UI, worker and HTTP endpoint in one process",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "YAML or JSON config file (default: one 4-unit pool named demo)"},
			&cli.StringFlag{Name: "data-dir", Value: ".parklot", Usage: "where Temporal and the stores keep their files"},
			&cli.BoolFlag{Name: "ephemeral", Usage: "keep everything in memory; nothing survives a restart"},
			&cli.StringFlag{Name: "ip", Value: "127.0.0.1", Usage: "address every listener binds to"},
			&cli.IntFlag{Name: "temporal-port", Value: 7233, Usage: "Temporal frontend port (0 picks a free one)"},
			&cli.IntFlag{Name: "ui-port", Value: 8233, Usage: "Temporal Web UI port (0 picks a free one)"},
			&cli.IntFlag{Name: "http-port", Value: 8080, Usage: "Parklot HTTP port for /health and /metrics (0 picks a free one)"},
			&cli.BoolFlag{Name: "demo", Usage: "submit a small workload larger than the demo pool and show its progress"},
		},
		Action: runDev,
	}
}

func loadDevConfig(c *cli.Context) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if path := c.String("config"); path != "" {
		cfg, err = config.Load(path)
		if err != nil {
			return nil, fmt.Errorf("config %s:\n%w", path, err)
		}
	} else {
		cfg, err = config.Default(c.String("data-dir"))
		if err != nil {
			return nil, fmt.Errorf("built-in config: %w", err)
		}
	}
	if c.Bool("ephemeral") {
		cfg.Defaults.Mailbox = config.Store{Backend: config.BackendMemory}
		cfg.Defaults.Audit = config.Store{Backend: config.BackendMemory}
		for name, p := range cfg.Pools {
			p.Mailbox, p.Audit = nil, nil
			cfg.Pools[name] = p
		}
	}
	return cfg, nil
}

// devOptions are the parsed flags of `parklot-worker dev`.
type devOptions struct {
	Config       *config.Config
	DataDir      string
	Ephemeral    bool
	IP           string
	TemporalPort int
	UIPort       int
	HTTPPort     int
}

// devRuntime is the desktop runtime: server, client and node in one process.
type devRuntime struct {
	server *devserver.Server
	client client.Client
	node   *node.Node
}

// startDev brings the runtime up; on error nothing is left running.
func startDev(ctx context.Context, o devOptions, logger *slog.Logger) (*devRuntime, error) {
	cfg := o.Config
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir:          o.DataDir,
		Ephemeral:        o.Ephemeral,
		IP:               o.IP,
		FrontendPort:     o.TemporalPort,
		UIPort:           o.UIPort,
		Namespace:        cfg.Temporal.Namespace,
		SearchAttributes: node.SearchAttributes,
		Logger:           logger,
	})
	if err != nil {
		return nil, err
	}
	cfg.Temporal.Address = srv.FrontendAddress()
	tc, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: cfg.Temporal.Namespace, Logger: sdkLogger(logger)})
	if err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("connect to the embedded Temporal server: %w", err)
	}
	n, err := node.Start(ctx, node.Options{
		Config: cfg, Client: tc, Logger: logger,
		HTTPAddress:   net.JoinHostPort(o.IP, strconv.Itoa(o.HTTPPort)),
		TemporalUIURL: srv.UIAddress(),
	})
	if err != nil {
		tc.Close()
		_ = srv.Stop()
		return nil, err
	}
	return &devRuntime{server: srv, client: tc, node: n}, nil
}

// Stop shuts down in reverse order of start.
func (r *devRuntime) Stop(logger *slog.Logger) {
	r.node.Stop(context.Background())
	r.client.Close()
	if err := r.server.Stop(); err != nil {
		logger.Warn("temporal server stop", "err", err)
	}
}

func runDev(c *cli.Context) error {
	logger, err := newLogger(c)
	if err != nil {
		return err
	}
	cfg, err := loadDevConfig(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := devOptions{
		Config: cfg, DataDir: c.String("data-dir"), Ephemeral: c.Bool("ephemeral"), IP: c.String("ip"),
		TemporalPort: c.Int("temporal-port"), UIPort: c.Int("ui-port"), HTTPPort: c.Int("http-port"),
	}
	rt, err := startDev(ctx, o, logger)
	if err != nil {
		return err
	}
	defer rt.Stop(logger)

	printBanner(c.App.Writer, rt.server, rt.node, cfg, o.DataDir, o.Ephemeral)
	if c.Bool("demo") {
		go runDemo(ctx, c.App.Writer, rt.node, cfg, logger)
	}
	<-ctx.Done()
	fmt.Fprintln(c.App.Writer, "\nparklot: shutting down")
	return nil
}

func runDemo(ctx context.Context, out io.Writer, n *node.Node, cfg *config.Config, logger *slog.Logger) {
	poolName := "demo"
	if _, ok := cfg.Pools[poolName]; !ok {
		names := cfg.PoolNames()
		if len(names) == 0 {
			logger.Error("demo needs a pool; the config has none")
			return
		}
		poolName = names[0]
	}
	prefix := "demo-" + time.Now().UTC().Format("150405")
	if _, err := demo.Run(ctx, n.API, poolName, prefix, demo.Workload(), out); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("demo failed", "err", err)
		return
	}
	fmt.Fprintln(out, "demo: every task has finished; the runtime keeps running (Ctrl-C stops it)")
}

func printBanner(w io.Writer, srv *devserver.Server, n *node.Node, cfg *config.Config, dataDir string, ephemeral bool) {
	addrFlag := ""
	if srv.FrontendAddress() != "127.0.0.1:7233" {
		addrFlag = " --address " + srv.FrontendAddress()
	}
	storage := dataDir
	if abs, err := filepath.Abs(dataDir); err == nil {
		storage = abs
	}
	if ephemeral {
		storage = "in memory (--ephemeral): nothing survives a restart"
	}
	fmt.Fprintf(w, `Parklot desktop runtime is up.
  Temporal frontend  %s (namespace %s)
  Temporal Web UI    %s
  Dashboard          %s/
  Parklot HTTP API   %s  (/health, /metrics, docs/openapi.yaml)
  Data               %s
  Pools              %v
  Lots               %v

Try:
  bin/parklot%s submit --pool %s --id hello-1 --tenant acme --units 1 --kind sleep --payload '{"duration":"5s"}' --wait
  bin/parklot%s status hello-1
  bin/parklot%s pools

`, srv.FrontendAddress(), cfg.Temporal.Namespace, orNone(srv.UIAddress()), n.HTTPAddress(), n.HTTPAddress(), storage, cfg.PoolNames(), cfg.LotNames(),
		addrFlag, firstPool(cfg), addrFlag, addrFlag)
}

func orNone(s string) string {
	if s == "" {
		return "(disabled)"
	}
	return s
}

func firstPool(cfg *config.Config) string {
	if _, ok := cfg.Pools["demo"]; ok {
		return "demo"
	}
	if names := cfg.PoolNames(); len(names) > 0 {
		return names[0]
	}
	return "demo"
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "serve Parklot's workflows against an existing Temporal cluster or Temporal Cloud",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Required: true, Usage: "YAML or JSON config file"},
			&cli.StringFlag{Name: "address", Usage: "Temporal frontend host:port (overrides config and TEMPORAL_ADDRESS)"},
			&cli.StringFlag{Name: "namespace", Usage: "Temporal namespace (overrides config and TEMPORAL_NAMESPACE)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "client certificate file for mTLS (overrides TEMPORAL_TLS_CERT)"},
			&cli.StringFlag{Name: "tls-key", Usage: "client key file for mTLS (overrides TEMPORAL_TLS_KEY)"},
			&cli.StringFlag{Name: "tls-ca", Usage: "CA bundle that signs the server's certificate (overrides TEMPORAL_TLS_CA)"},
			&cli.StringFlag{Name: "http", Usage: "HTTP listen address for /health and /metrics (overrides config; - disables)"},
		},
		Action: runRun,
	}
}

func runRun(c *cli.Context) error {
	logger, err := newLogger(c)
	if err != nil {
		return err
	}
	cfg, err := config.Load(c.String("config"))
	if err != nil {
		return fmt.Errorf("config %s:\n%w", c.String("config"), err)
	}
	t := &cfg.Temporal
	for flag, dst := range map[string]*string{"address": &t.Address, "namespace": &t.Namespace, "tls-cert": &t.TLS.CertFile, "tls-key": &t.TLS.KeyFile, "tls-ca": &t.TLS.CAFile} {
		if v := c.String(flag); v != "" {
			*dst = v
		}
	}
	opts, err := clientOptions(cfg.Temporal)
	if err != nil {
		return err
	}
	opts.Logger = sdkLogger(logger)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	tc, err := dialWithRetry(ctx, opts, logger)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (namespace %s): %w; check --address, the namespace and the TLS or API key settings", t.Address, t.Namespace, err)
	}
	defer tc.Close()
	n, err := node.Start(ctx, node.Options{Config: cfg, Client: tc, Logger: logger, HTTPAddress: c.String("http")})
	if err != nil {
		return err
	}
	defer n.Stop(context.Background())
	logger.Info("worker running", "temporal", t.Address, "namespace", t.Namespace, "task_queue", n.API.TaskQueue, "pools", cfg.PoolNames(), "http", n.HTTPAddress())
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// dialWithRetry keeps trying while the cluster is not reachable yet (a
// worker often starts before Temporal does), until ctx ends. Errors that a
// retry cannot fix, such as a bad certificate, still end it at once.
func dialWithRetry(ctx context.Context, opts client.Options, logger *slog.Logger) (client.Client, error) {
	wait := time.Second
	for {
		tc, err := client.DialContext(ctx, opts)
		if err == nil {
			return tc, nil
		}
		if ctx.Err() != nil || !retryableDial(err) {
			return nil, err
		}
		logger.Warn("Temporal not reachable yet; retrying", "address", opts.HostPort, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// retryableDial tells a cluster that is not up yet (connection refused,
// unavailable) from a refusal a retry cannot change: bad credentials, a
// certificate that does not verify, an unknown namespace.
func retryableDial(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument, codes.NotFound:
		return false
	}
	msg := err.Error()
	return !strings.Contains(msg, "x509:") && !strings.Contains(msg, "tls:")
}

// clientOptions turns the Temporal section into SDK options: plain, mTLS
// with a client certificate, or an API key over TLS (Temporal Cloud).
func clientOptions(t config.Temporal) (client.Options, error) {
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace}
	if !t.UseTLS() {
		return opts, nil
	}
	tlsCfg := &tls.Config{ServerName: t.TLS.ServerName, MinVersion: tls.VersionTLS12}
	if t.TLS.CertFile != "" || t.TLS.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.TLS.CertFile, t.TLS.KeyFile)
		if err != nil {
			return opts, fmt.Errorf("load the TLS client certificate %s and key %s: %w", t.TLS.CertFile, t.TLS.KeyFile, err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	if t.TLS.CAFile != "" {
		pem, err := os.ReadFile(t.TLS.CAFile)
		if err != nil {
			return opts, fmt.Errorf("read the TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("TLS CA file %s holds no PEM certificate", t.TLS.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	opts.ConnectionOptions.TLS = tlsCfg
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	return opts, nil
}
