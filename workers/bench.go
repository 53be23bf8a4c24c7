package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/bench"
	"github.com/parklot/parklot/config"
)

// exitBenchFailed is the exit code of a bench that saw a capacity violation
// or a lost, duplicated or inconsistent task (1 is any other error).
const exitBenchFailed = 2

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "load benchmark: throughput, latencies, capacity violations and lost tasks, beside bare, slots and minimal baselines",
		Description: "Without --address it starts an ephemeral Temporal server and a node in this process; with --address it\n" +
			"loads the pools named by --pool on a cluster whose workers are already running (the baselines' workers\n" +
			"run in this process on their own task queues). Exit code 2 means a capacity violation or a lost,\n" +
			"duplicated or inconsistent task. See docs/BENCHMARKS.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "address", Usage: "Temporal frontend host:port of an existing cluster (default: start one in-process)"},
			&cli.StringFlag{Name: "namespace", Value: "default", Usage: "Temporal namespace (with --address)"},
			&cli.StringFlag{Name: "task-queue", Usage: "Parklot's task queue on the cluster (default: the config's, parklot)"},
			&cli.StringSliceFlag{Name: "pool", Usage: "with --address: a pool to load (repeat for several); its units are read from its manager"},
			&cli.IntFlag{Name: "tasks", Value: 10000, Usage: "tasks to submit"},
			&cli.IntFlag{Name: "pools", Value: 1, Usage: "in-process pools; tasks are spread over them in turn"},
			&cli.IntFlag{Name: "units", Value: 8, Usage: "max_units of every in-process pool"},
			&cli.StringFlag{Name: "task-units", Value: "1", Usage: "units per task: 1, or a range drawn uniformly like 1-4"},
			&cli.StringFlag{Name: "hold", Value: "0", Usage: "how long each task's sleep runs: 0, 50ms, or a range like 10ms-200ms"},
			&cli.StringFlag{Name: "arrival", Value: "burst", Usage: "burst (all at once), or tasks per second like 200"},
			&cli.StringFlag{Name: "priorities", Value: "normal", Usage: "normal, or mixed (low, normal, high, critical drawn uniformly)"},
			&cli.IntFlag{Name: "tenants", Value: 1, Usage: "tenants the tasks are spread over in turn"},
			&cli.StringFlag{Name: "baselines", Value: bench.DefaultBaselines, Usage: "comma-separated: bare (the task workflow with no capacity coordination), slots (a task queue per pool, activity slots = units), minimal (a one-activity workflow); or none"},
			&cli.IntFlag{Name: "queue-depth", Usage: "max_queue_depth of the in-process pools (default: --tasks, so a burst is never rejected)"},
			&cli.IntFlag{Name: "concurrency", Value: bench.DefaultConcurrency, Usage: "submissions in flight at once"},
			&cli.DurationFlag{Name: "timeout", Value: bench.DefaultTimeout, Usage: "after the last submission, how long tasks may take before they count as lost"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the workload's draws (units, hold, priorities)"},
			&cli.IntFlag{Name: "history-sample", Value: 50, Usage: "task histories read for the per-task lifecycle figures"},
			&cli.IntFlag{Name: "warmup", Value: 100, Usage: "bare baseline tasks run, unreported, before the first measured phase"},
			&cli.IntFlag{Name: "rounds", Value: 1, Usage: "run every phase this many times in turn, each with its own task ids and Parklot first in even rounds; the report gives the median round by Parklot/bare and the spread"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text, or json (one document on stdout)"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the whole process (server, workers, load) to this file; read it with go tool pprof"},
		},
		Action: runBench,
	}
}

