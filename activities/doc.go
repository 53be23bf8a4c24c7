// Package activities owns Parklot's Temporal activities: running a task's
// executor with heartbeats and cancellation, and telling a pool manager which
// task workflows no longer run. Activities are methods on one struct that
// holds their dependencies; each says whether it is idempotent.
package activities
