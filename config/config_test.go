package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file with one pool and one lot; tests append
// to it or replace parts of it.
const minimal = `
pools:
  gpu:
    max_units: 24
lots:
  downtown:
    timezone: Europe/Berlin
    currency: EUR
    levels:
      - name: L0
        rows:
          - {name: A, count: 20}
`

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), FormatYAML)
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return c
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %T: %v", err, err)
	}
	return ps
}

func findProblem(ps Problems, path string) (Problem, bool) {
	for _, p := range ps {
		if p.Path == path {
			return p, true
		}
	}
	return Problem{}, false
}

// TestMain unsets the variables that override the file, so that a developer
// whose shell exports TEMPORAL_ADDRESS for Temporal Cloud gets the same results
// as CI. Tests that need them set them with t.Setenv.
func TestMain(m *testing.M) {
	for name := range envPaths() {
		os.Unsetenv(name)
	}
	os.Exit(m.Run())
}

func TestEveryExampleIsValid(t *testing.T) {
	t.Setenv("PARKLOT_POSTGRES_DSN", "postgres://parklot:secret@127.0.0.1:5432/parklot?sslmode=disable")
	t.Setenv("PARKLOT_AUDIT_DSN", "postgres://audit:secret@127.0.0.1:5432/audit?sslmode=disable")
	t.Setenv("TEMPORAL_API_KEY", "test-key")
	t.Setenv("PARKLOT_WEBHOOK_SECRET", "test-webhook-secret")
	files, err := filepath.Glob("examples/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Fatalf("%s is invalid:\n%v", f, err)
			}
		})
	}
}

