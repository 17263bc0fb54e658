package config

// What a source dedupes on (sources[].dedupe).
const (
	// DedupeID remembers the provider's event ID (the default): a retry
	// keeps it and is absorbed.
	DedupeID = "id"
	// DedupeBody remembers the SHA-256 of the exact body: the same body
	// within the dedupe horizon is a duplicate whatever its delivery ID,
	// for providers that sign no ID or timestamp (GitHub, Shopify,
	// GitLab...), where a captured request can be sent again with a new
	// delivery ID.
	DedupeBody = "body"
)

// DedupesBody reports whether the source dedupes on the body.
func (s Source) DedupesBody() bool { return s.Dedupe == DedupeBody }

// validateDedupe checks sources[i].dedupe (p is "sources[i]").
func (s Source) validateDedupe(p string, bad func(path, format string, args ...any)) {
	switch s.Dedupe {
	case DedupeID, DedupeBody:
	default:
		bad(p+".dedupe", "%q is not id (the provider's event ID) or body (the body's SHA-256)", s.Dedupe)
	}
}
