package config

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// Built-in defaults. They are documented on the fields they fill and in doc.go.
const (
	defaultTemporalAddress  = "127.0.0.1:7233"
	defaultNamespace        = "default"
	defaultTaskQueue        = "parklot"
	defaultHTTPAddress      = "127.0.0.1:8080"
	defaultTimeout          = 60 * time.Second
	defaultQueueDepth       = 100
	defaultLeaseCheck       = 30 * time.Second
	defaultDeliveryGiveUp   = 24 * time.Hour
	defaultDataDir          = ".parklot"
	defaultMaxOutputBytes   = 64 << 10
	defaultHTTPTimeout      = 30 * time.Second
	defaultMaxResponseBytes = 1 << 20
	defaultContiguousSpots  = 2
	defaultWebhookTimeout   = 10 * time.Second

	demoPool       = "demo"
	demoLot        = "demo"
	demoUnits      = 4
	demoQueueDepth = 50
)

// Config is the whole declarative configuration of a Parklot deployment.
type Config struct {
	Temporal Temporal `yaml:"temporal"`
	HTTP     HTTP     `yaml:"http"`
	Defaults Defaults `yaml:"defaults"`
	// Pools by name; a name becomes part of workflow ids (pool/<name>).
	Pools map[string]Pool `yaml:"pools"`
	// Lots (parking) by name; a name becomes part of workflow ids (lot/<name>).
	Lots map[string]Lot `yaml:"lots"`
}

// Temporal says how workers and clients reach the Temporal service.
// Every field can be overridden from the environment (variable in the env tag).
type Temporal struct {
	// Address is host:port of the frontend, default 127.0.0.1:7233.
	Address string `yaml:"address" env:"TEMPORAL_ADDRESS"`
	// Namespace defaults to "default".
	Namespace string `yaml:"namespace" env:"TEMPORAL_NAMESPACE"`
	// TaskQueue every Parklot worker polls, default "parklot".
	TaskQueue string `yaml:"task_queue" env:"PARKLOT_TASK_QUEUE"`
	// APIKey authenticates against Temporal Cloud; keep it in the environment, not in the file.
	APIKey string `yaml:"api_key" env:"TEMPORAL_API_KEY"`
	TLS    TLS    `yaml:"tls"`
}

// UseTLS reports whether the connection must use TLS: any TLS setting asks for it,
// and Temporal Cloud refuses API keys over plain text.
func (t Temporal) UseTLS() bool {
	return t.APIKey != "" || t.TLS != TLS{}
}

// TLS holds the client certificate (mTLS) and server verification settings.
// Relative file names are relative to the working directory.
type TLS struct {
	CertFile   string `yaml:"cert_file" env:"TEMPORAL_TLS_CERT"`
	KeyFile    string `yaml:"key_file" env:"TEMPORAL_TLS_KEY"`
	CAFile     string `yaml:"ca_file" env:"TEMPORAL_TLS_CA"`
	ServerName string `yaml:"server_name" env:"TEMPORAL_TLS_SERVER_NAME"`
}

// HTTP configures the HTTP API listener.
type HTTP struct {
	// Address is host:port to listen on, default 127.0.0.1:8080; port 0 picks a free one.
	Address string `yaml:"address" env:"PARKLOT_HTTP_ADDRESS"`
	// MaxBodyBytes caps request bodies; 0 means 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout bounds every non-streaming request; 0 means 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// TenantHeader, UserHeader and SessionHeader name the headers the
	// upstream gateway sets with the caller's identity; empty means
	// X-Parklot-Tenant, X-Parklot-User and X-Parklot-Session.
	TenantHeader  string `yaml:"tenant_header"`
	UserHeader    string `yaml:"user_header"`
	SessionHeader string `yaml:"session_header"`
	// HeadersAuthoritative makes those headers the only source of identity:
	// a tenant in the path that differs from the header's gets 403.
	HeadersAuthoritative bool `yaml:"headers_authoritative" env:"PARKLOT_HTTP_HEADERS_AUTHORITATIVE"`
	// TemporalUIURL is the Temporal Web UI the dashboard links into (run
	// mode; dev links to its own UI).
	TemporalUIURL string `yaml:"temporal_ui_url" env:"PARKLOT_TEMPORAL_UI_URL"`
}