func TestExamplesSayWhatTheyPromise(t *testing.T) {
	t.Setenv("PARKLOT_POSTGRES_DSN", "postgres://main")
	t.Setenv("PARKLOT_AUDIT_DSN", "postgres://audit")
	t.Setenv("PARKLOT_WEBHOOK_SECRET", "gateway-secret")

	desktop, err := Load("examples/desktop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := desktop.PoolNames(); !slices.Equal(got, []string{"cpu", "demo", "gpu"}) {
		t.Errorf("desktop pools = %v", got)
	}
	if p := desktop.Pools["gpu"]; p.MaxUnits != 24 || p.PriorityPolicy != PolicyFair {
		t.Errorf("desktop gpu = %+v, want 24 units fair", p)
	}
	if p := desktop.Pools["cpu"]; p.MaxUnits != 8 || p.PriorityPolicy != PolicyStrict {
		t.Errorf("desktop cpu = %+v, want 8 units strict", p)
	}
	if s := desktop.MailboxStore("gpu"); s.Backend != BackendFile {
		t.Errorf("desktop mailbox = %v, want a file store", s)
	}

	cloud, err := Load("examples/cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s := cloud.MailboxStore("agents"); s.Backend != BackendPostgres || s.DSN != "postgres://main" {
		t.Errorf("cloud mailbox = %+v, want postgres from PARKLOT_POSTGRES_DSN", s)
	}
	if s := cloud.AuditStore("gpu-a100"); s.DSN != "postgres://audit" {
		t.Errorf("cloud gpu-a100 audit = %+v, want its own database", s)
	}
	if w := cloud.Pools["agents"].Webhook; w == nil || w.Secret != "gateway-secret" || !strings.HasPrefix(w.URL, "https://") {
		t.Errorf("cloud agents webhook = %+v, want https with the secret from PARKLOT_WEBHOOK_SECRET", w)
	}

	garage, err := Load("examples/garage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lot := garage.Lots["central-garage"]
	if len(lot.Levels) != 3 || lot.Pricing.Surge == nil || lot.Pricing.DailyCap == 0 || len(lot.Pricing.Peak) == 0 {
		t.Errorf("garage lot is not the promised three levels with surge, cap and peaks: %+v", lot)
	}
	if lot.Pricing.Peak[0].Multiplier != 1500 || lot.Pricing.Surge.Threshold != 900 {
		t.Errorf("garage multipliers = %d, %d; want 1500 and 900 per mille", lot.Pricing.Peak[0].Multiplier, lot.Pricing.Surge.Threshold)
	}
}

func TestMissingKeysTakeTheirDefaults(t *testing.T) {
	c := mustParse(t, minimal+`
    pricing:
      peak: [{start: "08:00", end: "10:00", multiplier: 2}]
`)
	cwd, _ := os.Getwd()
	pool := c.Pools["gpu"]
	lot := c.Lots["downtown"]
	cases := []struct {
		name      string
		got, want any
	}{
		{"temporal address is the local dev server", c.Temporal.Address, "127.0.0.1:7233"},
		{"temporal namespace is default", c.Temporal.Namespace, "default"},
		{"task queue is parklot", c.Temporal.TaskQueue, "parklot"},
		{"api key is empty", c.Temporal.APIKey, ""},
		{"plain connection without TLS settings", c.Temporal.UseTLS(), false},
		{"http listens on localhost:8080", c.HTTP.Address, "127.0.0.1:8080"},
		{"defaults timeout is 60s", c.Defaults.DefaultTimeout, 60 * time.Second},
		{"defaults queue depth is 100", c.Defaults.MaxQueueDepth, 100},
		{"defaults lease check is 30s", c.Defaults.LeaseCheckInterval, 30 * time.Second},
		{"default mailbox is a file under ./.parklot", c.Defaults.Mailbox, Store{Backend: BackendFile, Path: filepath.Join(cwd, ".parklot", "mailbox.db")}},
		{"default audit is a file under ./.parklot", c.Defaults.Audit, Store{Backend: BackendFile, Path: filepath.Join(cwd, ".parklot", "audit.db")}},
		{"pool queue depth comes from defaults", pool.MaxQueueDepth, 100},
		{"pool timeout comes from defaults", pool.DefaultTimeout, 60 * time.Second},
		{"pool lease check comes from defaults", pool.LeaseCheckInterval, 30 * time.Second},
		{"pool policy is fair", pool.PriorityPolicy, PolicyFair},
		{"pool state is active", pool.State, StateActive},
		{"pool has one shard", pool.Shards, 1},
		{"pool does not backfill", pool.Backfill, false},
		{"pool has no store overrides", pool.Mailbox == nil && pool.Audit == nil, true},
		{"pool mailbox is the default", c.MailboxStore("gpu"), c.Defaults.Mailbox},
		{"pool audit is the default", c.AuditStore("gpu"), c.Defaults.Audit},
		{"exec executor is off", pool.Executors.Exec.Enabled, false},
		{"exec output cap is 64 KiB", pool.Executors.Exec.MaxOutputBytes, 65536},
		{"no http executor", pool.Executors.HTTP == nil, true},
		{"no webhook", pool.Webhook == nil, true},
		{"lot strategy is first_available", lot.Strategy, StrategyFirstAvailable},
		{"lot takes 2 contiguous spots", lot.ContiguousSpots, 2},
		{"lot has no stay limit", lot.MaxStay, time.Duration(0)},
		{"lot has no overflow", lot.AllowOverflow, false},
		{"lot entrance is the first spot", lot.Entrance, Position{}},
		{"row kind is regular", lot.Levels[0].Rows[0].Kind, SpotRegular},
		{"peak without days applies every day", lot.Pricing.Peak[0].AppliesOn(time.Sunday), true},
		{"lot has no surge", lot.Pricing.Surge == nil, true},
	}
	for _, tc := range cases {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestHTTPExecutorDefaults(t *testing.T) {
	c := mustParse(t, `
pools:
  gpu:
    max_units: 1
    executors: {http: {url: "https://runner.example.com/run"}}
`)
	h := c.Pools["gpu"].Executors.HTTP
	if h == nil || h.Timeout != 30*time.Second || h.MaxResponseBytes != 1<<20 {
		t.Fatalf("http executor = %+v, want 30s timeout and 1 MiB cap", h)
	}
}

func TestWebhookSecretComesFromTheEnvironment(t *testing.T) {
	t.Setenv("TEST_PARKLOT_WEBHOOK_SECRET", "s3cret")
	c := mustParse(t, `
pools:
  gpu:
    max_units: 1
    webhook: {url: "https://gateway.example.com/hook", secret_env: TEST_PARKLOT_WEBHOOK_SECRET}
  cpu:
    max_units: 1
    webhook: {url: "http://127.0.0.1:9000/hook", secret_env: TEST_PARKLOT_WEBHOOK_SECRET, timeout: 3s}
  batch:
    max_units: 1
    webhook:
`)
	want := Webhook{URL: "https://gateway.example.com/hook", SecretEnv: "TEST_PARKLOT_WEBHOOK_SECRET", Secret: "s3cret", Timeout: 10 * time.Second}
	if w := c.Pools["gpu"].Webhook; w == nil || *w != want {
		t.Errorf("gpu webhook = %+v, want %+v (secret resolved, 10s default timeout)", w, want)
	}
	if w := c.Pools["cpu"].Webhook; w == nil || w.Timeout != 3*time.Second || w.Secret != "s3cret" {
		t.Errorf("cpu webhook = %+v, want its own 3s timeout", w)
	}
	if w := c.Pools["batch"].Webhook; w != nil {
		t.Errorf("an empty webhook key = %+v, want no webhook", w)
	}
	if s := c.Pools["gpu"].Webhook.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "TEST_PARKLOT_WEBHOOK_SECRET") {
		t.Errorf("Webhook.String = %q, want the variable's name and not the secret", s)
	}

	fromJSON, err := Parse([]byte(`{"pools": {"gpu": {"max_units": 1,
		"webhook": {"url": "https://gateway.example.com/hook", "secret_env": "TEST_PARKLOT_WEBHOOK_SECRET"}}}}`), FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	if w := fromJSON.Pools["gpu"].Webhook; w == nil || *w != want {
		t.Errorf("JSON webhook = %+v, want %+v", w, want)
	}
}

func TestTheWebhookSecretCannotBeWrittenInTheFile(t *testing.T) {
	for _, key := range []string{"secret", "Secret", "-"} {
		_, err := Parse([]byte("pools:\n  p:\n    max_units: 1\n    webhook: {url: \"https://x.example\", secret_env: X, "+key+": leaked}\n"), FormatYAML)
		p, ok := findProblem(problemsOf(t, err), "pools.p.webhook."+key)
		if !ok || !strings.Contains(p.Message, "unknown key") {
			t.Errorf("%s: got %v, want an unknown key", key, err)
		}
	}
}

func TestPoolsInheritTheDefaultsSectionWhereverItIsWritten(t *testing.T) {
	// pools comes before defaults on purpose: inheritance must not depend on key order.
	c := mustParse(t, `
pools:
  gpu: {max_units: 24}
  cpu: {max_units: 8, max_queue_depth: 0, default_timeout: 5s}
defaults:
  default_timeout: 90s
  max_queue_depth: 7
  lease_check_interval: 1m
  mailbox: {backend: memory}
`)
	gpu, cpu := c.Pools["gpu"], c.Pools["cpu"]
	if gpu.DefaultTimeout != 90*time.Second || gpu.MaxQueueDepth != 7 || gpu.LeaseCheckInterval != time.Minute {
		t.Errorf("gpu = %+v, want the defaults section's values", gpu)
	}
	if cpu.MaxQueueDepth != 0 || cpu.DefaultTimeout != 5*time.Second {
		t.Errorf("cpu = %+v, want its own explicit 0 depth and 5s timeout", cpu)
	}
	if s := c.MailboxStore("gpu"); s != (Store{Backend: BackendMemory}) {
		t.Errorf("mailbox = %+v, want a bare memory store (no leftover default path)", s)
	}
	if s := c.AuditStore("gpu"); s.Backend != BackendFile {
		t.Errorf("audit = %+v, want the built-in file store kept", s)
	}
}

func TestPoolStoreOverrides(t *testing.T) {
	t.Setenv("TEST_PARKLOT_DSN", "postgres://pool")
	c := mustParse(t, `
pools:
  gpu:
    max_units: 1
    mailbox: {backend: postgres, dsn_env: TEST_PARKLOT_DSN}
    audit: {backend: memory}
`)
	if s := c.MailboxStore("gpu"); s.DSN != "postgres://pool" || s.DSNEnv != "TEST_PARKLOT_DSN" {
		t.Errorf("mailbox = %+v, want the DSN read from TEST_PARKLOT_DSN", s)
	}
	if s := c.AuditStore("gpu"); s.Backend != BackendMemory {
		t.Errorf("audit = %+v, want memory", s)
	}
	if s := c.MailboxStore("no-such-pool"); s != c.Defaults.Mailbox {
		t.Errorf("unknown pool mailbox = %+v, want the default", s)
	}
	if s := c.MailboxStore("gpu").String(); strings.Contains(s, "postgres://pool") {
		t.Errorf("Store.String leaks the DSN: %q", s)
	}
}

func TestDefaultIsTheDesktopConfiguration(t *testing.T) {
	dir := t.TempDir()
	c, err := Default(dir)
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	if got := c.PoolNames(); !slices.Equal(got, []string{"demo"}) {
		t.Fatalf("pools = %v, want [demo]", got)
	}
	demo := c.Pools["demo"]
	if demo.MaxUnits != 4 || demo.MaxQueueDepth != 50 || demo.PriorityPolicy != PolicyFair || demo.State != StateActive || demo.Shards != 1 {
		t.Errorf("demo = %+v, want 4 units, depth 50, fair, active, 1 shard", demo)
	}
	if s := c.MailboxStore("demo"); s != (Store{Backend: BackendFile, Path: filepath.Join(dir, "mailbox.db")}) {
		t.Errorf("mailbox = %+v, want a file in the data dir", s)
	}
	if s := c.AuditStore("demo"); s != (Store{Backend: BackendFile, Path: filepath.Join(dir, "audit.db")}) {
		t.Errorf("audit = %+v, want a file in the data dir", s)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	c, err = Default("")
	if err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	if got := c.Defaults.Mailbox.Path; got != filepath.Join(cwd, ".parklot", "mailbox.db") {
		t.Errorf("empty data dir: mailbox path = %q, want ./.parklot/mailbox.db made absolute", got)
	}

	t.Setenv("PARKLOT_HTTP_ADDRESS", "0.0.0.0:9999")
	if c, err = Default(dir); err != nil || c.HTTP.Address != "0.0.0.0:9999" {
		t.Errorf("Default ignores PARKLOT_HTTP_ADDRESS: %v, %v", c, err)
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	certDir := t.TempDir()
	cert := filepath.Join(certDir, "client.pem")
	key := filepath.Join(certDir, "client.key")
	ca := filepath.Join(certDir, "ca.pem")
	for _, f := range []string{cert, key, ca} {
		if err := os.WriteFile(f, []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"TEMPORAL_ADDRESS":         "ns.acct.tmprl.cloud:7233",
		"TEMPORAL_NAMESPACE":       "ns.acct",
		"PARKLOT_TASK_QUEUE":       "parklot-prod",
		"TEMPORAL_API_KEY":         "secret-key",
		"TEMPORAL_TLS_CERT":        cert,
		"TEMPORAL_TLS_KEY":         key,
		"TEMPORAL_TLS_CA":          ca,
		"TEMPORAL_TLS_SERVER_NAME": "ns.acct.tmprl.cloud",
		"PARKLOT_HTTP_ADDRESS":     "0.0.0.0:8081",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c := mustParse(t, `
temporal:
  address: file-host:7233
  namespace: file-ns
  task_queue: file-queue
  api_key: file-key
  tls: {server_name: file-name}
http: {address: "127.0.0.1:1"}
`)
	want := Temporal{
		Address: env["TEMPORAL_ADDRESS"], Namespace: env["TEMPORAL_NAMESPACE"], TaskQueue: env["PARKLOT_TASK_QUEUE"],
		APIKey: env["TEMPORAL_API_KEY"],
		TLS:    TLS{CertFile: cert, KeyFile: key, CAFile: ca, ServerName: env["TEMPORAL_TLS_SERVER_NAME"]},
	}
	if c.Temporal != want {
		t.Errorf("temporal = %+v\nwant %+v", c.Temporal, want)
	}
	if c.HTTP.Address != env["PARKLOT_HTTP_ADDRESS"] {
		t.Errorf("http address = %q, want %q", c.HTTP.Address, env["PARKLOT_HTTP_ADDRESS"])
	}
	if !c.Temporal.UseTLS() {
		t.Error("UseTLS = false with an API key and certificates")
	}
}

func TestEmptyEnvironmentVariablesDoNotOverride(t *testing.T) {
	t.Setenv("TEMPORAL_API_KEY", "")
	t.Setenv("TEMPORAL_NAMESPACE", "")
	c := mustParse(t, "temporal: {namespace: ns, api_key: from-file}\n")
	if c.Temporal.Namespace != "ns" || c.Temporal.APIKey != "from-file" {
		t.Errorf("temporal = %+v, want the file's values", c.Temporal)
	}
}

func TestProblemsFromTheEnvironmentNameTheVariable(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "no-port")
	_, err := Parse([]byte("temporal: {address: 127.0.0.1:7233}\n"), FormatYAML)
	p, ok := findProblem(problemsOf(t, err), "temporal.address")
	if !ok || !strings.Contains(p.Message, "from environment variable TEMPORAL_ADDRESS") {
		t.Errorf("problem = %+v, want it to name TEMPORAL_ADDRESS", p)
	}
}

func TestDSNEnv(t *testing.T) {
	t.Setenv("TEST_PARKLOT_MAILBOX_DSN", "postgres://mailbox")
	t.Setenv("TEST_PARKLOT_EMPTY_DSN", "")
	cases := []struct {
		name     string
		store    string
		wantDSN  string
		wantPath string
		wantMsg  string
	}{
		{"a set variable becomes the DSN", "{backend: postgres, dsn_env: TEST_PARKLOT_MAILBOX_DSN}", "postgres://mailbox", "", ""},
		{"a DSN in the file is used as is", "{backend: postgres, dsn: postgres://inline}", "postgres://inline", "", ""},
		{"an unset variable is a problem", "{backend: postgres, dsn_env: TEST_PARKLOT_UNSET_DSN}", "", "defaults.mailbox.dsn_env", "environment variable TEST_PARKLOT_UNSET_DSN is not set"},
		{"an empty variable is a problem", "{backend: postgres, dsn_env: TEST_PARKLOT_EMPTY_DSN}", "", "defaults.mailbox.dsn_env", "is not set or empty"},
		{"dsn and dsn_env together are a problem", "{backend: postgres, dsn: postgres://x, dsn_env: TEST_PARKLOT_MAILBOX_DSN}", "", "defaults.mailbox.dsn_env", "both set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("defaults:\n  mailbox: "+tc.store+"\n"), FormatYAML)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Defaults.Mailbox.DSN != tc.wantDSN {
					t.Errorf("DSN = %q, want %q", c.Defaults.Mailbox.DSN, tc.wantDSN)
				}
				return
			}
			p, ok := findProblem(problemsOf(t, err), tc.wantPath)
			if !ok || !strings.Contains(p.Message, tc.wantMsg) {
				t.Errorf("problems = %v, want %s: …%s…", err, tc.wantPath, tc.wantMsg)
			}
		})
	}
}

func TestRelativeStorePathsAreAnchoredToTheWorkingDirectory(t *testing.T) {
	cwd, _ := os.Getwd()
	c := mustParse(t, `
defaults:
  mailbox: {backend: file, path: data/mailbox.db}
  audit: {backend: file, path: /var/lib/parklot/audit.db}
`)
	if got, want := c.Defaults.Mailbox.Path, filepath.Join(cwd, "data", "mailbox.db"); got != want {
		t.Errorf("relative path = %q, want %q", got, want)
	}
	if got := c.Defaults.Audit.Path; got != "/var/lib/parklot/audit.db" {
		t.Errorf("absolute path changed to %q", got)
	}
}

const equivalentYAML = `
temporal: {address: "10.0.0.1:7233", namespace: prod, task_queue: q}
http: {address: ":8080"}
defaults:
  default_timeout: 45s
  max_queue_depth: 10
  mailbox: {backend: memory}
pools:
  gpu:
    max_units: 24
    priority_policy: strict
    backfill: true
    state: draining
    shards: 1
    audit: {backend: file, path: ./audit.db}
    executors:
      exec: {enabled: true, commands: [/usr/bin/python3], max_output_bytes: 1024, env: {A: "1"}}
      http: {url: "https://x.example/run", timeout: 10s, headers: {Authorization: Bearer t}, max_response_bytes: 2048}
lots:
  downtown:
    timezone: Europe/Berlin
    currency: EUR
    strategy: best_fit
    contiguous_spots: 3
    allow_overflow: true
    max_stay: 72h
    entrance: {level: 0, row: 1, position: 2}
    levels:
      - name: L0
        rows:
          - {name: A, kind: compact, count: 4, accessible: [0], ev_charging: [3]}
          - {name: B, count: 3, kinds: [regular, oversized, compact]}
    pricing:
      grace_period: 10m
      tiers: [{up_to: 1h, fee: 300}, {up_to: 3h, fee: 800}]
      hourly_rate: 250
      daily_cap: 2500
      lost_ticket_fee: 5000
      peak: [{days: [mon, fri], start: "08:00", end: "10:00", multiplier: 1.5}]
      surge: {threshold: 0.9, multiplier: 1.25}
`

const equivalentJSON = `{
  "temporal": {"address": "10.0.0.1:7233", "namespace": "prod", "task_queue": "q"},
  "http": {"address": ":8080"},
  "defaults": {"default_timeout": "45s", "max_queue_depth": 10, "mailbox": {"backend": "memory"}},
  "pools": {
    "gpu": {
      "max_units": 24, "priority_policy": "strict", "backfill": true, "state": "draining", "shards": 1,
      "audit": {"backend": "file", "path": "./audit.db"},
      "executors": {
        "exec": {"enabled": true, "commands": ["/usr/bin/python3"], "max_output_bytes": 1024, "env": {"A": "1"}},
        "http": {"url": "https://x.example/run", "timeout": "10s", "headers": {"Authorization": "Bearer t"}, "max_response_bytes": 2048}
      }
    }
  },
  "lots": {
    "downtown": {
      "timezone": "Europe/Berlin", "currency": "EUR", "strategy": "best_fit", "contiguous_spots": 3,
      "allow_overflow": true, "max_stay": "72h", "entrance": {"level": 0, "row": 1, "position": 2},
      "levels": [{"name": "L0", "rows": [
        {"name": "A", "kind": "compact", "count": 4, "accessible": [0], "ev_charging": [3]},
        {"name": "B", "count": 3, "kinds": ["regular", "oversized", "compact"]}
      ]}],
      "pricing": {
        "grace_period": "10m",
        "tiers": [{"up_to": "1h", "fee": 300}, {"up_to": "3h", "fee": 800}],
        "hourly_rate": 250, "daily_cap": 2500, "lost_ticket_fee": 5000,
        "peak": [{"days": ["mon", "fri"], "start": "08:00", "end": "10:00", "multiplier": 1.5}],
        "surge": {"threshold": 0.9, "multiplier": 1.25}
      }
    }
  }
}`

func TestYAMLAndJSONGiveTheSameConfig(t *testing.T) {
	fromYAML := mustParse(t, equivalentYAML)
	fromJSON, err := Parse([]byte(equivalentJSON), FormatJSON)
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Errorf("YAML and JSON differ:\nYAML %+v\nJSON %+v", fromYAML, fromJSON)
	}
	peak := fromJSON.Lots["downtown"].Pricing.Peak[0]
	if peak.Start != 8*60 || peak.End != 10*60 || peak.Multiplier != 1500 || !slices.Equal(peak.Days, []time.Weekday{time.Monday, time.Friday}) {
		t.Errorf("peak = %+v", peak)
	}
}

func TestLoadPicksTheFormatFromTheExtension(t *testing.T) {
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "c.json")
	yamlFile := filepath.Join(dir, "c.yml")
	os.WriteFile(jsonFile, []byte(equivalentJSON), 0o600)
	os.WriteFile(yamlFile, []byte(equivalentYAML), 0o600)
	a, errA := Load(jsonFile)
	b, errB := Load(yamlFile)
	if errA != nil || errB != nil {
		t.Fatalf("Load: %v / %v", errA, errB)
	}
	if a.Pools["gpu"].MaxUnits != 24 || b.Pools["gpu"].MaxUnits != 24 {
		t.Error("loaded configs lack the gpu pool")
	}
	// YAML that is not JSON must fail as JSON.
	os.WriteFile(jsonFile, []byte("pools: {}\n"), 0o600)
	if _, err := Load(jsonFile); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("YAML in a .json file: err = %v, want invalid JSON", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want os.ErrNotExist", err)
	}
	if FormatOf("x.JSON") != FormatJSON || FormatOf("x.yaml") != FormatYAML || FormatOf("x") != FormatYAML {
		t.Error("FormatOf picks the wrong format")
	}
}

func TestAnEmptyFileIsTheBuiltInConfiguration(t *testing.T) {
	for _, f := range []Format{FormatYAML, FormatJSON} {
		c, err := Parse([]byte("  \n"), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Temporal.Address != "127.0.0.1:7233" || len(c.Pools) != 0 {
			t.Errorf("%s: %+v", f, c)
		}
	}
}

func TestUnknownKeysAreNamedWithTheirPathAndLine(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		src    string
		want   string
	}{
		{"pool key with a suggestion", FormatYAML, `temporal:
  address: 127.0.0.1:7233
pools:
  gpu:
    max_units: 24

    max_unit: 24
`, "pools.gpu.max_unit: unknown key (line 7); did you mean max_units?"},
		{"top-level section", FormatYAML, "pool:\n  gpu: {max_units: 1}\n", "pool: unknown key (line 1); did you mean pools?"},
		{"nothing close lists the valid keys", FormatYAML, "http: {port: 80}\n", "http.port: unknown key (line 1); valid keys here are address, max_body_bytes, request_timeout, tenant_header, user_header, session_header, headers_authoritative, temporal_ui_url"},
		{"tls section", FormatYAML, "temporal:\n  tls:\n    cert: a\n", "temporal.tls.cert: unknown key (line 3); valid keys here are cert_file, key_file, ca_file, server_name"},
		{"defaults store", FormatYAML, "defaults:\n  audit: {backend: file, paht: x}\n", "defaults.audit.paht: unknown key (line 2); did you mean path?"},
		{"exec executor", FormatYAML, "pools:\n  a:\n    max_units: 1\n    executors:\n      exec: {enable: true}\n", "pools.a.executors.exec.enable: unknown key (line 5); did you mean enabled?"},
		{"executor kind", FormatYAML, "pools:\n  a:\n    max_units: 1\n    executors:\n      htp: {}\n", "pools.a.executors.htp: unknown key (line 5); did you mean http?"},
		{"row in a list", FormatYAML, minimal + "          - {name: B, count: 2, acessible: [1]}\n", "lots.downtown.levels[0].rows[1].acessible: unknown key (line 13); did you mean accessible?"},
		{"pricing peak", FormatYAML, minimal + "    pricing:\n      peak: [{start: \"08:00\", end: \"09:00\", multiplier: 2, day: [mon]}]\n", "lots.downtown.pricing.peak[0].day: unknown key (line 14); did you mean days?"},
		{"pricing surge", FormatYAML, minimal + "    pricing:\n      surge: {threshold: 0.9, multiplier: 2, treshold: 1}\n", "lots.downtown.pricing.surge.treshold: unknown key (line 14); did you mean threshold?"},
		{"lot entrance", FormatYAML, minimal + "    entrance: {floor: 0}\n", "lots.downtown.entrance.floor: unknown key (line 13); valid keys here are level, row, position"},
		{"JSON pool key", FormatJSON, "{\n  \"pools\": {\n    \"gpu\": {\n      \"max_units\": 1,\n      \"defualt_timeout\": \"1s\"\n    }\n  }\n}", "pools.gpu.defualt_timeout: unknown key (line 5); did you mean default_timeout?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), tc.format)
			ps := problemsOf(t, err)
			if !slices.ContainsFunc(ps, func(p Problem) bool { return p.String() == tc.want }) {
				t.Errorf("got:\n%v\nwant a line:\n%s", err, tc.want)
			}
		})
	}
}

