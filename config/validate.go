package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	// Embedded zone data makes a timezone valid or invalid the same way on every
	// host, including minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Problem is one mistake in a configuration: the key path it concerns and a
// message that says what is wrong and how to fix it.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String formats the problem as "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every mistake found in a configuration; it is the error that
// Load, Parse, Default and Validate return for invalid input.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Validate checks the configuration as it stands and returns Problems listing
// every mistake, or nil. It does not read the environment: an unresolved
// dsn_env or secret_env is reported as unset.
func (c *Config) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return ps
	}
	return nil
}

// namePattern keeps pool and lot names usable inside workflow ids.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// labelPattern keeps level and row names usable inside spot ids.
var labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

var notNameChars = regexp.MustCompile(`[^a-z0-9_-]+`)

type checker struct {
	ps Problems
}

func (ch *checker) add(path, format string, args ...any) {
	ch.ps = append(ch.ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *Config) problems() Problems {
	ch := &checker{}
	ch.temporal(c.Temporal)
	ch.address("http.address", c.HTTP.Address, "127.0.0.1:8080", true)
	ch.http(c.HTTP)
	ch.defaults(c.Defaults)
	for _, name := range c.PoolNames() {
		ch.pool("pools."+name, name, c.Pools[name])
	}
	for _, name := range c.LotNames() {
		before := len(ch.ps)
		ch.lot("lots."+name, name, c.Lots[name])
		if len(ch.ps) > before {
			continue
		}
		// The parking domain has limits of its own (spot id lengths,
		// multiplier and fee bounds, contiguous runs); building the lot
		// here reports them at validate time rather than at worker start.
		if _, err := c.Lots[name].Spec(name); err != nil {
			var ps Problems
			if errors.As(err, &ps) {
				ch.ps = append(ch.ps, ps...)
			} else {
				ch.add("lots."+name, "%v", err)
			}
		}
	}
	return ch.ps
}

func (ch *checker) http(h HTTP) {
	if h.MaxBodyBytes < 0 {
		ch.add("http.max_body_bytes", "must not be negative, got %d; use 0 for the default of 1 MiB", h.MaxBodyBytes)
	}
	ch.notNegative("http.request_timeout", h.RequestTimeout, "30s")
	for path, name := range map[string]string{"http.tenant_header": h.TenantHeader, "http.user_header": h.UserHeader, "http.session_header": h.SessionHeader} {
		if name != "" && !headerPattern.MatchString(name) {
			ch.add(path, "%q is not a valid HTTP header name; use letters, digits and dashes, e.g. X-Tenant", name)
		}
	}
	if u := h.TemporalUIURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		ch.add("http.temporal_ui_url", "%q is not an http(s) URL; write e.g. https://temporal-ui.example.com", u)
	}
}

// headerPattern is the token syntax of an HTTP header name.
var headerPattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

func (ch *checker) temporal(t Temporal) {
	ch.address("temporal.address", t.Address, "127.0.0.1:7233", false)
	if t.Namespace == "" {
		ch.add("temporal.namespace", "missing; set it or TEMPORAL_NAMESPACE, e.g. default")
	}
	if t.TaskQueue == "" {
		ch.add("temporal.task_queue", "missing; set it or PARKLOT_TASK_QUEUE, e.g. parklot")
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		if t.TLS.CertFile == "" {
			ch.add("temporal.tls.cert_file", "missing while key_file is set; a client certificate needs both (TEMPORAL_TLS_CERT)")
		} else {
			ch.add("temporal.tls.key_file", "missing while cert_file is set; a client certificate needs both (TEMPORAL_TLS_KEY)")
		}
	}
	for _, f := range []struct{ key, file string }{
		{"cert_file", t.TLS.CertFile}, {"key_file", t.TLS.KeyFile}, {"ca_file", t.TLS.CAFile},
	} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			ch.add("temporal.tls."+f.key, "cannot read %q: %v; give the path of a PEM file (relative paths start at the working directory)", f.file, unwrapPathError(err))
		}
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// address accepts host:port; a listener may leave the host empty or use port 0.
func (ch *checker) address(path, addr, example string, listen bool) {
	if addr == "" {
		ch.add(path, "missing; give host:port, e.g. %s", example)
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		ch.add(path, "%q is not host:port; write e.g. %s", addr, example)
		return
	}
	n, err := strconv.Atoi(port)
	low := 1
	if listen {
		low = 0
	}
	if err != nil || n < low || n > 65535 {
		ch.add(path, "port %q is not a number in %d..65535; write e.g. %s", port, low, example)
		return
	}
	if host == "" && !listen {
		ch.add(path, "%q has no host; write e.g. %s", addr, example)
	}
}

