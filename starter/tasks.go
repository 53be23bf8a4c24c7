package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/domain/pool"
	"github.com/parklot/parklot/workflows"
)

// SubmitOutput is what `parklot submit` prints.
type SubmitOutput struct {
	TaskID   string      `json:"taskId"`
	Status   string      `json:"status"`
	Position int         `json:"position,omitempty"`
	Reason   pool.Reason `json:"reason,omitempty"`
	Message  string      `json:"message,omitempty"`
	Field    string      `json:"field,omitempty"`
}

func submitCommand() *cli.Command {
	return &cli.Command{
		Name:  "submit",
		Usage: "submit a task; it starts at once when it fits, queues otherwise",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pool", Required: true, Usage: "pool to run in"},
			&cli.StringFlag{Name: "id", Required: true, Usage: "task id; submitting it again returns the first task"},
			&cli.StringFlag{Name: "tenant", Required: true},
			&cli.StringFlag{Name: "user", Usage: "mailbox user"},
			&cli.StringFlag{Name: "session", Usage: "mailbox session"},
			&cli.StringFlag{Name: "priority", Value: "normal", Usage: "low, normal, high or critical"},
			&cli.Int64Flag{Name: "units", Value: 1, Usage: "resource units the task holds while it runs"},
			&cli.StringFlag{Name: "kind", Value: "sleep", Usage: "executor: sleep, exec, http or a custom one"},
			&cli.StringFlag{Name: "payload", Usage: "JSON given to the executor"},
			&cli.StringFlag{Name: "deadline", Usage: "latest start: a duration from now (30s) or RFC3339"},
			&cli.DurationFlag{Name: "timeout", Usage: "longest run (default: the pool's default_timeout)"},
			&cli.BoolFlag{Name: "wait", Usage: "follow the task to its end with a live progress line"},
		},
		Action: submit,
	}
}

func submit(c *cli.Context) error {
	in, err := taskInput(c, time.Now())
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	a, closeFn, err := dial(c)
	if err != nil {
		return err
	}
	defer closeFn()
	st, err := a.Submit(c.Context, in)
	if err != nil {
		return err
	}
	if c.Bool("wait") && !workflows.IsTerminal(st.Status) {
		st, err = a.Wait(c.Context, in.TaskID, 500*time.Millisecond, progressPrinter(c.App.ErrWriter))
		if err != nil {
			return err
		}
		if err := emit(c, st, func(w io.Writer) { printStatus(w, st) }); err != nil {
			return err
		}
		if st.Status != workflows.StatusCompleted {
			return cli.Exit("", exitRefused)
		}
		return nil
	}
	out := SubmitOutput{TaskID: in.TaskID, Status: st.Status, Position: st.Position, Reason: st.Reason, Message: st.Message, Field: st.Field}
	if err := emit(c, out, func(w io.Writer) {
		fmt.Fprintf(w, "task %s: %s", out.TaskID, out.Status)
		if out.Position > 0 {
			fmt.Fprintf(w, " at position %d", out.Position)
		}
		if out.Reason != "" {
			fmt.Fprintf(w, " (%s: %s)", out.Reason, out.Message)
		}
		fmt.Fprintln(w)
	}); err != nil {
		return err
	}
	if st.Status == workflows.StatusRejected || st.Status == workflows.StatusExpired {
		return cli.Exit("", exitRefused)
	}
	return nil
}

// taskInput validates the flags before anything is sent, naming the flag.
func taskInput(c *cli.Context, now time.Time) (workflows.TaskInput, error) {
	prio, err := pool.ParsePriority(c.String("priority"))
	if err != nil {
		return workflows.TaskInput{}, fmt.Errorf("--priority: %w", err)
	}
	in := workflows.TaskInput{
		TaskID: c.String("id"), Pool: c.String("pool"), Tenant: c.String("tenant"),
		User: c.String("user"), Session: c.String("session"), Priority: prio,
		Units: c.Int64("units"), Kind: c.String("kind"), Timeout: c.Duration("timeout"),
	}
	if in.Units < 1 {
		return in, fmt.Errorf("--units must be at least 1, got %d", in.Units)
	}
	if in.Timeout < 0 {
		return in, fmt.Errorf("--timeout must not be negative, got %s", in.Timeout)
	}
	if p := c.String("payload"); p != "" {
		if !json.Valid([]byte(p)) {
			return in, fmt.Errorf("--payload is not valid JSON: %s (quote it in the shell, e.g. '{\"duration\":\"5s\"}')", p)
		}
		in.Payload = json.RawMessage(p)
	}
	if d := c.String("deadline"); d != "" {
		in.Deadline, err = parseDeadline(d, now)
		if err != nil {
			return in, err
		}
	}
	return in, nil
}

