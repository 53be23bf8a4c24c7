// Package workflows owns Parklot's Temporal workflows and their protocol:
// workflow ids, signal, query and update names, and the payloads that cross
// them. Workflows are thin: they feed signals and timers into the domain
// (domain/pool) and turn its decisions into commands. Everything here must be
// deterministic; it must not do I/O or read the clock except through the
// workflow API.
package workflows