func runBench(c *cli.Context) error {
	logger, err := benchLogger(c)
	if err != nil {
		return err
	}
	output := c.String("output")
	if output != "text" && output != "json" {
		return fmt.Errorf("--output %q: use text or json", output)
	}
	o, err := benchOptions(c)
	if err != nil {
		return err
	}
	// stdout holds the report alone, so progress goes to stderr in both
	// modes.
	o.Progress = c.App.ErrWriter
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := c.String("cpuprofile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	var target bench.Target
	if c.String("address") == "" {
		depth := c.Int("queue-depth")
		if depth <= 0 {
			depth = o.Tasks
		}
		o.QueueDepth = depth
		local, err := bench.StartLocal(ctx, bench.LocalOptions{
			Pools: o.Pools, QueueDepth: depth, DefaultTimeout: bench.TaskTimeout(o),
			Logger: logger, SDKLogger: sdkLogger(logger),
		})
		if err != nil {
			return err
		}
		defer local.Stop()
		target = local.Target()
	} else {
		tc, t, err := dialBenchCluster(ctx, c, logger)
		if err != nil {
			return err
		}
		defer tc.Close()
		target = t
		if o.Pools, err = clusterPools(ctx, c, api.New(tc, t.TaskQueue)); err != nil {
			return err
		}
	}

	r, err := bench.Run(ctx, target, o)
	if err != nil {
		return err
	}
	if output == "json" {
		err = r.WriteJSON(c.App.Writer)
	} else {
		err = r.WriteText(c.App.Writer)
	}
	if err != nil {
		return err
	}
	if r.Failed() {
		return cli.Exit("parklot-worker bench: capacity violation or lost, duplicated or inconsistent task (see the report)", exitBenchFailed)
	}
	return nil
}

// benchLogger keeps the server's warnings off the progress bar unless the
// user asked for a log level.
func benchLogger(c *cli.Context) (*slog.Logger, error) {
	if c.IsSet("log-level") {
		return newLogger(c)
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelError})), nil
}

func benchOptions(c *cli.Context) (bench.Options, error) {
	o := bench.Options{
		Tasks: c.Int("tasks"), Tenants: c.Int("tenants"), Concurrency: c.Int("concurrency"),
		Timeout: c.Duration("timeout"), Seed: c.Int64("seed"), HistorySample: c.Int("history-sample"),
		Warmup: c.Int("warmup"),
		Rounds: c.Int("rounds"),
	}
	if o.Rounds < 1 {
		return o, fmt.Errorf("--rounds %d: run at least 1 round", o.Rounds)
	}
	var err error
	if o.TaskUnits, err = bench.ParseUnits(c.String("task-units")); err != nil {
		return o, err
	}
	if o.Hold, err = bench.ParseHold(c.String("hold")); err != nil {
		return o, err
	}
	if o.Arrival, err = bench.ParseArrival(c.String("arrival")); err != nil {
		return o, err
	}
	if o.Priorities, err = bench.ParsePriorities(c.String("priorities")); err != nil {
		return o, err
	}
	if o.Baselines, err = bench.ParseBaselines(c.String("baselines")); err != nil {
		return o, err
	}
	if o.Tenants < 1 {
		return o, fmt.Errorf("--tenants %d: use at least 1", o.Tenants)
	}
	if c.String("address") == "" {
		n, units := c.Int("pools"), c.Int("units")
		if n < 1 || units < 1 {
			return o, fmt.Errorf("--pools %d --units %d: use at least one pool of at least one unit", n, units)
		}
		o.Pools = bench.LocalPools(n, int64(units))
	}
	return o, nil
}

// dialBenchCluster connects as `run` does: address and namespace from the
// flags, TLS and API key from the environment (config reads it).
func dialBenchCluster(ctx context.Context, c *cli.Context, logger *slog.Logger) (client.Client, bench.Target, error) {
	cfg, err := config.Parse(nil, config.FormatYAML)
	if err != nil {
		return nil, bench.Target{}, err
	}
	t := cfg.Temporal
	t.Address = c.String("address")
	if c.IsSet("namespace") || t.Namespace == "" {
		t.Namespace = c.String("namespace")
	}
	if q := c.String("task-queue"); q != "" {
		t.TaskQueue = q
	}
	opts, err := clientOptions(t)
	if err != nil {
		return nil, bench.Target{}, err
	}
	opts.Logger = sdkLogger(logger)
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, bench.Target{}, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; check --address and --namespace", t.Address, t.Namespace, err)
	}
	return tc, bench.Target{Client: tc, TaskQueue: t.TaskQueue, Namespace: t.Namespace, Address: t.Address}, nil
}

// clusterPools reads the units of the pools named by --pool from their
// managers.
func clusterPools(ctx context.Context, c *cli.Context, a *api.Client) ([]bench.PoolSpec, error) {
	names := c.StringSlice("pool")
	if len(names) == 0 {
		return nil, fmt.Errorf("with --address, name the pools to load with --pool (the cluster's workers must run them; `parklot pools` lists them)")
	}
	var out []bench.PoolSpec
	for _, name := range names {
		st, err := a.Pool(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", name, err)
		}
		out = append(out, bench.PoolSpec{Name: name, MaxUnits: st.Config.MaxUnits})
	}
	return out, nil
}