func TestEveryMistakeIsReportedWithItsFix(t *testing.T) {
	t.Setenv("TEST_PARKLOT_DSN", "postgres://x")
	t.Setenv("TEST_PARKLOT_EMPTY", "")
	os.Unsetenv("TEST_PARKLOT_UNSET")
	pool := func(body string) string { return "pools:\n  p:\n    max_units: 1\n" + body }
	lot := func(body string) string { return minimal + body }
	cases := []struct {
		name string
		src  string
		path string
		want string // a part of the message
	}{
		{"negative max_units", "pools:\n  p: {max_units: -1}\n", "pools.p.max_units", "must not be negative, got -1"},
		{"missing max_units", "pools:\n  p: {shards: 1}\n", "pools.p.max_units", "missing (line 2); every pool needs its capacity"},
		{"pool with no settings", "pools:\n  p:\n", "pools.p.max_units", "missing"},
		{"negative queue depth", pool("    max_queue_depth: -5\n"), "pools.p.max_queue_depth", "must be at least 0, got -5"},
		{"zero shards", pool("    shards: 0\n"), "pools.p.shards", "must be at least 1, got 0"},
		{"more than one shard", pool("    shards: 2\n"), "pools.p.shards", "not supported yet"},
		{"delivery give-up that is not positive", "defaults:\n  delivery_give_up: 0s\npools:\n  p: {max_units: 1}\n", "defaults.delivery_give_up", "must be"},
		{"negative timeout", pool("    default_timeout: -1s\n"), "pools.p.default_timeout", "must be greater than 0, got -1s"},
		{"zero lease check", pool("    lease_check_interval: 0s\n"), "pools.p.lease_check_interval", "must be greater than 0"},
		{"negative default depth", "defaults: {max_queue_depth: -1}\n", "defaults.max_queue_depth", "must be at least 0"},
		{"unparsable duration", pool("    default_timeout: 90 seconds\n"), "pools.p.default_timeout", `cannot parse "90 seconds" as a duration (line 4); write a Go duration such as "90s"`},
		{"duration without unit", pool("    default_timeout: 90\n"), "pools.p.default_timeout", `a duration needs a unit: write a Go duration such as "90s"`},
		{"duration in days", lot("    max_stay: 3d\n"), "lots.downtown.max_stay", `days are written in hours, e.g. "72h"`},
		{"unknown priority policy", pool("    priority_policy: fiar\n"), "pools.p.priority_policy", `unknown value "fiar" (line 4); did you mean fair?`},
		{"unknown state", pool("    state: paused\n"), "pools.p.state", "use active, draining or disabled"},
		{"unknown backend", "defaults:\n  mailbox: {backend: sqlite, path: x.db}\n", "defaults.mailbox.backend", `unknown backend "sqlite"`},
		{"backend typo", "defaults:\n  mailbox: {backend: postgress, dsn: x}\n", "defaults.mailbox.backend", "did you mean postgres?"},
		{"store without backend", pool("    audit: {path: x.db}\n"), "pools.p.audit.backend", "missing (line 4); use memory, file or postgres"},
		{"file backend without path", "defaults:\n  audit: {backend: file}\n", "defaults.audit.path", "missing (line 2); the file backend needs the SQLite file"},
		{"postgres without dsn", pool("    mailbox: {backend: postgres}\n"), "pools.p.mailbox.dsn", "missing (line 4); set dsn_env"},
		{"dsn_env naming an unset variable", pool("    mailbox: {backend: postgres, dsn_env: TEST_PARKLOT_UNSET}\n"), "pools.p.mailbox.dsn_env", "TEST_PARKLOT_UNSET is not set"},
		{"memory with a path", "defaults:\n  audit: {backend: memory, path: x.db}\n", "defaults.audit.backend", "memory keeps nothing"},
		{"file with a dsn", "defaults:\n  audit: {backend: file, path: x.db, dsn_env: TEST_PARKLOT_DSN}\n", "defaults.audit.backend", "belong to backend: postgres"},
		{"postgres with a path", "defaults:\n  audit: {backend: postgres, dsn: x, path: y}\n", "defaults.audit.path", "belongs to backend: file"},
		{"pool name with capitals", "pools:\n  GPU: {max_units: 1}\n", "pools.GPU", `invalid pool name "GPU" (line 2); it becomes part of a workflow id`},
		{"pool name with a slash", "pools:\n  a/b: {max_units: 1}\n", "pools.a/b", `e.g. "a-b"`},
		{"pool name starting with a dash", "pools:\n  -x: {max_units: 1}\n", "pools.-x", "invalid pool name"},
		{"lot name", "lots:\n  Down Town: {}\n", "lots.Down Town", "invalid lot name"},
		{"relative exec command", pool("    executors: {exec: {enabled: true, commands: [python3]}}\n"), "pools.p.executors.exec.commands[0]", "not an absolute path"},
		{"zero exec output cap", pool("    executors: {exec: {max_output_bytes: 0}}\n"), "pools.p.executors.exec.max_output_bytes", "must be greater than 0"},
		{"http executor without url", pool("    executors: {http: {timeout: 1s}}\n"), "pools.p.executors.http.url", "missing"},
		{"http executor with a bad url", pool("    executors: {http: {url: \"ftp://x\"}}\n"), "pools.p.executors.http.url", "not an http(s) URL"},
		{"webhook without url", pool("    webhook: {secret_env: TEST_PARKLOT_DSN}\n"), "pools.p.webhook.url", "missing (line 4); give the receiver's endpoint"},
		{"webhook with an empty url", pool("    webhook: {url: \"\", secret_env: TEST_PARKLOT_DSN}\n"), "pools.p.webhook.url", "missing (line 4); give the receiver's endpoint"},
		{"webhook url that is not http(s)", pool("    webhook: {url: \"ftp://gateway\", secret_env: TEST_PARKLOT_DSN}\n"), "pools.p.webhook.url", `"ftp://gateway" is not an http(s) URL (line 4); write e.g. https://`},
		{"webhook url without a host", pool("    webhook: {url: \"https://\", secret_env: TEST_PARKLOT_DSN}\n"), "pools.p.webhook.url", "not an http(s) URL"},
		{"webhook url without a scheme", pool("    webhook: {url: gateway.example.com/hook, secret_env: TEST_PARKLOT_DSN}\n"), "pools.p.webhook.url", "not an http(s) URL"},
		{"webhook without secret_env", pool("    webhook: {url: \"https://gateway\"}\n"), "pools.p.webhook.secret_env", "missing (line 4); name the environment variable holding the signing secret, e.g. secret_env: PARKLOT_WEBHOOK_SECRET"},
		{"webhook secret_env naming an unset variable", pool("    webhook: {url: \"https://gateway\", secret_env: TEST_PARKLOT_UNSET}\n"), "pools.p.webhook.secret_env", "environment variable TEST_PARKLOT_UNSET is not set or empty (line 4); export it"},
		{"webhook secret_env naming an empty variable", pool("    webhook: {url: \"https://gateway\", secret_env: TEST_PARKLOT_EMPTY}\n"), "pools.p.webhook.secret_env", "TEST_PARKLOT_EMPTY is not set or empty"},
		{"webhook secret pasted into secret_env", pool("    webhook: {url: \"https://gateway\", secret_env: \"hunter2 hunter2\"}\n"), "pools.p.webhook.secret_env", "is not an environment variable name (line 4); secret_env names the variable"},
		{"webhook with a zero timeout", pool("    webhook: {url: \"https://gateway\", secret_env: TEST_PARKLOT_DSN, timeout: 0s}\n"), "pools.p.webhook.timeout", `must be greater than 0, got 0s (line 4); write e.g. "10s"`},
		{"webhook with a negative timeout", pool("    webhook: {url: \"https://gateway\", secret_env: TEST_PARKLOT_DSN, timeout: -1s}\n"), "pools.p.webhook.timeout", "must be greater than 0"},
		{"webhook key typo", pool("    webhook: {url: \"https://gateway\", secret_evn: TEST_PARKLOT_DSN}\n"), "pools.p.webhook.secret_evn", "unknown key (line 4); did you mean secret_env?"},
		{"http executor header", pool("    executors: {http: {url: \"http://x\", headers: {\"Bad Name\": v}}}\n"), "pools.p.executors.http.headers.Bad Name", "invalid header name"},
		{"temporal address without port", "temporal: {address: localhost}\n", "temporal.address", `"localhost" is not host:port`},
		{"http address with a bad port", "http: {address: \"127.0.0.1:http\"}\n", "http.address", "is not a number"},
		{"empty namespace", "temporal: {namespace: \"\"}\n", "temporal.namespace", "missing"},
		{"cert without key", "temporal:\n  tls: {cert_file: config_test.go}\n", "temporal.tls.key_file", "missing while cert_file is set"},
		{"missing ca file", "temporal:\n  tls: {ca_file: /no/such/ca.pem}\n", "temporal.tls.ca_file", "cannot read"},
		{"bad timezone", "lots:\n  x:\n    timezone: Europe/Berln\n    currency: EUR\n    levels: [{name: L0, rows: [{name: A, count: 1}]}]\n", "lots.x.timezone", `unknown time zone "Europe/Berln" (line 3)`},
		{"host-local timezone", "lots:\n  x: {timezone: Local}\n", "lots.x.timezone", "unknown time zone"},
		{"missing timezone", "lots:\n  x: {currency: EUR}\n", "lots.x.timezone", "missing"},
		{"lower-case currency", "lots:\n  x: {timezone: UTC, currency: eur}\n", "lots.x.currency", `such as "EUR"`},
		{"unknown strategy", lot("    strategy: neares\n"), "lots.downtown.strategy", "did you mean nearest?"},
		{"zero contiguous spots", lot("    contiguous_spots: 0\n"), "lots.downtown.contiguous_spots", "must be at least 1"},
		{"negative max stay", lot("    max_stay: -1h\n"), "lots.downtown.max_stay", "must not be negative"},
		{"no levels", "lots:\n  x: {timezone: UTC, currency: EUR}\n", "lots.x.levels", "at least one level"},
		{"level without rows", "lots:\n  x: {timezone: UTC, currency: EUR, levels: [{name: L0}]}\n", "lots.x.levels[0].rows", "at least one row"},
		{"duplicate row names", lot("          - {name: A, count: 1}\n"), "lots.downtown.levels[0].rows[1].name", `"A" is also used`},
		{"row without name", lot("          - {count: 1}\n"), "lots.downtown.levels[0].rows[1].name", "missing"},
		{"row count zero", lot("          - {name: B, count: 0}\n"), "lots.downtown.levels[0].rows[1].count", "must be at least 1"},
		{"unknown spot kind", lot("          - {name: B, count: 1, kind: huge}\n"), "lots.downtown.levels[0].rows[1].kind", "use compact, regular or oversized"},
		{"kinds of the wrong length", lot("          - {name: B, count: 3, kinds: [compact]}\n"), "lots.downtown.levels[0].rows[1].kinds", "has 1 entries but count is 3"},
		{"unknown kind in kinds", lot("          - {name: B, count: 1, kinds: [tiny]}\n"), "lots.downtown.levels[0].rows[1].kinds[0]", "unknown value"},
		{"accessible out of range", lot("          - {name: B, count: 2, accessible: [2]}\n"), "lots.downtown.levels[0].rows[1].accessible[0]", "position 2 is outside the row (line 13); positions are 0-based, use 0..1"},
		{"negative ev position", lot("          - {name: B, count: 2, ev_charging: [-1]}\n"), "lots.downtown.levels[0].rows[1].ev_charging[0]", "outside the row"},
		{"duplicate position", lot("          - {name: B, count: 2, ev_charging: [1, 1]}\n"), "lots.downtown.levels[0].rows[1].ev_charging[1]", "listed twice"},
		{"entrance level out of range", lot("    entrance: {level: 3}\n"), "lots.downtown.entrance.level", "use 0..0"},
		{"entrance position out of range", lot("    entrance: {position: 20}\n"), "lots.downtown.entrance.position", "use 0..19"},
		{"tiers out of order", lot("    pricing:\n      tiers: [{up_to: 3h, fee: 800}, {up_to: 1h, fee: 900}]\n"), "lots.downtown.pricing.tiers[1].up_to", "1h is not after tiers[0].up_to (3h)"},
		{"equal tiers", lot("    pricing:\n      tiers: [{up_to: 1h, fee: 1}, {up_to: 60m, fee: 2}]\n"), "lots.downtown.pricing.tiers[1].up_to", "strictly increasing"},
		{"fees going down", lot("    pricing:\n      tiers: [{up_to: 1h, fee: 800}, {up_to: 2h, fee: 300}]\n"), "lots.downtown.pricing.tiers[1].fee", "a longer stay cannot cost less"},
		{"tier without fee", lot("    pricing:\n      tiers: [{up_to: 1h}]\n"), "lots.downtown.pricing.tiers[0].fee", "missing"},
		{"negative fee", lot("    pricing:\n      tiers: [{up_to: 1h, fee: -1}]\n"), "lots.downtown.pricing.tiers[0].fee", "must not be negative"},
		{"negative hourly rate", lot("    pricing: {hourly_rate: -250}\n"), "lots.downtown.pricing.hourly_rate", "must not be negative"},
		{"negative daily cap", lot("    pricing: {daily_cap: -1}\n"), "lots.downtown.pricing.daily_cap", "must not be negative"},
		{"fractional money", lot("    pricing: {hourly_rate: 2.5}\n"), "lots.downtown.pricing.hourly_rate", "expected a whole number"},
		{"multiplier with 4 decimals", lot("    pricing:\n      surge: {threshold: 0.9, multiplier: 1.2345}\n"), "lots.downtown.pricing.surge.multiplier", "more than 3 decimals"},
		{"zero multiplier", lot("    pricing:\n      surge: {threshold: 0.9, multiplier: 0}\n"), "lots.downtown.pricing.surge.multiplier", "must be greater than 0"},
		{"negative multiplier", lot("    pricing:\n      peak: [{start: \"08:00\", end: \"09:00\", multiplier: -1.5}]\n"), "lots.downtown.pricing.peak[0].multiplier", "got -1.5"},
		{"multiplier as text", lot("    pricing:\n      peak: [{start: \"08:00\", end: \"09:00\", multiplier: \"1.5\"}]\n"), "lots.downtown.pricing.peak[0].multiplier", "expected a decimal number"},
		{"multiplier in exponent form", lot("    pricing:\n      peak: [{start: \"08:00\", end: \"09:00\", multiplier: 1e3}]\n"), "lots.downtown.pricing.peak[0].multiplier", "write it plainly"},
		{"surge threshold above 1", lot("    pricing:\n      surge: {threshold: 1.1, multiplier: 2}\n"), "lots.downtown.pricing.surge.threshold", "must be in (0, 1]"},
		{"surge without threshold", lot("    pricing:\n      surge: {multiplier: 2}\n"), "lots.downtown.pricing.surge.threshold", "missing"},
		{"peak ending before it starts", lot("    pricing:\n      peak: [{start: \"22:00\", end: \"02:00\", multiplier: 2}]\n"), "lots.downtown.pricing.peak[0].end", "split it into two"},
		{"peak at 25:00", lot("    pricing:\n      peak: [{start: \"08:00\", end: \"25:00\", multiplier: 2}]\n"), "lots.downtown.pricing.peak[0].end", `write "HH:MM" on a 24-hour clock`},
		{"peak day typo", lot("    pricing:\n      peak: [{days: [mo], start: \"08:00\", end: \"09:00\", multiplier: 2}]\n"), "lots.downtown.pricing.peak[0].days[0]", `unknown day "mo"`},
		{"overlapping peaks", lot("    pricing:\n      peak:\n        - {days: [mon], start: \"08:00\", end: \"10:00\", multiplier: 2}\n        - {days: [sun, mon], start: \"09:00\", end: \"11:00\", multiplier: 3}\n"), "lots.downtown.pricing.peak[1]", "overlaps peak[0] on Monday"},
		{"duplicate key", "pools:\n  p:\n    max_units: 1\n    max_units: 2\n", "pools.p.max_units", "duplicate key (line 4); it is already set at line 3"},
		{"scalar where a mapping belongs", "pools:\n  p: 5\n", "pools.p", `expected a mapping of keys, got "5"`},
		{"mapping where a list belongs", "lots:\n  x: {timezone: UTC, currency: EUR, levels: {name: L0}}\n", "lots.x.levels", "expected a list, got a mapping"},
		{"list where a value belongs", pool("    shards: [1]\n"), "pools.p.shards", "expected a whole number, got a list"},
		{"yes is not a boolean", pool("    backfill: yes\n"), "pools.p.backfill", `expected true or false, got "yes"`},
		{"a number that does not fit", pool("    shards: 99999999999999999999\n"), "pools.p.shards", "expected a whole number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), FormatYAML)
			if err == nil {
				t.Fatalf("no error; want %s: …%s…", tc.path, tc.want)
			}
			ps := problemsOf(t, err)
			p, ok := findProblem(ps, tc.path)
			if !ok || !strings.Contains(p.Message, tc.want) {
				t.Errorf("got:\n%v\nwant %s: …%s…", err, tc.path, tc.want)
			}
		})
	}
}