func (ch *checker) defaults(d Defaults) {
	ch.positive("defaults.default_timeout", d.DefaultTimeout, "60s")
	ch.atLeast("defaults.max_queue_depth", d.MaxQueueDepth, 0, "use 0 to reject instead of queueing")
	ch.positive("defaults.lease_check_interval", d.LeaseCheckInterval, "30s")
	ch.positive("defaults.delivery_give_up", d.DeliveryGiveUp, "24h")
	ch.store("defaults.mailbox", d.Mailbox, "mailbox.db")
	ch.store("defaults.audit", d.Audit, "audit.db")
}

func (ch *checker) positive(path string, d time.Duration, example string) {
	if d <= 0 {
		ch.add(path, "must be greater than 0, got %s; write e.g. %q", dur(d), example)
	}
}

// dur prints a duration the way the file writes it: 1h, not 1h0m0s.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (ch *checker) notNegative(path string, d time.Duration, example string) {
	if d < 0 {
		ch.add(path, "must not be negative, got %s; write e.g. %q", dur(d), example)
	}
}

func (ch *checker) atLeast(path string, n, low int, fix string) {
	if n < low {
		ch.add(path, "must be at least %d, got %d; %s", low, n, fix)
	}
}

func (ch *checker) money(path string, n int64) {
	if n < 0 {
		ch.add(path, "must not be negative, got %d; amounts are whole minor units (cents), 0 or more", n)
	}
}

var backends = []string{string(BackendMemory), string(BackendFile), string(BackendPostgres)}

func (ch *checker) store(path string, s Store, file string) {
	switch s.Backend {
	case "":
		ch.add(path+".backend", "missing; use %s", orList(backends))
		return
	case BackendMemory:
		if s.Path != "" || s.DSN != "" || s.DSNEnv != "" {
			ch.add(path+".backend", "memory keeps nothing, so path, dsn and dsn_env do not apply; remove them or use backend: file")
		}
	case BackendFile:
		if s.Path == "" {
			ch.add(path+".path", "missing; the file backend needs the SQLite file, e.g. path: ./.parklot/%s", file)
		}
		if s.DSN != "" || s.DSNEnv != "" {
			ch.add(path+".backend", "dsn and dsn_env belong to backend: postgres; remove them or change the backend")
		}
	case BackendPostgres:
		switch {
		case s.DSN == "" && s.DSNEnv == "":
			ch.add(path+".dsn", "missing; set dsn_env to the name of an environment variable holding the DSN (e.g. dsn_env: PARKLOT_POSTGRES_DSN), or dsn itself")
		case s.DSN == "":
			ch.add(path+".dsn_env", "environment variable %s is not set or empty; export it, e.g. %s='postgres://parklot:secret@127.0.0.1:5432/parklot?sslmode=disable'", s.DSNEnv, s.DSNEnv)
		}
		if s.Path != "" {
			ch.add(path+".path", "path belongs to backend: file; remove it")
		}
	default:
		ch.add(path+".backend", "unknown backend %q; %s", s.Backend, choose(string(s.Backend), backends))
	}
}

// choose words the fix for an unknown enum value, with a suggestion when the
// value looks like a typo of a valid one.
func choose(got string, valid []string) string {
	fix := "use " + orList(valid)
	if s := suggest(got, valid); s != "" {
		fix = fmt.Sprintf("did you mean %s? valid: %s", s, strings.Join(valid, ", "))
	}
	return fix
}

func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func enum[T ~string](ch *checker, path string, got T, valid ...T) {
	names := make([]string, len(valid))
	for i, v := range valid {
		if v == got {
			return
		}
		names[i] = string(v)
	}
	if got == "" {
		ch.add(path, "missing; use %s", orList(names))
		return
	}
	ch.add(path, "unknown value %q; %s", got, choose(string(got), names))
}

func (ch *checker) name(path, kind, name string) {
	if namePattern.MatchString(name) {
		return
	}
	fix := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(name), "-"), "-_")
	msg := fmt.Sprintf("invalid %s name %q; it becomes part of a workflow id, so use lower-case letters, digits, '_' and '-', starting with a letter or digit", kind, name)
	if fix != "" {
		msg += fmt.Sprintf(", e.g. %q", fix)
	}
	ch.add(path, "%s", msg)
}

