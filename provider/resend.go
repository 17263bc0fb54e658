package provider

// Resend signs its webhooks with Svix (svix-id, svix-timestamp,
// svix-signature, `whsec_` secret), verified by the Standard Webhooks scheme;
// this registration only names it.
func newResend(cfg Config) (Scheme, error) {
	return newStandard("resend", swSvix, cfg)
}
