// Package node owns one running Parklot node: a Temporal worker with every
// workflow and activity registered, a pool manager ensured for every
// configured pool, and the HTTP endpoint (/health, /metrics). Both
// `parklot-worker dev` and `parklot-worker run` start a node; they differ
// only in where the Temporal client points.
package node
