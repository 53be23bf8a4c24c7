package executor

import (
	"maps"
	"slices"
	"time"
)

// Defaults applied when a policy leaves a bound at zero (or below).
const (
	DefaultMaxOutputBytes   = 64 << 10
	DefaultHTTPTimeout      = 30 * time.Second
	DefaultMaxResponseBytes = 1 << 20
)

// progressTick is how often the built-ins report progress while they run.
const progressTick = time.Second

// Policy is what one pool allows its tasks' built-in executors to do. It is
// built by the caller from pools.<pool>.executors in the config.
type Policy struct {
	Exec ExecPolicy
	HTTP HTTPPolicy
}

// ExecPolicy configures the exec executor for a pool.
type ExecPolicy struct {
	// Enabled must be true for exec to run anything in the pool.
	Enabled bool
	// Commands is the allow-list of absolute paths; empty allows any command.
	Commands []string
	// MaxOutputBytes bounds each of stdout and stderr as captured in the
	// result; 0 means DefaultMaxOutputBytes.
	MaxOutputBytes int
	// Env is given to every command of the pool, beside PATH (the only
	// variable taken from the worker) and the payload's env.
	Env map[string]string
}

// HTTPPolicy configures the http executor for a pool.
type HTTPPolicy struct {
	// URL receives the POSTs; http fails permanently when it is empty.
	URL string
	// Timeout bounds one request; 0 means DefaultHTTPTimeout.
	Timeout time.Duration
	// Headers are sent with every request (for example Authorization).
	Headers map[string]string
	// MaxResponseBytes bounds the response body; a larger body is an error.
	// 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int
}

// Builtins returns a registry holding sleep, exec and http, with policies
// keyed by pool name. A pool without an entry gets the zero Policy: exec
// disabled, http without a URL. The policies are copied: to apply a config
// change, build a new registry and swap it in.
func Builtins(policies map[string]Policy) *Registry {
	p := clonePolicies(policies)
	r := NewRegistry()
	for kind, e := range map[string]Executor{
		KindSleep: &sleepExecutor{tick: progressTick},
		KindExec:  &execExecutor{policies: p, tick: progressTick, waitDelay: time.Second},
		KindHTTP:  newHTTPExecutor(p, progressTick),
	} {
		if err := r.Register(kind, e); err != nil {
			panic(err) // the built-in kinds are constants; this cannot happen
		}
	}
	return r
}

func clonePolicies(in map[string]Policy) map[string]Policy {
	out := make(map[string]Policy, len(in))
	for pool, p := range in {
		p.Exec.Commands = slices.Clone(p.Exec.Commands)
		p.Exec.Env = maps.Clone(p.Exec.Env)
		p.HTTP.Headers = maps.Clone(p.HTTP.Headers)
		out[pool] = p
	}
	return out
}