// Defaults apply to every pool that does not set its own value.
type Defaults struct {
	// DefaultTimeout default 60s.
	DefaultTimeout time.Duration `yaml:"default_timeout"`
	// MaxQueueDepth default 100.
	MaxQueueDepth int `yaml:"max_queue_depth"`
	// LeaseCheckInterval default 30s.
	LeaseCheckInterval time.Duration `yaml:"lease_check_interval"`
	// DeliveryGiveUp is how long a task keeps retrying to deliver its
	// outcome into an unreachable mailbox store before it records
	// delivery_failed; default 24h.
	DeliveryGiveUp time.Duration `yaml:"delivery_give_up"`
	// Mailbox default: file store ./.parklot/mailbox.db.
	Mailbox Store `yaml:"mailbox"`
	// Audit default: file store ./.parklot/audit.db.
	Audit Store `yaml:"audit"`
}

// Backend names a mailbox or audit store implementation.
type Backend string

// Store backends.
const (
	BackendMemory   Backend = "memory"
	BackendFile     Backend = "file"
	BackendPostgres Backend = "postgres"
)

// Store selects and locates a mailbox or audit store.
type Store struct {
	Backend Backend `yaml:"backend"`
	// Path of the SQLite file (file backend). Load and Parse turn a relative path
	// into an absolute one against the working directory at load time, so a later
	// change of directory cannot move the store.
	Path string `yaml:"path"`
	// DSN of the PostgreSQL database (postgres backend). After Load it holds the
	// value of DSNEnv when that was given.
	DSN string `yaml:"dsn"`
	// DSNEnv names the environment variable holding the DSN, which keeps passwords
	// out of the file.
	DSNEnv string `yaml:"dsn_env"`
}

// String describes the store without its DSN, so it is safe to log.
func (s Store) String() string {
	switch {
	case s.Backend == BackendFile:
		return "file " + s.Path
	case s.Backend == BackendPostgres && s.DSNEnv != "":
		return "postgres (dsn from $" + s.DSNEnv + ")"
	default:
		return string(s.Backend)
	}
}

// PriorityPolicy decides how a pool orders its queue.
type PriorityPolicy string

// Priority policies.
const (
	// PolicyStrict serves higher priorities first, whatever the tenant.
	PolicyStrict PriorityPolicy = "strict"
	// PolicyFair orders by priority, then by tenant fairness, then by age.
	PolicyFair PriorityPolicy = "fair"
)

// PoolState is the operator-set admission state of a pool.
type PoolState string

// Pool states.
const (
	StateActive   PoolState = "active"
	StateDraining PoolState = "draining"
	StateDisabled PoolState = "disabled"
)

// Pool is one resource pool.
type Pool struct {
	// MaxUnits is required; 0 is legal and makes the pool reject everything (capacity_zero).
	MaxUnits int `yaml:"max_units" config:"required"`
	// MaxQueueDepth defaults to defaults.max_queue_depth; 0 means no queue.
	MaxQueueDepth int `yaml:"max_queue_depth"`
	// DefaultTimeout defaults to defaults.default_timeout.
	DefaultTimeout time.Duration `yaml:"default_timeout"`
	// PriorityPolicy defaults to fair.
	PriorityPolicy PriorityPolicy `yaml:"priority_policy"`
	// Backfill lets smaller tasks start ahead of a blocked head of queue.
	Backfill bool `yaml:"backfill"`
	// State defaults to active.
	State PoolState `yaml:"state"`
	// LeaseCheckInterval defaults to defaults.lease_check_interval.
	LeaseCheckInterval time.Duration `yaml:"lease_check_interval"`
	// Shards defaults to 1.
	Shards int `yaml:"shards"`
	// Mailbox and Audit override the defaults when set; use Config.MailboxStore
	// and Config.AuditStore rather than reading them.
	Mailbox   *Store    `yaml:"mailbox"`
	Audit     *Store    `yaml:"audit"`
	Executors Executors `yaml:"executors"`
	// Webhook is nil when the pool's outcomes are not pushed anywhere.
	Webhook *Webhook `yaml:"webhook"`
}

