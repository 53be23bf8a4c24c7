package sqlite

// BuildQuery exposes the audit query text to the plan test.
var BuildQuery = buildQuery
