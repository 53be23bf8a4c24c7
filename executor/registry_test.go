package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
)

var echo = Func(func(_ context.Context, t Task, _ Reporter) (json.RawMessage, error) { return t.Payload, nil })

func TestRegisterAcceptsValidKinds(t *testing.T) {
	for _, kind := range []string{"a", "0", "llm", "llm-call", "gpu_job", "v2", "a-b_c-9"} {
		if err := NewRegistry().Register(kind, echo); err != nil {
			t.Errorf("Register(%q) = %v, want nil", kind, err)
		}
	}
}

func TestRegisterRefusesInvalidKinds(t *testing.T) {
	for _, kind := range []string{"", "LLM", "Llm", "-llm", "_llm", "llm call", "llm.call", "llm/call", "llmé", " llm"} {
		t.Run(fmt.Sprintf("%q", kind), func(t *testing.T) {
			r := NewRegistry()
			wantError(t, r.Register(kind, echo), CodeInvalidKind, false, fmt.Sprintf("%q is invalid", kind))
			if len(r.Kinds()) != 0 {
				t.Errorf("Kinds() = %v after a refused Register", r.Kinds())
			}
		})
	}
}

func TestRegisterRefusesADuplicateKindAndKeepsTheFirst(t *testing.T) {
	r := NewRegistry()
	if err := r.Register("llm", echo); err != nil {
		t.Fatal(err)
	}
	other := Func(func(context.Context, Task, Reporter) (json.RawMessage, error) { return json.RawMessage(`"other"`), nil })
	wantError(t, r.Register("llm", other), CodeDuplicateKind, false, `"llm" is already registered`)
	e, err := r.Lookup("llm")
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := e.Execute(context.Background(), Task{Payload: json.RawMessage(`"first"`)}, nil); string(out) != `"first"` {
		t.Errorf("the duplicate replaced the first executor: got %s", out)
	}
}

func TestRegisterRefusesANilExecutor(t *testing.T) {
	wantError(t, NewRegistry().Register("llm", nil), CodeNilExecutor, false, `"llm" is nil`)
}

func TestLookupOfAnUnknownKindIsPermanentAndNamesTheKnownKinds(t *testing.T) {
	r := Builtins(nil)
	_, err := r.Lookup("llm")
	wantError(t, err, CodeUnknownKind, true, `unknown executor kind "llm": known kinds are exec, http, sleep`)
}

func TestLookupInAnEmptyRegistrySaysNothingIsRegistered(t *testing.T) {
	_, err := NewRegistry().Lookup("sleep")
	wantError(t, err, CodeUnknownKind, true, `unknown executor kind "sleep": no executors are registered`)
}

func TestKindsAreSorted(t *testing.T) {
	r := NewRegistry()
	for _, k := range []string{"zeta", "alpha", "mid", "0first"} {
		if err := r.Register(k, echo); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := r.Kinds(), []string{"0first", "alpha", "mid", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("Kinds() = %v, want %v", got, want)
	}
}

func TestBuiltinsRegistersSleepExecAndHTTPAndTakesMore(t *testing.T) {
	r := Builtins(map[string]Policy{"jobs": {}})
	if got, want := r.Kinds(), []string{"exec", "http", "sleep"}; !slices.Equal(got, want) {
		t.Fatalf("Kinds() = %v, want %v", got, want)
	}
	if err := r.Register("llm", echo); err != nil {
		t.Fatalf("Register on Builtins: %v", err)
	}
	wantError(t, r.Register("sleep", echo), CodeDuplicateKind, false)
}

func TestBuiltinsCopiesThePolicies(t *testing.T) {
	policies := map[string]Policy{"jobs": {Exec: ExecPolicy{Enabled: true, Commands: []string{"/bin/echo"}}}}
	r := Builtins(policies)
	policies["jobs"].Exec.Commands[0] = "/bin/sh"
	policies["other"] = Policy{Exec: ExecPolicy{Enabled: true}}

	e, err := r.Lookup(KindExec)
	if err != nil {
		t.Fatal(err)
	}
	_, err, _ = run(context.Background(), t, e, task(KindExec, `{"command":"/bin/sh","args":["-c","true"]}`))
	wantError(t, err, CodeNotAllowed, true, `command "/bin/sh" is not allowed for pool "jobs"`)
	other := task(KindExec, `{"command":"/bin/echo"}`)
	other.Pool = "other"
	_, err, _ = run(context.Background(), t, e, other)
	wantError(t, err, CodeNotAllowed, true, `exec is not enabled for pool "other"`)
}

func TestFuncIsAnExecutor(t *testing.T) {
	var e Executor = echo
	out, err := e.Execute(context.Background(), Task{Payload: json.RawMessage(`{"x":1}`)}, nil)
	if err != nil || string(out) != `{"x":1}` {
		t.Errorf("Execute = %s, %v", out, err)
	}
}

func TestRegistryIsSafeForConcurrentUse(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			kind := fmt.Sprintf("k%d", i)
			if err := r.Register(kind, echo); err != nil {
				t.Error(err)
			}
			for range 100 {
				if _, err := r.Lookup(kind); err != nil {
					t.Error(err)
				}
				r.Kinds()
			}
		})
	}
	wg.Wait()
	if n := len(r.Kinds()); n != 8 {
		t.Errorf("len(Kinds()) = %d, want 8", n)
	}
}
