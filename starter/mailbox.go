package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/urfave/cli/v2"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/storage"
)

// MailboxOutput is what `parklot mailbox` prints: messages oldest first.
type MailboxOutput struct {
	Messages []mailbox.Message `json:"messages"`
}

// Sources of `parklot mailbox --from`.
const (
	fromWorkflow = "workflow"
	fromStore    = "store"
)

func mailboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "mailbox",
		Usage: "read the task outcomes delivered to one mailbox, oldest first",
		Description: "The key (tenant, user, session) is matched exactly: --user u and no --user are two mailboxes.\n" +
			"--from workflow (default) asks the mailbox workflow through Temporal; it works with every store\n" +
			"backend and holds the recent window. --from store reads the file and PostgreSQL stores of the\n" +
			"configuration (--config, else the desktop defaults in --data-dir), which keep the whole history.\n" +
			"Page with --since <messageId of the last message read>.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "tenant", Required: true, Usage: "mailbox tenant"},
			&cli.StringFlag{Name: "user", Usage: "mailbox user (empty is a mailbox of its own)"},
			&cli.StringFlag{Name: "session", Usage: "mailbox session (empty is a mailbox of its own)"},
			&cli.StringFlag{Name: "since", Usage: "read strictly after an RFC3339 time or a messageId from an earlier read"},
			&cli.IntFlag{Name: "limit", Value: mailbox.DefaultLimit, Usage: fmt.Sprintf("at most this many messages, 1..%d", mailbox.MaxLimit)},
			&cli.StringFlag{Name: "from", Value: fromWorkflow, Usage: "workflow (through Temporal) or store (the configuration's file/postgres stores)"},
		}, storeFlags()...),
		Action: readMailbox,
	}
}

// mailboxRead is a validated `parklot mailbox` invocation.
type mailboxRead struct {
	key    mailbox.Key
	since  string
	cursor mailbox.Cursor
	limit  int
	from   string
}

// mailboxFlags validates every flag before anything is dialled or opened,
// naming the flag at fault.
func mailboxFlags(c *cli.Context) (mailboxRead, error) {
	var r mailboxRead
	var err error
	if r.key, err = mailboxKey(c); err != nil {
		return r, err
	}
	r.since = c.String("since")
	if r.cursor, err = mailbox.ParseCursor(r.since); err != nil {
		return r, fmt.Errorf("--since: %w", err)
	}
	if r.limit, err = mailbox.CheckLimit(c.Int("limit")); err != nil {
		return r, fmt.Errorf("--limit: %w", err)
	}
	r.from = c.String("from")
	switch r.from {
	case fromWorkflow:
		for _, f := range []string{"config", "data-dir"} {
			if c.IsSet(f) {
				return r, fmt.Errorf("--%s selects the stores read by --from store; add --from store, or drop --%s to read through the workflow", f, f)
			}
		}
	case fromStore:
	default:
		return r, fmt.Errorf("--from %q: use %s (through Temporal, every backend) or %s (the file/postgres stores of the configuration)", r.from, fromWorkflow, fromStore)
	}
	return r, nil
}

// mailboxKey builds the key field by field so that an error names the flag
// of the field at fault.
func mailboxKey(c *cli.Context) (mailbox.Key, error) {
	var key mailbox.Key
	for _, f := range []struct {
		flag  string
		field *string
	}{{"tenant", &key.Tenant}, {"user", &key.User}, {"session", &key.Session}} {
		*f.field = c.String(f.flag)
		if err := key.Validate(); err != nil {
			return key, fmt.Errorf("--%s: %w", f.flag, err)
		}
	}
	return key, nil
}

func readMailbox(c *cli.Context) error {
	r, err := mailboxFlags(c)
	if err != nil {
		return err
	}
	var msgs []mailbox.Message
	if r.from == fromStore {
		msgs, err = readMailboxStores(c, r)
	} else {
		msgs, err = readMailboxWorkflow(c, r)
	}
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []mailbox.Message{}
	}
	return emit(c, MailboxOutput{Messages: msgs}, func(w io.Writer) { printMessages(w, r, msgs) })
}

func readMailboxWorkflow(c *cli.Context, r mailboxRead) ([]mailbox.Message, error) {
	a, closeFn, err := dial(c)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	return a.Mailbox(c.Context, r.key, r.since, r.limit)
}

func readMailboxStores(c *cli.Context, r mailboxRead) ([]mailbox.Message, error) {
	cfg, source, err := storeConfig(c)
	if err != nil {
		return nil, err
	}
	stores, err := selectStores(c, "mailbox", source, cfg.Defaults.Mailbox, poolStores(cfg, cfg.MailboxStore),
		"memory stores live in the worker process: read them with --from workflow")
	if err != nil {
		return nil, err
	}
	opened, closeAll, err := openStores(c.Context, "mailbox", source, stores, storage.OpenMailbox)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	return mergedRead(c.Context, opened, r.key, r.cursor, r.limit)
}