func TestAllProblemsAreReportedAtOnceInFileOrder(t *testing.T) {
	src := `pools:
  gpu:
    max_unit: 24
    default_timeout: soon
    state: paused
  BAD: {max_units: -1}
defaults:
  mailbox: {backend: file}
lots:
  x:
    timezone: Mars/Olympus
    currency: EUR
    levels: [{name: L0, rows: [{name: A, count: 2, accessible: [5]}]}]
`
	_, err := Parse([]byte(src), FormatYAML)
	ps := problemsOf(t, err)
	want := []string{
		"pools.gpu.max_unit",
		"pools.gpu.max_units",
		"pools.gpu.default_timeout",
		"pools.gpu.state",
		"pools.BAD",
		"pools.BAD.max_units",
		"defaults.mailbox.path",
		"lots.x.timezone",
		"lots.x.levels[0].rows[0].accessible[0]",
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths:\n%q\nwant\n%q\nfull error:\n%v", got, want, err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(want) {
		t.Errorf("Error() has %d lines, want one per problem (%d)", n, len(want))
	}
}

func TestADecodingMistakeIsNotReportedTwice(t *testing.T) {
	_, err := Parse([]byte(minimal+"          - {name: B, count: many}\n"), FormatYAML)
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].Path != "lots.downtown.levels[0].rows[1].count" {
		t.Errorf("got %v, want only the decoding problem", err)
	}
}

func TestSyntaxErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		src    string
		want   string
	}{
		{"YAML", FormatYAML, "pools:\n  a: [\n", "invalid YAML: line 2"},
		{"JSON trailing comma", FormatJSON, "{\n  \"pools\": {\"a\": 1,}\n}", "invalid JSON (line 2)"},
		{"JSON cut short", FormatJSON, "{\"pools\": {", "invalid JSON (line 1): unexpected end of input"},
		{"JSON with two values", FormatJSON, "{} {}", "unexpected data after the top-level value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), tc.format)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want …%s…", err, tc.want)
			}
		})
	}
}

func TestYAMLAnchorsAndMergeKeys(t *testing.T) {
	c := mustParse(t, `
pools:
  gpu: &base
    max_units: 24
    default_timeout: 5m
    priority_policy: strict
  gpu-small:
    <<: *base
    max_units: 8
`)
	small := c.Pools["gpu-small"]
	if small.MaxUnits != 8 || small.DefaultTimeout != 5*time.Minute || small.PriorityPolicy != PolicyStrict {
		t.Errorf("gpu-small = %+v, want base settings with 8 units", small)
	}
}

func TestParsePerMille(t *testing.T) {
	cases := []struct {
		in   string
		want PerMille
		err  string
	}{
		{"1.5", 1500, ""},
		{"1", 1000, ""},
		{"0.001", 1, ""},
		{"1.005", 1005, ""},
		{"1.2500", 1250, ""},
		{".9", 900, ""},
		{"-1.5", -1500, ""},
		{"1.2345", 0, "more than 3 decimals"},
		{"1e3", 0, "write it plainly"},
		{".", 0, "write it plainly"},
		{"1.5.1", 0, "write it plainly"},
		{"9999999999999", 0, "too large"},
	}
	for _, tc := range cases {
		got, err := parsePerMille(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parsePerMille(%q) err = %v, want …%s…", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parsePerMille(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if s := PerMille(1250).String(); s != "1.25" {
		t.Errorf("PerMille(1250).String() = %q, want 1.25", s)
	}
	if s := PerMille(2000).String(); s != "2" {
		t.Errorf("PerMille(2000).String() = %q, want 2", s)
	}
}

func TestParseTimeOfDay(t *testing.T) {
	cases := []struct {
		in   string
		want TimeOfDay
		ok   bool
	}{
		{"08:00", 480, true},
		{"8:30", 510, true},
		{"00:00", 0, true},
		{"24:00", 1440, true},
		{"24:01", 0, false},
		{"12:60", 0, false},
		{"8am", 0, false},
		{"0800", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseTimeOfDay(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseTimeOfDay(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if s := TimeOfDay(510).String(); s != "08:30" {
		t.Errorf("TimeOfDay(510) = %q", s)
	}
}

func TestValidateChecksAConfigBuiltInCode(t *testing.T) {
	c, err := Default(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := c.Pools["demo"]
	p.Shards = 0
	p.Mailbox = &Store{Backend: BackendPostgres, DSNEnv: "TEST_PARKLOT_NEVER_SET"}
	c.Pools["demo"] = p
	c.Pools["Other"] = Pool{}
	c.Pools["hooked"] = func() Pool {
		q := c.Pools["demo"]
		q.Shards, q.Mailbox = 1, nil
		// Set in code, the secret needs no variable; without either it is missing.
		q.Webhook = &Webhook{URL: "https://gateway.example.com/hook", Secret: "in-code", Timeout: time.Second}
		return q
	}()
	c.Pools["unhooked"] = func() Pool {
		q := c.Pools["hooked"]
		q.Webhook = &Webhook{URL: "mailto:ops@example.com"}
		return q
	}()
	err = c.Validate()
	ps := problemsOf(t, err)
	for _, path := range []string{"pools.demo.shards", "pools.demo.mailbox.dsn_env", "pools.Other", "pools.Other.default_timeout", "pools.Other.priority_policy",
		"pools.unhooked.webhook.url", "pools.unhooked.webhook.secret_env", "pools.unhooked.webhook.timeout"} {
		if _, ok := findProblem(ps, path); !ok {
			t.Errorf("Validate misses %s:\n%v", path, err)
		}
	}
	for _, p := range ps {
		if strings.HasPrefix(p.Path, "pools.hooked") {
			t.Errorf("a webhook built in code with its secret is valid, got %s", p)
		}
	}
}

func TestProblemsPrintOnePerLine(t *testing.T) {
	ps := Problems{{Path: "pools.a.shards", Message: "must be at least 1"}, {Message: "invalid YAML"}}
	if got, want := ps.Error(), "pools.a.shards: must be at least 1\ninvalid YAML"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAccessors(t *testing.T) {
	c := mustParse(t, `
pools:
  zeta: {max_units: 1}
  alpha: {max_units: 0}
  mid: {max_units: 2}
lots:
  b: &lot
    timezone: America/New_York
    currency: USD
    levels: [{name: L0, rows: [{name: A, count: 3, kinds: [compact, oversized, regular]}]}]
  a: *lot
`)
	if got := c.PoolNames(); !slices.Equal(got, []string{"alpha", "mid", "zeta"}) {
		t.Errorf("PoolNames = %v, want sorted", got)
	}
	if got := c.LotNames(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("LotNames = %v, want sorted", got)
	}
	row := c.Lots["a"].Levels[0].Rows[0]
	if row.SpotKind(1) != SpotOversized || row.SpotKind(2) != SpotRegular {
		t.Errorf("SpotKind follows kinds: %v %v", row.SpotKind(1), row.SpotKind(2))
	}
	if loc := c.Lots["a"].Location(); loc.String() != "America/New_York" {
		t.Errorf("Location = %v", loc)
	}
	peak := Peak{Days: []time.Weekday{time.Saturday}}
	if peak.AppliesOn(time.Monday) || !peak.AppliesOn(time.Saturday) {
		t.Error("AppliesOn ignores Days")
	}
	if s := (Store{Backend: BackendPostgres, DSN: "postgres://u:pw@h/db", DSNEnv: "X"}).String(); strings.Contains(s, "pw") {
		t.Errorf("Store.String leaks the password: %q", s)
	}
}

func TestHTTPSettingsAreChecked(t *testing.T) {
	cases := []struct{ name, yaml, path, want string }{
		{"a negative body cap", "http: {max_body_bytes: -1}\n", "http.max_body_bytes", "must not be negative"},
		{"a header name with a space", "http: {tenant_header: \"X Tenant\"}\n", "http.tenant_header", "not a valid HTTP header name"},
		{"a UI URL without a scheme", "http: {temporal_ui_url: temporal.example.com}\n", "http.temporal_ui_url", "not an http(s) URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), FormatYAML)
			var ps Problems
			if !errors.As(err, &ps) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %s: %s", err, tc.path, tc.want)
			}
		})
	}
	c, err := Parse([]byte("http: {tenant_header: X-Tenant, headers_authoritative: true, max_body_bytes: 2048, request_timeout: 5s}\n"), FormatYAML)
	if err != nil || c.HTTP.TenantHeader != "X-Tenant" || !c.HTTP.HeadersAuthoritative || c.HTTP.MaxBodyBytes != 2048 || c.HTTP.RequestTimeout != 5*time.Second {
		t.Fatalf("valid http section: %+v %v", c.HTTP, err)
	}
}
