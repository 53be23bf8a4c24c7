// Package executor owns how a granted task actually runs: the Executor
// interface, the Registry that maps a task's kind to its executor, the
// per-pool Policy that says what the built-in executors may do, and the three
// built-ins: sleep (demos and tests), exec (a local command, only where the
// pool's config enables it) and http (a POST to the pool's configured URL).
//
// People who embed the worker register their own executors (an LLM call, a
// GPU job) with Registry.Register; see the example.
//
// The package must not import Temporal or any other Parklot package. An
// activity adapts it to Temporal: Reporter.Progress becomes a heartbeat,
// Reporter.ReportUsage becomes a usage report to the pool, cancellation
// arrives through ctx, and an error for which IsPermanent is true becomes a
// non-retryable application error (Error.Code is a stable type for it).
// Configuration arrives once, as typed Policy values built by the caller from
// the pool config; nothing here reads the environment or files on its own.
package executor