func parseDeadline(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--deadline %q: give a duration from now (30s, 5m) or an RFC3339 time (2026-01-02T15:04:05Z)", s)
	}
	return t, nil
}

func progressPrinter(w io.Writer) func(workflows.TaskStatus) {
	tty := isTerminal(w)
	return func(st workflows.TaskStatus) {
		line := "task " + st.TaskID + ": " + st.Status
		switch st.Status {
		case workflows.StatusQueued:
			line += fmt.Sprintf(" at position %d", st.Position)
		case workflows.StatusRunning:
			line += " for " + time.Since(st.StartedAt).Round(time.Second).String()
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			if workflows.IsTerminal(st.Status) {
				fmt.Fprintln(w)
			}
			return
		}
		fmt.Fprintln(w, line)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printStatus(w io.Writer, st workflows.TaskStatus) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("task", st.TaskID)
	row("pool", st.Pool)
	row("tenant", st.Tenant)
	row("status", st.Status)
	if st.Position > 0 {
		row("position", fmt.Sprint(st.Position))
	}
	row("reason", string(st.Reason))
	row("message", st.Message)
	row("priority", st.Priority.String())
	row("units", fmt.Sprint(st.Units))
	row("submitted", rfc3339(st.SubmittedAt))
	row("started", rfc3339(st.StartedAt))
	row("completed", rfc3339(st.CompletedAt))
	if len(st.Result) > 0 {
		row("result", string(st.Result))
	}
	row("error", st.Error)
	if d := st.Delivery; d != nil {
		line := d.State
		if d.Attempts > 1 {
			line += fmt.Sprintf(" after %d attempts", d.Attempts)
		}
		if d.LastError != "" {
			line += ": " + d.LastError
		}
		row("delivery", line)
		row("webhook", d.Webhook)
	}
	tw.Flush()
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show a task, also after it finished",
		ArgsUsage: "TASK-ID",
		Before:    needOneArg("a task id"),
		Action: withAPI(func(c *cli.Context, a *api.Client) error {
			id := c.Args().First()
			st, err := a.Status(c.Context, id)
			if err != nil {
				return err
			}
			return emit(c, st, func(w io.Writer) { printStatus(w, st) })
		}),
	}
}

func cancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "cancel a task: a queued one is dropped, a running one stopped",
		ArgsUsage: "TASK-ID",
		Before:    needOneArg("a task id"),
		Action: withAPI(func(c *cli.Context, a *api.Client) error {
			id := c.Args().First()
			st, err := a.Cancel(c.Context, id)
			if err != nil {
				return err
			}
			out := map[string]string{"taskId": id, "previousStatus": st.Status, "result": "cancel requested"}
			return emit(c, out, func(w io.Writer) {
				fmt.Fprintf(w, "task %s: cancel requested (was %s)\n", id, st.Status)
			})
		}),
	}
}

func tasksCommand() *cli.Command {
	return &cli.Command{
		Name:  "tasks",
		Usage: "list tasks, newest first, from Temporal visibility",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pool"},
			&cli.StringFlag{Name: "tenant"},
			&cli.StringFlag{Name: "status", Usage: "submitted, queued, running, completed, failed, expired, rejected or dropped"},
			&cli.IntFlag{Name: "limit", Value: 100},
		},
		Action: withAPI(func(c *cli.Context, a *api.Client) error {
			rows, err := a.ListTasks(c.Context, api.TaskFilter{Pool: c.String("pool"), Tenant: c.String("tenant"), Status: c.String("status"), Limit: c.Int("limit")})
			if err != nil {
				return err
			}
			if rows == nil {
				rows = []api.TaskSummary{}
			}
			return emit(c, map[string]any{"tasks": rows}, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "TASK\tPOOL\tTENANT\tSTATUS\tSTARTED")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.TaskID, r.Pool, r.Tenant, r.Status, rfc3339(r.StartedAt))
				}
				tw.Flush()
			})
		}),
	}
}

// needOneArg checks, before anything connects, that the command got exactly
// one argument.
func needOneArg(what string) cli.BeforeFunc {
	return func(c *cli.Context) error {
		_, err := oneArg(c, what)
		return err
	}
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 || strings.TrimSpace(c.Args().First()) == "" {
		return "", fmt.Errorf("%s needs %s: parklot %s %s", c.Command.Name, what, c.Command.Name, c.Command.ArgsUsage)
	}
	return c.Args().First(), nil
}