// mergedRead reads key from every store and merges the answers oldest first
// (mailbox.Compare), limit applied across them. Each store returns its first
// limit messages after the cursor, so the first limit of their union are
// the first limit of the merged mailbox.
//
// A messageId cursor must be known to at least one store (else the error of
// an unknown cursor). Stores that hold it read exactly after it. A store that
// does not hold it, which is the usual case since each pool delivers to its
// own store, contributes the messages that follow the position (t, id) in
// Compare order, with t the creation time carried by the UUIDv7 id
// (messageTime). Ids are assigned from the message's createdAt, so t is the
// cursor message's createdAt and the merged read equals a read of one store
// holding every message: paging with --since <last messageId> neither skips
// nor repeats a message.
func mergedRead(ctx context.Context, stores []openStore[storage.Mailbox], key mailbox.Key, cur mailbox.Cursor, limit int) ([]mailbox.Message, error) {
	var all []mailbox.Message
	var unknown []openStore[storage.Mailbox]
	for _, s := range stores {
		page, err := s.store.Read(ctx, key, cur, limit)
		switch {
		case errors.Is(err, mailbox.ErrCursorNotFound):
			unknown = append(unknown, s)
			continue
		case err != nil:
			return nil, fmt.Errorf("read mailbox %s from %s: %w", key, s.name, err)
		}
		all = append(all, page...)
	}
	if len(unknown) > 0 {
		if len(unknown) == len(stores) {
			return nil, fmt.Errorf("--since: %w", mailbox.CursorNotFoundError(key, cur.MessageID))
		}
		at, ok := messageTime(cur.MessageID)
		if !ok {
			return nil, fmt.Errorf("--since %s: the id carries no creation time (not a UUIDv7), so it cannot be placed in the other stores of this configuration; pass the message's createdAt (RFC3339) instead", cur.MessageID)
		}
		pos := mailbox.Message{MessageID: cur.MessageID, CreatedAt: at}
		for _, s := range unknown {
			page, err := readAfter(ctx, s.store, key, pos, limit)
			if err != nil {
				return nil, fmt.Errorf("read mailbox %s from %s: %w", key, s.name, err)
			}
			all = append(all, page...)
		}
	}
	slices.SortFunc(all, mailbox.Compare)
	// One message can reach two entries only through two spellings of one
	// store; it then sorts next to itself.
	all = slices.CompactFunc(all, func(a, b mailbox.Message) bool { return a.MessageID == b.MessageID })
	return all[:min(limit, len(all))], nil
}

// readAfter returns up to limit messages of key in s that follow pos in
// Compare order. It reads from pos's microsecond on, drops what sorts at or
// before pos within that microsecond, and pages on while a page is used up
// by those drops.
func readAfter(ctx context.Context, s storage.Mailbox, key mailbox.Key, pos mailbox.Message, limit int) ([]mailbox.Message, error) {
	cur := mailbox.Cursor{After: pos.CreatedAt.Add(-time.Microsecond)}
	var out []mailbox.Message
	for {
		page, err := s.Read(ctx, key, cur, limit)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if mailbox.Compare(m, pos) > 0 {
				out = append(out, m)
			}
		}
		if len(out) >= limit || len(page) < limit {
			return out[:min(limit, len(out))], nil
		}
		cur = mailbox.Cursor{MessageID: page[len(page)-1].MessageID}
	}
}

// messageTime is the creation time a message id made by
// mailbox.NewMessageID carries: 48 bits of milliseconds and 12 bits of
// millisecond fraction, which floor the time by less than 245ns. Created
// times are whole microseconds, so rounding up to the microsecond gives the
// createdAt the id was made from exactly.
func messageTime(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	var ms int64
	for _, b := range u[:6] {
		ms = ms<<8 | int64(b)
	}
	frac := int64(u[6]&0x0f)<<8 | int64(u[7])
	ns := ms*int64(time.Millisecond) + frac*int64(time.Millisecond)/4096
	t := time.Unix(0, ns).UTC()
	if tr := t.Truncate(time.Microsecond); !tr.Equal(t) {
		t = tr.Add(time.Microsecond)
	}
	return t, true
}

