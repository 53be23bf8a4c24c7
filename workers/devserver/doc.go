// Package devserver owns the desktop runtime's embedded Temporal: an
// in-process Temporal server persisted in one SQLite file (or in memory) and
// the Temporal Web UI served from the assets embedded in the ui-server module.
//
// It knows nothing of pools, tasks or parking; the worker and the HTTP API
// connect to it like to any other Temporal cluster.
package devserver
