package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/storage"
)

// AuditOutput is what `parklot audit` prints: events newest first.
type AuditOutput struct {
	Events []audit.Event `json:"events"`
}

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "show the audit trail of a task, tenant, pool, mailbox or parking subject, newest first",
		Description: "Reads the file and PostgreSQL audit stores of the configuration (--config, else the desktop\n" +
			"defaults in --data-dir), merged newest first. --since is inclusive and --until exclusive, so\n" +
			"adjacent windows never overlap.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "subject", Required: true, Usage: "kind:id, e.g. task:t-42, tenant:acme, pool:gpu, mailbox:acme/u/s"},
			&cli.StringSliceFlag{Name: "type", Usage: "only events of this type; repeat for several"},
			&cli.StringFlag{Name: "since", Usage: "events at or after this RFC3339 time"},
			&cli.StringFlag{Name: "until", Usage: "events before this RFC3339 time"},
			&cli.IntFlag{Name: "limit", Value: audit.DefaultLimit, Usage: fmt.Sprintf("at most this many events, 1..%d", audit.MaxLimit)},
		}, storeFlags()...),
		Action: readAudit,
	}
}

// auditQuery validates every flag before a store is opened, naming the flag
// at fault, and returns the canonical query.
func auditQuery(c *cli.Context) (audit.Query, error) {
	var q audit.Query
	var err error
	if q.Subject, err = audit.ParseSubject(c.String("subject")); err != nil {
		return q, fmt.Errorf("--subject: %w", err)
	}
	for _, t := range c.StringSlice("type") {
		typ := audit.Type(strings.TrimSpace(t))
		if !typ.Valid() {
			return q, fmt.Errorf("--type %q: want one of %s", t, typeNames())
		}
		q.Types = append(q.Types, typ)
	}
	for _, f := range []struct {
		flag string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		s := c.String(f.flag)
		if s == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return q, fmt.Errorf("--%s %q: want an RFC3339 time such as 2025-01-02T15:04:05Z", f.flag, s)
		}
	}
	if q.Limit, err = audit.CheckLimit(c.Int("limit")); err != nil {
		return q, fmt.Errorf("--limit: %w", err)
	}
	// What is left to fail is the window: every other part was checked.
	if q, err = q.Canonical(); err != nil {
		return q, fmt.Errorf("--since/--until: %w", err)
	}
	return q, nil
}

func typeNames() string {
	var names []string
	for _, t := range audit.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

func readAudit(c *cli.Context) error {
	q, err := auditQuery(c)
	if err != nil {
		return err
	}
	cfg, source, err := storeConfig(c)
	if err != nil {
		return err
	}
	stores, err := selectStores(c, "audit", source, cfg.Defaults.Audit, poolStores(cfg, cfg.AuditStore),
		"memory stores live in the worker process and are gone with it; configure a file or postgres audit store to keep a trail")
	if err != nil {
		return err
	}
	opened, closeAll, err := openStores(c.Context, "audit", source, stores, storage.OpenAudit)
	if err != nil {
		return err
	}
	defer closeAll()
	events, err := mergedQuery(c.Context, opened, q)
	if err != nil {
		return err
	}
	return emit(c, AuditOutput{Events: events}, func(w io.Writer) { printEvents(w, q, events) })
}

// mergedQuery runs q on every store and merges the answers newest first
// (audit.NewestFirst), q's limit applied across them: each store returns its
// newest q.Limit matches, so the newest q.Limit of their union are the
// answer.
func mergedQuery(ctx context.Context, stores []openStore[storage.Audit], q audit.Query) ([]audit.Event, error) {
	all := []audit.Event{}
	for _, s := range stores {
		events, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("query audit %s from %s: %w", q.Subject, s.name, err)
		}
		all = append(all, events...)
	}
	slices.SortFunc(all, audit.NewestFirst)
	all = slices.CompactFunc(all, func(a, b audit.Event) bool { return a.EventID == b.EventID })
	return all[:min(q.Limit, len(all))], nil
}

func printEvents(w io.Writer, q audit.Query, events []audit.Event) {
	if len(events) == 0 {
		fmt.Fprintf(w, "no events for %s\n", q.Subject)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tTYPE\tSUBJECTS\tDATA")
	for _, e := range events {
		subjects := make([]string, len(e.Subjects))
		for i, s := range e.Subjects {
			subjects[i] = s.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339Nano), e.Type,
			excerpt(strings.Join(subjects, " "), 60), excerpt(string(e.Data), 60))
	}
	tw.Flush()
	if len(events) == q.Limit {
		fmt.Fprintf(w, "limit %d reached: older events may exist; narrow the window with --since/--until\n", q.Limit)
	}
}
