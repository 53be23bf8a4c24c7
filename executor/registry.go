package executor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

var kindPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Registry maps task kinds to executors. It is safe for concurrent use; the
// usual life is to register everything at worker start-up and only look up
// afterwards.
type Registry struct {
	mu        sync.RWMutex
	executors map[string]Executor
}

// NewRegistry returns an empty registry; Builtins returns one that already
// holds sleep, exec and http.
func NewRegistry() *Registry {
	return &Registry{executors: make(map[string]Executor)}
}

// Register makes e run tasks of the given kind. The kind must match
// [a-z0-9][a-z0-9_-]* (it travels in configs, CLI flags and URLs) and must not
// be registered already: replacing an executor silently would hide a wiring
// mistake.
func (r *Registry) Register(kind string, e Executor) error {
	if !kindPattern.MatchString(kind) {
		return &Error{Code: CodeInvalidKind, Kind: kind, Message: fmt.Sprintf(
			"executor kind %q is invalid: use lower-case letters, digits, '_' and '-', starting with a letter or digit (like %q)",
			kind, "llm-call")}
	}
	if e == nil {
		return &Error{Code: CodeNilExecutor, Kind: kind, Message: fmt.Sprintf(
			"executor for kind %q is nil: pass an Executor (an executor.Func works for a plain function)", kind)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.executors[kind]; ok {
		return &Error{Code: CodeDuplicateKind, Kind: kind, Message: fmt.Sprintf(
			"executor kind %q is already registered: register each kind once, or pick another name", kind)}
	}
	r.executors[kind] = e
	return nil
}

// Lookup returns the executor for kind. For an unknown kind it returns a
// permanent *Error with Code CodeUnknownKind that lists the known kinds.
func (r *Registry) Lookup(kind string) (Executor, error) {
	r.mu.RLock()
	e, ok := r.executors[kind]
	r.mu.RUnlock()
	if ok {
		return e, nil
	}
	known := r.Kinds()
	msg := fmt.Sprintf("unknown executor kind %q: known kinds are %s", kind, strings.Join(known, ", "))
	if len(known) == 0 {
		msg = fmt.Sprintf("unknown executor kind %q: no executors are registered", kind)
	}
	return nil, permanentf(CodeUnknownKind, kind, msg)
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	kinds := make([]string, 0, len(r.executors))
	for k := range r.executors {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}
