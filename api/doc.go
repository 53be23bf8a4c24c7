// Package api owns the client side of Parklot's protocol: submitting,
// following, cancelling and listing tasks, and reading and steering pools,
// over a Temporal client. The CLI, the HTTP API, the demo and the benchmark
// all go through it, so they cannot disagree about the protocol.
package api
