package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// PoolOutput is one pool in `parklot pools`.
type PoolOutput struct {
	Pool        string              `json:"pool"`
	State       pool.State          `json:"state"`
	MaxUnits    int64               `json:"maxUnits"`
	ActiveUnits int64               `json:"activeUnits"`
	Queued      int                 `json:"queued"`
	Config      pool.Config         `json:"config"`
	Holders     []pool.HolderView   `json:"holders"`
	Queue       []pool.QueuedView   `json:"queue"`
	Counters    pool.Counters       `json:"counters"`
	Wait        workflows.Histogram `json:"waitHistogram"`
}

func poolOutput(st workflows.PoolState) PoolOutput {
	out := PoolOutput{
		Pool: st.Pool, State: st.State, MaxUnits: st.Config.MaxUnits, ActiveUnits: st.ActiveUnits,
		Queued: len(st.Queue), Config: st.Config, Holders: st.Holders, Queue: st.Queue, Counters: st.Counters, Wait: st.Wait,
	}
	if out.Holders == nil {
		out.Holders = []pool.HolderView{}
	}
	if out.Queue == nil {
		out.Queue = []pool.QueuedView{}
	}
	return out
}

func poolsCommand() *cli.Command {
	setState := func(name string, state pool.State, verb string) *cli.Command {
		return &cli.Command{
			Name:      name,
			Usage:     verb,
			ArgsUsage: "POOL",
			Before:    needOneArg("a pool name"),
			Action: withAPI(func(c *cli.Context, a *api.Client) error {
				p := c.Args().First()
				if err := a.SetPoolState(c.Context, p, state); err != nil {
					return err
				}
				return emit(c, map[string]string{"pool": p, "state": string(state)}, func(w io.Writer) {
					fmt.Fprintf(w, "pool %s: %s\n", p, state)
				})
			}),
		}
	}
	return &cli.Command{
		Name:  "pools",
		Usage: "show every running pool's configuration and live state",
		Subcommands: []*cli.Command{
			setState("drain", pool.StateDraining, "stop accepting tasks; queued and running ones finish"),
			setState("disable", pool.StateDisabled, "reject new tasks and start none; queued ones stay parked"),
			setState("enable", pool.StateActive, "accept and start tasks again"),
		},
		Action: withAPI(func(c *cli.Context, a *api.Client) error {
			names := c.Args().Slice()
			if len(names) == 0 {
				var err error
				if names, err = a.PoolNames(c.Context); err != nil {
					return err
				}
			}
			pools := []PoolOutput{}
			for _, n := range names {
				st, err := a.Pool(c.Context, n)
				if err != nil {
					return err
				}
				pools = append(pools, poolOutput(st))
			}
			return emit(c, map[string]any{"pools": pools}, func(w io.Writer) {
				if len(pools) == 0 {
					fmt.Fprintln(w, "no pool manager is running: start a worker (make run) with pools in its config")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "POOL\tSTATE\tUNITS\tRUNNING\tQUEUED\tPOLICY\tADMITTED\tREJECTED\tEXPIRED")
				for _, p := range pools {
					var rejected int64
					for _, n := range p.Counters.Rejected {
						rejected += n
					}
					fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%d\t%s\t%d\t%d\t%d\n", p.Pool, p.State, p.ActiveUnits, p.MaxUnits,
						len(p.Holders), p.Queued, p.Config.Policy, p.Counters.Admitted+p.Counters.Granted, rejected, p.Counters.Expired)
				}
				tw.Flush()
			})
		}),
	}
}

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "work with configuration files",
		Subcommands: []*cli.Command{{
			Name:      "validate",
			Usage:     "check a YAML or JSON config and print every problem at once",
			ArgsUsage: "FILE",
			Action: func(c *cli.Context) error {
				path, err := oneArg(c, "a config file")
				if err != nil {
					return err
				}
				cfg, err := config.Load(path)
				var problems config.Problems
				switch {
				case errors.As(err, &problems):
					_ = emit(c, map[string]any{"file": path, "valid": false, "problems": problems}, func(w io.Writer) {
						fmt.Fprintf(w, "%s: %d problem(s)\n", path, len(problems))
						for _, p := range problems {
							fmt.Fprintf(w, "  %s\n", p)
						}
					})
					return cli.Exit("", 1)
				case err != nil:
					return err
				}
				pools, lots := cfg.PoolNames(), cfg.LotNames()
				if lots == nil {
					lots = []string{}
				}
				return emit(c, map[string]any{"file": path, "valid": true, "pools": pools, "lots": lots}, func(w io.Writer) {
					fmt.Fprintf(w, "%s: valid (%d pool(s): %v; %d lot(s): %v)\n", path, len(cfg.Pools), cfg.PoolNames(), len(cfg.Lots), cfg.LotNames())
				})
			},
		}},
	}
}
