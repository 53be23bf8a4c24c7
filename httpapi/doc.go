// Package httpapi owns Parklot's HTTP surface served by every worker: the
// JSON API for web clients and gateways (tasks, pools, mailboxes with a
// Server-Sent Events stream, audit), the live dashboard at /, /health,
// /metrics and the OpenAPI document it is specified by (openapi.yaml, a copy
// of docs/openapi.yaml that a test keeps identical).
//
// It talks to Temporal through package api, and to the audit stores through
// activities.Stores. Authentication happens upstream: a gateway sets the
// tenant, user and session headers (Trust) and this package enforces that a
// request stays within them when they are authoritative. It must not import
// workflows' internals beyond their protocol types, nor any worker package.
package httpapi