// Webhook POSTs every message the pool's tasks leave in a mailbox to a URL,
// signed with HMAC-SHA256 (see package notifier), so a gateway can push
// outcomes to its clients.
type Webhook struct {
	// URL is the http(s) endpoint of the receiver.
	URL string `yaml:"url" config:"required"`
	// SecretEnv names the environment variable holding the signing secret,
	// which keeps it out of the file.
	SecretEnv string `yaml:"secret_env" config:"required"`
	// Secret is the value of SecretEnv, read by Load and Parse. The file
	// cannot set it; a Webhook built in code may set it instead of SecretEnv.
	Secret string `yaml:"-" json:"-"`
	// Timeout per attempt, default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// String describes the webhook without its secret, so it is safe to log.
func (w Webhook) String() string {
	shown := w.URL
	if u, err := url.Parse(w.URL); err == nil {
		shown = u.Redacted()
	}
	if w.SecretEnv == "" {
		return "webhook " + shown
	}
	return "webhook " + shown + " (secret from $" + w.SecretEnv + ")"
}

// Executors configures how a pool's tasks may run.
type Executors struct {
	Exec ExecExecutor `yaml:"exec"`
	// HTTP is nil when the pool has no HTTP executor.
	HTTP *HTTPExecutor `yaml:"http"`
}

// ExecExecutor runs local commands.
type ExecExecutor struct {
	Enabled bool `yaml:"enabled"`
	// Commands is the allow-list of absolute paths; empty with Enabled means any command.
	Commands []string `yaml:"commands"`
	// MaxOutputBytes caps captured output, default 65536.
	MaxOutputBytes int `yaml:"max_output_bytes"`
	// Env is the environment given to the command (not read from this process).
	Env map[string]string `yaml:"env"`
}

// HTTPExecutor posts tasks to an HTTP endpoint.
type HTTPExecutor struct {
	URL string `yaml:"url" config:"required"`
	// Timeout per request, default 30s.
	Timeout time.Duration     `yaml:"timeout"`
	Headers map[string]string `yaml:"headers"`
	// MaxResponseBytes caps the response body read, default 1 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
}

// Strategy is a parking lot's spot allocation strategy.
type Strategy string

// Allocation strategies.
const (
	StrategyFirstAvailable Strategy = "first_available"
	StrategyNearest        Strategy = "nearest"
	StrategyBestFit        Strategy = "best_fit"
	StrategyFillLevel      Strategy = "fill_level"
)

// SpotKind is the physical size class of a parking spot.
type SpotKind string

// Spot kinds.
const (
	SpotCompact   SpotKind = "compact"
	SpotRegular   SpotKind = "regular"
	SpotOversized SpotKind = "oversized"
)

// Lot is one parking lot.
type Lot struct {
	// Timezone is an IANA name; peak windows are local to it. Required.
	Timezone string `yaml:"timezone" config:"required"`
	// Currency is an ISO 4217 code; every amount is in its minor unit. Required.
	Currency string `yaml:"currency" config:"required"`
	// Strategy defaults to first_available.
	Strategy Strategy `yaml:"strategy"`
	// ContiguousSpots is how many adjacent regular spots of one row a large
	// vehicle may take when no oversized spot is free; default 2, 1 disables it.
	ContiguousSpots int `yaml:"contiguous_spots"`
	// AllowOverflow lets accessible and EV spots go to other vehicles when nothing else is free.
	AllowOverflow bool `yaml:"allow_overflow"`
	// MaxStay of 0 means no limit.
	MaxStay time.Duration `yaml:"max_stay"`
	// Entrance is where "nearest" measures from; default level 0, row 0, position 0.
	Entrance Position `yaml:"entrance"`
	Levels   []Level  `yaml:"levels"`
	Pricing  Pricing  `yaml:"pricing"`
}

// Location returns the lot's time zone. Validation guarantees it loads;
// UTC stands in for an unvalidated, unloadable name.
func (l Lot) Location() *time.Location {
	loc, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Position addresses a spot by 0-based level, row and position indexes.
type Position struct {
	Level    int `yaml:"level"`
	Row      int `yaml:"row"`
	Position int `yaml:"position"`
}

// Level is one floor of a lot.
type Level struct {
	Name string `yaml:"name"`
	Rows []Row  `yaml:"rows"`
}

// Row is a line of spots on one level.
type Row struct {
	Name string `yaml:"name"`
	// Kind of every spot unless Kinds is given; default regular.
	Kind  SpotKind `yaml:"kind"`
	Count int      `yaml:"count"`
	// Kinds, when given, sets each position's kind and must have Count entries.
	Kinds []SpotKind `yaml:"kinds"`
	// Accessible and EVCharging list 0-based positions.
	Accessible []int `yaml:"accessible"`
	EVCharging []int `yaml:"ev_charging"`
}

// SpotKind returns the kind of the spot at position pos.
func (r Row) SpotKind(pos int) SpotKind {
	if len(r.Kinds) > 0 && pos >= 0 && pos < len(r.Kinds) {
		return r.Kinds[pos]
	}
	return r.Kind
}

// Pricing is a lot's tariff. Money is an integer count of the currency's minor unit.
type Pricing struct {
	// GracePeriod is free time after entry.
	GracePeriod time.Duration `yaml:"grace_period"`
	// Tiers are cumulative fees for stays up to a duration, in increasing order.
	Tiers []Tier `yaml:"tiers"`
	// HourlyRate is charged per started hour after the last tier.
	HourlyRate int64 `yaml:"hourly_rate"`
	// DailyCap of 0 means no cap.
	DailyCap      int64  `yaml:"daily_cap"`
	LostTicketFee int64  `yaml:"lost_ticket_fee"`
	Peak          []Peak `yaml:"peak"`
	// Surge is nil when occupancy does not change the price.
	Surge *Surge `yaml:"surge"`
}

// Tier is the total fee for a stay of at most UpTo.
type Tier struct {
	UpTo time.Duration `yaml:"up_to" config:"required"`
	Fee  int64         `yaml:"fee" config:"required"`
}

// Peak is a recurring local-time window with a price multiplier.
type Peak struct {
	// Days it applies on; empty means every day.
	Days  []time.Weekday `yaml:"days"`
	Start TimeOfDay      `yaml:"start" config:"required"`
	// End is exclusive and may be 24:00; a window never crosses midnight.
	End        TimeOfDay `yaml:"end" config:"required"`
	Multiplier PerMille  `yaml:"multiplier" config:"required"`
}

// AppliesOn reports whether the window is active on day d.
func (p Peak) AppliesOn(d time.Weekday) bool {
	return len(p.Days) == 0 || slices.Contains(p.Days, d)
}

// Surge raises prices when occupancy reaches Threshold.
type Surge struct {
	// Threshold is the occupied fraction in per mille (900 = 90 %), in (0, 1000].
	Threshold  PerMille `yaml:"threshold" config:"required"`
	Multiplier PerMille `yaml:"multiplier" config:"required"`
}

// PerMille is a decimal factor in thousandths: the file's 1.5 is 1500. It keeps
// money arithmetic in integers.
type PerMille int64

// String formats p as the decimal written in the file.
func (p PerMille) String() string {
	s := strconv.FormatFloat(float64(p)/1000, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// TimeOfDay is a wall-clock time in minutes after local midnight; 1440 is 24:00.
type TimeOfDay int

// String formats t as HH:MM.
func (t TimeOfDay) String() string {
	return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60)
}

// Format is the syntax of a configuration file.
type Format int

// Formats.
const (
	FormatYAML Format = iota
	FormatJSON
)

// String names the format.
func (f Format) String() string {
	if f == FormatJSON {
		return "JSON"
	}
	return "YAML"
}

// FormatOf picks the format from a file name: .json is JSON, anything else YAML.
func FormatOf(path string) Format {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return FormatJSON
	}
	return FormatYAML
}

// Load reads the file at path and returns its configuration, resolved and
// validated as Parse does. A file that cannot be read gives the os error; a file
// with mistakes gives Problems, which list every mistake. The caller names the
// file when it reports the error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, FormatOf(path))
}

// Parse decodes data strictly (an unknown key is an error), fills defaults,
// applies environment overrides, resolves dsn_env and secret_env, makes store
// paths absolute and validates. Any mistake yields Problems naming every one
// of them.
func Parse(data []byte, format Format) (*Config, error) {
	root, err := parseNode(data, format)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	d := newDecoder(c)
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	return finish(c, d)
}

// Default returns the built-in desktop configuration that `parklot-worker dev`
// uses without --config: one pool "demo" of 4 units, queue depth 50, fair, a
// small garage "demo" (two levels, 22 spots), with
// file stores in dataDir (default ./.parklot). Environment overrides apply as
// they do to a loaded file, which is why it can fail.
func Default(dataDir string) (*Config, error) {
	if dataDir == "" {
		dataDir = defaultDataDir
	}
	c := builtin()
	c.Defaults.Mailbox.Path = filepath.Join(dataDir, "mailbox.db")
	c.Defaults.Audit.Path = filepath.Join(dataDir, "audit.db")
	demo := newPool(c.Defaults)
	demo.MaxUnits = demoUnits
	demo.MaxQueueDepth = demoQueueDepth
	demo.PriorityPolicy = PolicyFair
	c.Pools = map[string]Pool{demoPool: demo}
	c.Lots = map[string]Lot{demoLot: demoGarage()}
	return finish(c, newDecoder(c))
}

// demoGarage is the built-in config's small garage: two levels, an EV spot,
// compact and oversized spots, and tiered pricing, enough to try every
// parking command.
func demoGarage() Lot {
	l := newLot()
	l.Timezone, l.Currency, l.Strategy = "UTC", "EUR", StrategyNearest
	l.MaxStay = 72 * time.Hour
	l.Levels = []Level{
		{Name: "L0", Rows: []Row{{Name: "A", Kind: SpotRegular, Count: 8, EVCharging: []int{7}}, {Name: "B", Kind: SpotCompact, Count: 4}}},
		{Name: "L1", Rows: []Row{{Name: "A", Kind: SpotRegular, Count: 8}, {Name: "B", Kind: SpotOversized, Count: 2}}},
	}
	l.Pricing = Pricing{
		GracePeriod: 10 * time.Minute,
		Tiers:       []Tier{{UpTo: time.Hour, Fee: 300}, {UpTo: 3 * time.Hour, Fee: 800}},
		HourlyRate:  250, DailyCap: 2500, LostTicketFee: 5000,
	}
	return l
}

// PoolNames returns the configured pool names in sorted order, so that callers
// that start one workflow per pool do so deterministically.
func (c *Config) PoolNames() []string {
	return slices.Sorted(maps.Keys(c.Pools))
}

// LotNames returns the configured lot names in sorted order.
func (c *Config) LotNames() []string {
	return slices.Sorted(maps.Keys(c.Lots))
}

// MailboxStore returns the mailbox store of pool: its own override, else the
// default (also for a pool that is not configured).
func (c *Config) MailboxStore(pool string) Store {
	if p, ok := c.Pools[pool]; ok && p.Mailbox != nil {
		return *p.Mailbox
	}
	return c.Defaults.Mailbox
}

// AuditStore returns the audit store of pool: its own override, else the default.
func (c *Config) AuditStore(pool string) Store {
	if p, ok := c.Pools[pool]; ok && p.Audit != nil {
		return *p.Audit
	}
	return c.Defaults.Audit
}

// builtin is the configuration of an empty file.
func builtin() *Config {
	return &Config{
		Temporal: Temporal{Address: defaultTemporalAddress, Namespace: defaultNamespace, TaskQueue: defaultTaskQueue},
		HTTP:     HTTP{Address: defaultHTTPAddress},
		Defaults: Defaults{
			DefaultTimeout:     defaultTimeout,
			MaxQueueDepth:      defaultQueueDepth,
			LeaseCheckInterval: defaultLeaseCheck,
			DeliveryGiveUp:     defaultDeliveryGiveUp,
			Mailbox:            Store{Backend: BackendFile, Path: filepath.Join(".", defaultDataDir, "mailbox.db")},
			Audit:              Store{Backend: BackendFile, Path: filepath.Join(".", defaultDataDir, "audit.db")},
		},
	}
}

// newPool is a pool before its own keys are applied: it inherits from d.
func newPool(d Defaults) Pool {
	return Pool{
		MaxQueueDepth:      d.MaxQueueDepth,
		DefaultTimeout:     d.DefaultTimeout,
		PriorityPolicy:     PolicyFair,
		State:              StateActive,
		LeaseCheckInterval: d.LeaseCheckInterval,
		Shards:             1,
		Executors:          Executors{Exec: newExec()},
	}
}

func newExec() ExecExecutor {
	return ExecExecutor{MaxOutputBytes: defaultMaxOutputBytes}
}

func newHTTPExecutor() HTTPExecutor {
	return HTTPExecutor{Timeout: defaultHTTPTimeout, MaxResponseBytes: defaultMaxResponseBytes}
}

func newWebhook() Webhook {
	return Webhook{Timeout: defaultWebhookTimeout}
}

func newLot() Lot {
	return Lot{Strategy: StrategyFirstAvailable, ContiguousSpots: defaultContiguousSpots}
}

// finish runs the steps shared by Parse and Default after decoding: environment,
// store resolution, validation, and the merge of every problem found on the way.
func finish(c *Config, d *decoder) (*Config, error) {
	var ps Problems
	ps = append(ps, applyEnv(c, d.sources)...)
	ps = append(ps, resolveStores(c, d.sources)...)
	resolveWebhooks(c)
	for _, p := range c.problems() {
		if !d.covers(p.Path) {
			ps = append(ps, p)
		}
	}
	all := d.located(ps)
	if len(all) > 0 {
		return nil, all
	}
	return c, nil
}

// applyEnv overrides Temporal and HTTP settings from the environment. An empty
// variable counts as unset, so `export TEMPORAL_API_KEY=` cannot blank a key.
func applyEnv(c *Config, sources map[string]string) Problems {
	paths := envPaths()
	var ps Problems
	opts := env.Options{OnSet: func(name string, value any, _ bool) {
		if s, ok := value.(string); ok && s != "" {
			sources[paths[name]] = name
		}
	}}
	for _, target := range []any{&c.Temporal, &c.HTTP} {
		if err := env.ParseWithOptions(target, opts); err != nil {
			ps = append(ps, Problem{Path: "environment", Message: err.Error()})
		}
	}
	return ps
}

// envPaths maps each environment variable to the config key it overrides, so a
// problem with an overridden value can name the variable it came from.
func envPaths() map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for f := range t.Fields() {
			key := join(prefix, yamlName(f))
			if name := f.Tag.Get("env"); name != "" {
				out[name] = key
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key)
			}
		}
	}
	walk(reflect.TypeFor[Temporal](), "temporal")
	walk(reflect.TypeFor[HTTP](), "http")
	return out
}

