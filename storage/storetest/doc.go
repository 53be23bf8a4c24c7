// Package storetest owns the behaviour every storage.Mailbox and
// storage.Audit backend must have: the contract suites RunMailbox and
// RunAudit, which each backend's tests run, and PostgresDSN, the one helper
// that gives a test its own PostgreSQL schema.
//
// It is test support: only _test.go files may import it. It imports storage
// and the domain packages, never a concrete backend.
package storetest