func printMessages(w io.Writer, r mailboxRead, msgs []mailbox.Message) {
	if len(msgs) == 0 {
		fmt.Fprintf(w, "no messages in mailbox %s", r.key)
		if r.since != "" {
			fmt.Fprintf(w, " after %s", r.since)
		}
		fmt.Fprintln(w)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tTASK\tPOOL\tSTATUS\tREASON\tPAYLOAD")
	for _, m := range msgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.CreatedAt.UTC().Format(time.RFC3339Nano), m.TaskID, m.Pool, m.Status,
			excerpt(m.Reason, 40), excerpt(string(m.Payload), 60))
	}
	tw.Flush()
	if len(msgs) == r.limit {
		fmt.Fprintf(w, "more may follow: --since %s\n", msgs[len(msgs)-1].MessageID)
	}
}

// excerpt keeps a table row on one line and bounded.
func excerpt(s string, runes int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > runes {
		return string(r[:runes-1]) + "…"
	}
	return s
}

// The store-reading commands (mailbox --from store, audit) share what
// follows: which configuration, which of its stores, and opening them.

func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "the worker's YAML or JSON config; relative store paths resolve against the current directory"},
		&cli.StringFlag{Name: "data-dir", Value: ".parklot", Usage: "data directory of the built-in desktop config (the worker without --config)"},
	}
}

// storeConfig loads the configuration whose stores are read and describes
// where it came from, for error messages.
func storeConfig(c *cli.Context) (*config.Config, string, error) {
	if c.IsSet("config") && c.IsSet("data-dir") {
		return nil, "", errors.New("--config and --data-dir: give one; --data-dir is for the built-in desktop config")
	}
	if f := c.String("config"); f != "" {
		cfg, err := config.Load(f)
		if err != nil {
			return nil, "", fmt.Errorf("--config %s: %w", f, err)
		}
		return cfg, "--config " + f, nil
	}
	dir := c.String("data-dir")
	cfg, err := config.Default(dir)
	if err != nil {
		return nil, "", fmt.Errorf("built-in config for --data-dir %s: %w", dir, err)
	}
	return cfg, "the built-in config with --data-dir " + dir, nil
}

// poolStores returns the store each configured pool uses, per storeOf
// (Config.MailboxStore or Config.AuditStore), in pool name order.
func poolStores(cfg *config.Config, storeOf func(pool string) config.Store) []config.Store {
	var out []config.Store
	for _, p := range cfg.PoolNames() {
		out = append(out, storeOf(p))
	}
	return out
}

// selectStores returns the distinct non-memory stores among the default and
// the pools' stores (the same file or DSN once), or an error saying why
// none is readable. When some pool's store is memory, its part is missing
// from the answer and a note on stderr says so.
func selectStores(c *cli.Context, what, source string, def config.Store, pools []config.Store, memoryHint string) ([]config.Store, error) {
	var out []config.Store
	seen := map[string]bool{}
	memoryPools := 0
	for i, s := range append([]config.Store{def}, pools...) {
		if s.Backend == config.BackendMemory {
			if i > 0 {
				memoryPools++
			}
			continue
		}
		id := string(s.Backend) + "\x00" + s.Path
		if s.Backend == config.BackendPostgres {
			id = string(s.Backend) + "\x00" + s.DSN
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("every %s store of %s is memory: %s", what, source, memoryHint)
	}
	if memoryPools > 0 {
		fmt.Fprintf(c.App.ErrWriter, "note: %d pool(s) of %s keep %s in memory, which this read does not include\n", memoryPools, source, what)
	}
	return out, nil
}

// openStore is an opened store and the name errors give it (without a DSN).
type openStore[S any] struct {
	name  string
	store S
}

// openStores opens stores with open and returns a function closing them.
// A file store whose file does not exist holds nothing yet and is skipped
// rather than created; if every store is missing, the configuration is
// probably not the worker's, which the error says.
func openStores[S interface{ Close() error }](ctx context.Context, what, source string, stores []config.Store,
	open func(context.Context, storage.Spec) (S, error)) ([]openStore[S], func(), error) {
	var opened []openStore[S]
	closeAll := func() {
		for _, s := range opened {
			_ = s.store.Close()
		}
	}
	var missing []string
	for _, st := range stores {
		if st.Backend == config.BackendFile {
			if _, err := os.Stat(st.Path); errors.Is(err, os.ErrNotExist) {
				missing = append(missing, st.Path)
				continue
			}
		}
		s, err := open(ctx, storage.Spec{Backend: string(st.Backend), Path: st.Path, DSN: st.DSN})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s store %s: %w", what, st, err)
		}
		opened = append(opened, openStore[S]{name: st.String(), store: s})
	}
	if len(opened) == 0 {
		return nil, nil, fmt.Errorf("no %s store of %s exists yet (%s not found): point --config or --data-dir at the worker's stores",
			what, source, strings.Join(missing, ", "))
	}
	return opened, closeAll, nil
}
