package pool

import (
	"math/rand"
	"reflect"
	"testing"
)

// The invariants checked after every operation (see harness_test.go):
//
//   - Admissions never take active units over max_units: after any start, active <= max_units.
//     Only usage reports may push it over, and then nothing starts until it is back under.
//   - Every task reaches exactly one terminal state: the model follows each task id through
//     queued and running, fails on any transition from a state it is not in, and at the end
//     every task started is ended once (released, reclaimed, dropped, expired or rejected).
//   - A new task never takes the queue over max_queue_depth, and a rejection leaves no trace.
//   - Priority: a start in scheduling order (not backfill) never happens while a task of
//     higher priority that fits in max_units waits.
//   - Fairness, exactly: under the fair policy, if two consecutive in-order starts at one
//     priority (at once or from the queue; backfills excluded) go to the same tenant, then at
//     the second start no other tenant had a task waiting at that priority that fits in
//     max_units.
//   - Backfill never delays the head: the head's shadow time with the tasks just backfilled
//     equals its shadow time without them.
//   - No head that fits is left waiting (unless a usage report lowered accounting since the
//     last admission pass, which only Admit or the next release turns into starts).
//   - The internal indexes agree with one another, and Position agrees with the order walked.
//   - A JSON round trip changes nothing observable.

func TestRandomOperationSequencesKeepEveryInvariant(t *testing.T) {
	seeds := 3000
	if testing.Short() {
		seeds = 300
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		r := rand.New(rand.NewSource(seed))
		src := randSource{r}
		h := newHarness(t, genConfig(src))
		n := 50 + r.Intn(250)
		for range n {
			h.apply(genOp(src))
		}
		h.finish()
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

func TestJSONRoundTripAtARandomPointGivesIdenticalDecisions(t *testing.T) {
	seeds := 1000
	if testing.Short() {
		seeds = 100
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		r := rand.New(rand.NewSource(seed))
		src := randSource{r}
		cfg := genConfig(src)
		ops := make([]op, 60+r.Intn(200))
		for i := range ops {
			ops[i] = genOp(src)
		}
		cut := r.Intn(len(ops))

		straight := newHarness(t, cfg)
		for _, o := range ops {
			straight.apply(o)
		}
		resumed := newHarness(t, cfg)
		for i, o := range ops {
			if i == cut {
				resumed.p = roundTrip(t, resumed.p)
			}
			resumed.apply(o)
		}
		for i := range ops {
			if !reflect.DeepEqual(straight.out[i], resumed.out[i]) {
				t.Fatalf("seed %d, round trip before op %d: op %d (%s) answered\n%#v\nafter the round trip, but\n%#v\nwithout",
					seed, cut, i, ops[i], resumed.out[i], straight.out[i])
			}
		}
		if a, b := mustJSON(t, straight.p), mustJSON(t, resumed.p); string(a) != string(b) {
			t.Fatalf("seed %d: final states differ:\n%s\n%s", seed, a, b)
		}
	}
}

// FuzzOperations decodes bytes into a configuration and an operation sequence, and runs it
// through the harness, which checks every invariant above after each operation.
func FuzzOperations(f *testing.F) {
	for seed := int64(1); seed <= 16; seed++ {
		r := rand.New(rand.NewSource(seed))
		b := make([]byte, 64+r.Intn(1500))
		r.Read(b)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{12, 3, 1, 0, 0, 5, 2, 0, 0, 10, 0, 0, 1, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{b: data}
		h := newHarness(t, genConfig(src))
		for steps := 0; !src.done() && steps < 2000; steps++ {
			h.apply(genOp(src))
		}
		h.finish()
	})
}
