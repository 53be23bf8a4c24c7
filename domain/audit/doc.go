// Package audit owns the vocabulary of the audit trail: events, the subjects
// they concern (task, tenant, pool, mailbox and the parking subjects), event
// types, event ids and the query that retrieves events by subject and time.
//
// It is pure Go: no I/O, no clock (time always comes in as an argument), no
// Temporal and no other Parklot package. Stores (storage/...) implement the
// retrieval; the rules for what a valid event or query is live here so that
// every backend enforces the same ones.
package audit