func (ch *checker) pool(path, name string, p Pool) {
	ch.name(path, "pool", name)
	if p.MaxUnits < 0 {
		ch.add(path+".max_units", "must not be negative, got %d; use 0 to reject every task, or the pool's capacity", p.MaxUnits)
	}
	ch.atLeast(path+".max_queue_depth", p.MaxQueueDepth, 0, "use 0 to reject instead of queueing")
	ch.positive(path+".default_timeout", p.DefaultTimeout, "120s")
	enum(ch, path+".priority_policy", p.PriorityPolicy, PolicyStrict, PolicyFair)
	enum(ch, path+".state", p.State, StateActive, StateDraining, StateDisabled)
	ch.positive(path+".lease_check_interval", p.LeaseCheckInterval, "30s")
	ch.atLeast(path+".shards", p.Shards, 1, "use 1 for a single pool manager")
	if p.Shards > 1 {
		// Accepting the key and running one manager anyway would mislead.
		ch.add(path+".shards", "%d shards are not supported yet: every pool runs one manager; remove the key or set it to 1", p.Shards)
	}
	if p.Mailbox != nil {
		ch.store(path+".mailbox", *p.Mailbox, "mailbox.db")
	}
	if p.Audit != nil {
		ch.store(path+".audit", *p.Audit, "audit.db")
	}
	ch.exec(path+".executors.exec", p.Executors.Exec)
	if p.Executors.HTTP != nil {
		ch.httpExecutor(path+".executors.http", *p.Executors.HTTP)
	}
	if p.Webhook != nil {
		ch.webhook(path+".webhook", *p.Webhook)
	}
}

func (ch *checker) exec(path string, e ExecExecutor) {
	for i, cmd := range e.Commands {
		if !filepath.IsAbs(cmd) {
			ch.add(index(path+".commands", i), "%q is not an absolute path; the allow-list matches exact paths, e.g. /usr/bin/python3", cmd)
		}
	}
	if e.MaxOutputBytes <= 0 {
		ch.add(path+".max_output_bytes", "must be greater than 0, got %d; e.g. 65536", e.MaxOutputBytes)
	}
	for _, k := range sortedKeys(e.Env) {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			ch.add(join(path+".env", k), "invalid variable name %q; use letters, digits and '_'", k)
		}
	}
}

func (ch *checker) httpExecutor(path string, h HTTPExecutor) {
	if h.URL == "" {
		ch.add(path+".url", "missing; give the endpoint, e.g. https://runner.example.com/tasks")
	} else if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.add(path+".url", "%q is not an http(s) URL; write e.g. https://runner.example.com/tasks", h.URL)
	}
	ch.positive(path+".timeout", h.Timeout, "30s")
	if h.MaxResponseBytes <= 0 {
		ch.add(path+".max_response_bytes", "must be greater than 0, got %d; e.g. 1048576", h.MaxResponseBytes)
	}
	for _, k := range sortedKeys(h.Headers) {
		if k == "" || strings.ContainsAny(k, ": \t\r\n") {
			ch.add(join(path+".headers", k), "invalid header name %q; use a token such as Authorization", k)
		}
	}
}

// envNamePattern is what a shell accepts as a variable name. Anything else in
// secret_env is most likely the secret itself pasted into the file.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (ch *checker) webhook(path string, w Webhook) {
	const example = "https://gateway.example.com/parklot/webhook"
	if w.URL == "" {
		ch.add(path+".url", "missing; give the receiver's endpoint, e.g. url: %s", example)
	} else if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.add(path+".url", "%q is not an http(s) URL; write e.g. %s", w.URL, example)
	}
	switch {
	case w.SecretEnv != "" && !envNamePattern.MatchString(w.SecretEnv):
		// The value is not echoed: it may be the secret.
		ch.add(path+".secret_env", "is not an environment variable name; secret_env names the variable that holds the secret (e.g. secret_env: PARKLOT_WEBHOOK_SECRET), never the secret itself")
	case w.Secret != "":
	case w.SecretEnv == "":
		ch.add(path+".secret_env", "missing; name the environment variable holding the signing secret, e.g. secret_env: PARKLOT_WEBHOOK_SECRET")
	default:
		ch.add(path+".secret_env", "environment variable %s is not set or empty; export it with the secret the receiver verifies signatures with, e.g. %s=$(openssl rand -hex 32)", w.SecretEnv, w.SecretEnv)
	}
	ch.positive(path+".timeout", w.Timeout, "10s")
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

var (
	strategies = []Strategy{StrategyFirstAvailable, StrategyNearest, StrategyBestFit, StrategyFillLevel}
	spotKinds  = []SpotKind{SpotCompact, SpotRegular, SpotOversized}
)

