// Package pool owns the state of one resource pool and every decision about it: admission,
// queue order, tenant fairness, backfilling, expiry of queued tasks, usage accounting, holder
// leases and reconfiguration.
//
// The package is pure. It must not import Temporal or anything of the project, and it does no
// I/O: time always comes in as an argument and no output depends on map iteration order. That
// is what lets a Temporal workflow hold a *Pool, feed it signals and timer firings, turn the
// returned decisions into commands, and get the same decisions again on replay. A Pool
// round-trips through encoding/json and behaves identically afterwards, which is how the
// workflow carries it across continue-as-new.
//
// # Admission
//
// Acquire checks, in this order: the request is valid; the task id is not already holding or
// queued (a repeated signal gets the current status back, never a second entry); the pool is
// not disabled, not draining; max_units is not zero; the units fit in max_units; the deadline,
// if any, is after now. The task then starts at once when its units fit and no queued task
// comes before it in scheduling order (or the backfill rule below lets it pass); otherwise it
// is queued with its 1-based position, unless the queue already holds max_queue_depth tasks,
// in which case it is rejected with queue_full and leaves no trace but a counter.
//
// Active units never exceed max_units through admissions. A holder's usage report can push
// the accounting over (it counts max(declared, used)); admissions then stop until the pool is
// back at or under capacity. Shrinking max_units never preempts a holder either.
//
// # Queue order
//
// Higher priority first. Within a priority, the strict policy is FIFO by arrival (a sequence
// number, not wall time, so equal clocks cannot reorder). The fair policy takes turns between
// tenants, each tenant FIFO internally: the tenant served last goes to the back of the turn
// order, and a tenant that starts waiting is placed just before the tenant served last. So a
// tenant's burst cannot starve another tenant's single task, which is at most second in its
// priority level when two tenants compete, and no tenant is granted twice in a row at a
// priority while another tenant has a task there that fits in max_units.
//
// The first task in that order is the head. Without backfill the head blocks: when it does not
// fit, nothing behind it starts, so large tasks are not starved by a stream of small ones.
// A task larger than max_units (possible only after max_units shrank) keeps its place but is
// passed over until max_units grows back, it expires or it is cancelled; in the fair policy
// its tenant's turn goes to that tenant's next task that fits.
//
// # Backfill
//
// With Config.Backfill on, the pool does EASY backfilling. When the head does not fit, it
// computes the head's shadow time: the earliest time enough units are free for the head,
// assuming every holder keeps its units until its lease ends (granted-at + timeout + lease
// grace, or the renewed lease). The spare units are what is left at the shadow time once the
// head has taken its share. A task behind the head may start now when its units fit now and
// either its own lease would end no later than the shadow time, or its units fit in the spare
// units. Either way it cannot delay the head's start. When the shadow time is unknown (some
// holder has no timeout and the head needs its units) nothing is backfilled.
//
// # Expiry and leases
//
// A queued task whose deadline is at or before now never starts: operations that can start
// tasks first set such tasks aside, and Expire reports them. NextDeadline tells the workflow
// when to set its timer. Each holder has a lease; DueLeases lists holders whose lease passed,
// so the workflow can check them and Reclaim the dead ones, so capacity cannot leak when a task
// workflow dies without releasing.
package pool
