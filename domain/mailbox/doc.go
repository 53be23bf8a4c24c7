// Package mailbox owns the vocabulary of task-outcome mailboxes: the mailbox
// key (tenant, optional user, optional session), the message a finished task
// leaves in it, message ids, read cursors and read limits.
//
// It is pure Go: no I/O, no clock (time always comes in as an argument), no
// Temporal and no other Parklot package. Stores (storage/...), the mailbox
// workflow and the CLI all share these rules, so a mailbox behaves the same
// whichever of them answers a read.
package mailbox
