package provider

// Clerk signs its webhooks with Svix: svix-id, svix-timestamp and
// svix-signature ("v1,<base64>" entries, space separated), HMAC-SHA256 of
// "{id}.{timestamp}.{body}" keyed with the base64 after `whsec_`. The
// Standard Webhooks scheme verifies it; this registration only names it.
func newClerk(cfg Config) (Scheme, error) {
	return newStandard("clerk", swSvix, cfg)
}