// storeRef is one store of the configuration with its key path.
type storeRef struct {
	path  string
	store *Store
}

func (c *Config) stores() []storeRef {
	refs := []storeRef{
		{"defaults.mailbox", &c.Defaults.Mailbox},
		{"defaults.audit", &c.Defaults.Audit},
	}
	for _, name := range c.PoolNames() {
		p := c.Pools[name]
		if p.Mailbox != nil {
			refs = append(refs, storeRef{"pools." + name + ".mailbox", p.Mailbox})
		}
		if p.Audit != nil {
			refs = append(refs, storeRef{"pools." + name + ".audit", p.Audit})
		}
	}
	return refs
}

// resolveStores reads dsn_env variables into DSN and anchors relative file
// paths to the working directory.
func resolveStores(c *Config, sources map[string]string) Problems {
	var ps Problems
	for _, ref := range c.stores() {
		s := ref.store
		if s.DSNEnv != "" {
			if s.DSN != "" {
				ps = append(ps, Problem{Path: ref.path + ".dsn_env", Message: "dsn and dsn_env are both set; keep dsn_env and remove dsn, so the password stays out of the file"})
				continue
			}
			if v, ok := os.LookupEnv(s.DSNEnv); ok && v != "" {
				s.DSN = v
				sources[ref.path+".dsn"] = s.DSNEnv
			}
		}
		if s.Backend == BackendFile && s.Path != "" && !filepath.IsAbs(s.Path) {
			abs, err := filepath.Abs(s.Path)
			if err != nil {
				ps = append(ps, Problem{Path: ref.path + ".path", Message: fmt.Sprintf("cannot resolve %q against the working directory: %v; use an absolute path", s.Path, err)})
				continue
			}
			s.Path = abs
		}
	}
	return ps
}

// resolveWebhooks reads each webhook's secret_env into Secret. An unset or
// empty variable leaves Secret empty, which validation reports.
func resolveWebhooks(c *Config) {
	for _, name := range c.PoolNames() {
		w := c.Pools[name].Webhook
		if w == nil || w.SecretEnv == "" {
			continue
		}
		if v, ok := os.LookupEnv(w.SecretEnv); ok && v != "" {
			w.Secret = v
		}
	}
}

// parseNode turns data into a YAML node tree; JSON is read by encoding/json so
// that it is held to JSON's own grammar.
func parseNode(data []byte, format Format) (*yaml.Node, error) {
	if format == FormatJSON {
		return jsonNode(data)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return nil, Problems{{Message: "invalid YAML: " + msg + "; check indentation and quoting"}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, nil
	}
	return doc.Content[0], nil
}
