package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
)

// Exit codes.
const (
	exitRefused = 3
)

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "parklot",
		Usage: "submit and follow tasks on Parklot's capacity-aware pools",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "address", Value: "127.0.0.1:7233", EnvVars: []string{"TEMPORAL_ADDRESS"}, Usage: "Temporal frontend host:port"},
			&cli.StringFlag{Name: "namespace", Value: "default", EnvVars: []string{"TEMPORAL_NAMESPACE"}, Usage: "Temporal namespace"},
			&cli.StringFlag{Name: "task-queue", Value: "parklot", EnvVars: []string{"PARKLOT_TASK_QUEUE"}, Usage: "task queue Parklot's workers poll"},
			&cli.StringFlag{Name: "api-key", EnvVars: []string{"TEMPORAL_API_KEY"}, Usage: "Temporal Cloud API key (implies TLS)"},
			&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"TEMPORAL_TLS_CERT"}, Usage: "client certificate for mTLS"},
			&cli.StringFlag{Name: "tls-key", EnvVars: []string{"TEMPORAL_TLS_KEY"}, Usage: "client key for mTLS"},
			&cli.StringFlag{Name: "tls-ca", EnvVars: []string{"TEMPORAL_TLS_CA"}, Usage: "CA bundle that signs the server's certificate"},
			&cli.StringFlag{Name: "tls-server-name", EnvVars: []string{"TEMPORAL_TLS_SERVER_NAME"}, Usage: "server name to verify, when it differs from the address"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text for people, json for scripts (one document on stdout)"},
		},
		Before: func(c *cli.Context) error {
			switch c.String("output") {
			case "text", "json":
				return nil
			}
			return fmt.Errorf("-o %q: use text or json", c.String("output"))
		},
		Commands: []*cli.Command{
			submitCommand(), statusCommand(), cancelCommand(), tasksCommand(), poolsCommand(), configCommand(), mailboxCommand(), auditCommand(),
			lotCommand(), parkCommand(), exitCommand(), ticketCommand(), voidCommand(),
		},
		Writer:         stdout,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // main maps errors to exit codes
	}
}

// dial connects to Temporal; the caller closes the client.
func dial(c *cli.Context) (*api.Client, func(), error) {
	opts := client.Options{HostPort: c.String("address"), Namespace: c.String("namespace"), Logger: quietLogger{}}
	if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
		return nil, nil, fmt.Errorf("--tls-cert and --tls-key go together: give both for mTLS, or neither")
	}
	if c.String("api-key") != "" || c.String("tls-cert") != "" || c.String("tls-ca") != "" || c.String("tls-server-name") != "" {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.String("tls-server-name")}
		if c.String("tls-cert") != "" {
			cert, err := tls.LoadX509KeyPair(c.String("tls-cert"), c.String("tls-key"))
			if err != nil {
				return nil, nil, fmt.Errorf("load TLS client certificate (--tls-cert, --tls-key): %w", err)
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
		if ca := c.String("tls-ca"); ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, nil, fmt.Errorf("--tls-ca: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", ca)
			}
			tlsCfg.RootCAs = roots
		}
		opts.ConnectionOptions.TLS = tlsCfg
		if k := c.String("api-key"); k != "" {
			opts.Credentials = client.NewAPIKeyStaticCredentials(k)
		}
	}
	tc, err := client.DialContext(c.Context, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Temporal at %s: %w; is `make run` (parklot-worker dev) running, or is --address right?", c.String("address"), err)
	}
	return api.New(tc, c.String("task-queue")), tc.Close, nil
}

// withAPI wraps an action that needs Parklot's client: it dials before and
// closes after.
func withAPI(action func(c *cli.Context, a *api.Client) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		a, closeFn, err := dial(c)
		if err != nil {
			return err
		}
		defer closeFn()
		return action(c, a)
	}
}

func jsonOutput(c *cli.Context) bool { return c.String("output") == "json" }

// emit writes v as one JSON document, or text() for people.
func emit(c *cli.Context, v any, text func(w io.Writer)) error {
	if jsonOutput(c) {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(c.App.Writer)
	return nil
}

// quietLogger keeps the SDK's connection chatter off a user's terminal.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