func (ch *checker) lot(path, name string, l Lot) {
	ch.name(path, "lot", name)
	if l.Timezone == "" {
		ch.add(path+".timezone", "missing; give an IANA time zone such as Europe/Berlin or UTC")
	} else if _, err := time.LoadLocation(l.Timezone); err != nil || l.Timezone == "Local" {
		// "Local" loads, but it would price a lot by wherever the worker runs.
		ch.add(path+".timezone", "unknown time zone %q; use an IANA name such as Europe/Berlin, America/New_York or UTC", l.Timezone)
	}
	switch {
	case l.Currency == "":
		ch.add(path+".currency", "missing; give an ISO 4217 code such as EUR or USD")
	case !currencyPattern.MatchString(l.Currency):
		ch.add(path+".currency", "%q is not an ISO 4217 code; use 3 upper-case letters such as %q", l.Currency, strings.ToUpper(l.Currency))
	}
	enum(ch, path+".strategy", l.Strategy, strategies...)
	ch.atLeast(path+".contiguous_spots", l.ContiguousSpots, 1, "use 1 to give large vehicles oversized spots only")
	ch.notNegative(path+".max_stay", l.MaxStay, "72h")
	ch.levels(path, l)
	ch.pricing(path+".pricing", l.Pricing)
}

func (ch *checker) levels(path string, l Lot) {
	if len(l.Levels) == 0 {
		ch.add(path+".levels", "missing; a lot needs at least one level with one row of spots")
		return
	}
	levelNames := map[string]int{}
	for i, lv := range l.Levels {
		lp := index(path+".levels", i)
		ch.label(lp+".name", "level", "L0", lv.Name, levelNames, i)
		if len(lv.Rows) == 0 {
			ch.add(lp+".rows", "missing; a level needs at least one row of spots")
		}
		rowNames := map[string]int{}
		for j, r := range lv.Rows {
			ch.row(index(lp+".rows", j), r, rowNames, j)
		}
	}
	e := l.Entrance
	ep := path + ".entrance"
	switch {
	case e.Level < 0 || e.Level >= len(l.Levels):
		ch.add(ep+".level", "level %d does not exist; use 0..%d", e.Level, len(l.Levels)-1)
	case e.Row < 0 || e.Row >= len(l.Levels[e.Level].Rows):
		ch.add(ep+".row", "row %d does not exist on level %d; use 0..%d", e.Row, e.Level, len(l.Levels[e.Level].Rows)-1)
	case e.Position < 0 || e.Position >= max(1, l.Levels[e.Level].Rows[e.Row].Count):
		ch.add(ep+".position", "position %d is outside row %d; use 0..%d", e.Position, e.Row, max(1, l.Levels[e.Level].Rows[e.Row].Count)-1)
	}
}

func (ch *checker) label(path, kind, example, name string, seen map[string]int, i int) {
	switch {
	case name == "":
		ch.add(path, "missing; give the %s a short name such as %s", kind, example)
	case !labelPattern.MatchString(name):
		ch.add(path, "invalid %s name %q; it becomes part of spot ids, so use letters, digits, '_' and '-'", kind, name)
	}
	if first, dup := seen[name]; dup && name != "" {
		ch.add(path, "%s name %q is also used by entry %d; names must be unique", kind, name, first)
	} else {
		seen[name] = i
	}
}

func (ch *checker) row(path string, r Row, seen map[string]int, i int) {
	ch.label(path+".name", "row", "A", r.Name, seen, i)
	if len(r.Kinds) == 0 || r.Kind != "" {
		enum(ch, path+".kind", r.Kind, spotKinds...)
	}
	if r.Count < 1 {
		ch.add(path+".count", "must be at least 1, got %d; give the number of spots in the row", r.Count)
		return
	}
	if len(r.Kinds) > 0 {
		if len(r.Kinds) != r.Count {
			ch.add(path+".kinds", "has %d entries but count is %d; give one kind per position, or drop kinds and use kind", len(r.Kinds), r.Count)
		}
		for k, kind := range r.Kinds {
			enum(ch, index(path+".kinds", k), kind, spotKinds...)
		}
	}
	ch.positions(path+".accessible", r.Accessible, r.Count)
	ch.positions(path+".ev_charging", r.EVCharging, r.Count)
}

func (ch *checker) positions(path string, ps []int, count int) {
	seen := map[int]bool{}
	for i, p := range ps {
		switch {
		case p < 0 || p >= count:
			ch.add(index(path, i), "position %d is outside the row; positions are 0-based, use 0..%d", p, count-1)
		case seen[p]:
			ch.add(index(path, i), "position %d is listed twice; remove one", p)
		}
		seen[p] = true
	}
}

func (ch *checker) pricing(path string, p Pricing) {
	ch.notNegative(path+".grace_period", p.GracePeriod, "10m")
	for i, t := range p.Tiers {
		tp := index(path+".tiers", i)
		if t.UpTo <= 0 {
			ch.add(tp+".up_to", "must be greater than 0, got %s; write e.g. \"1h\"", dur(t.UpTo))
		}
		ch.money(tp+".fee", t.Fee)
		if i == 0 {
			continue
		}
		prev := p.Tiers[i-1]
		if t.UpTo <= prev.UpTo {
			ch.add(tp+".up_to", "%s is not after tiers[%d].up_to (%s); list tiers by strictly increasing up_to", dur(t.UpTo), i-1, dur(prev.UpTo))
		}
		if t.Fee < prev.Fee {
			ch.add(tp+".fee", "%d is less than tiers[%d].fee (%d); a longer stay cannot cost less", t.Fee, i-1, prev.Fee)
		}
	}
	ch.money(path+".hourly_rate", p.HourlyRate)
	ch.money(path+".daily_cap", p.DailyCap)
	ch.money(path+".lost_ticket_fee", p.LostTicketFee)
	for i, pk := range p.Peak {
		pp := index(path+".peak", i)
		if pk.Start < 0 || pk.Start >= 24*60 {
			ch.add(pp+".start", "%s is not a start time; use 00:00..23:59", pk.Start)
		}
		if pk.End <= 0 || pk.End > 24*60 {
			ch.add(pp+".end", "%s is not an end time; use 00:01..24:00", pk.End)
		} else if pk.End <= pk.Start {
			ch.add(pp+".end", "%s is not after start %s; a window cannot cross midnight, split it into two (…-24:00 and 00:00-…)", pk.End, pk.Start)
		}
		ch.multiplier(pp+".multiplier", pk.Multiplier)
		for j := range i {
			if day, ok := overlap(p.Peak[j], pk); ok {
				ch.add(pp, "overlaps peak[%d] on %s; make the windows disjoint so one multiplier applies", j, day)
				break
			}
		}
	}
	if s := p.Surge; s != nil {
		if s.Threshold <= 0 || s.Threshold > 1000 {
			ch.add(path+".surge.threshold", "must be in (0, 1], got %s; it is the occupied share, e.g. 0.9", s.Threshold)
		}
		ch.multiplier(path+".surge.multiplier", s.Multiplier)
	}
}

func (ch *checker) multiplier(path string, m PerMille) {
	if m <= 0 {
		ch.add(path, "must be greater than 0, got %s; e.g. 1.5", m)
	}
}

// overlap reports the first day on which both windows are open at once.
func overlap(a, b Peak) (time.Weekday, bool) {
	if a.Start >= b.End || b.Start >= a.End {
		return 0, false
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if a.AppliesOn(d) && b.AppliesOn(d) {
			return d, true
		}
	}
	return 0, false
}

// requiredHint says what a missing required key is for.
func requiredHint(path, key string) string {
	switch {
	case key == "max_units":
		return "every pool needs its capacity, e.g. max_units: 8 (0 makes the pool reject every task)"
	case strings.HasSuffix(path, ".webhook.url"):
		return "give the receiver's endpoint, e.g. url: https://gateway.example.com/parklot/webhook"
	case key == "secret_env":
		return "name the environment variable holding the signing secret, e.g. secret_env: PARKLOT_WEBHOOK_SECRET"
	case key == "url":
		return "give the endpoint, e.g. url: https://runner.example.com/tasks"
	case key == "timezone":
		return "give an IANA time zone, e.g. timezone: Europe/Berlin"
	case key == "currency":
		return "give an ISO 4217 code, e.g. currency: EUR"
	case key == "up_to":
		return `every tier needs its length, e.g. up_to: "1h"`
	case key == "fee":
		return "every tier needs its total fee in minor units, e.g. fee: 300"
	case key == "start" || key == "end":
		return fmt.Sprintf("a peak window needs start and end, e.g. %s: \"08:00\"", key)
	case key == "threshold":
		return "give the occupied share that starts the surge, e.g. threshold: 0.9"
	case key == "multiplier":
		return "give the factor, e.g. multiplier: 1.5"
	}
	return "set " + path
}
