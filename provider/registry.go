package provider

// registry lists every provider Hookwatch knows, by the lowercase word used
// in the config's `provider:` key. It is built explicitly (no init-time
// self-registration) so the whole catalogue can be read in one place.
var registry = map[string]Info{
	"stripe":           {Name: "stripe", Summary: "Stripe: Stripe-Signature t=,v1= HMAC-SHA256 hex of {t}.{body}, whsec_ secret used as is", New: newStripe},
	"github":           {Name: "github", Summary: "GitHub: X-Hub-Signature-256 sha256= HMAC-SHA256 hex of the body", New: newGitHub},
	"shopify":          {Name: "shopify", Summary: "Shopify: X-Shopify-Hmac-Sha256 HMAC-SHA256 base64 of the body", New: newShopify},
	"slack":            {Name: "slack", Summary: "Slack: X-Slack-Signature v0= HMAC-SHA256 hex of v0:{timestamp}:{body}; answers url_verification", New: newSlack},
	"standardwebhooks": {Name: "standardwebhooks", Summary: "Standard Webhooks: webhook-signature v1, HMAC-SHA256 base64 of {id}.{timestamp}.{body}, whsec_ base64 key", New: newStandardWebhooks},
	"svix":             {Name: "svix", Summary: "Svix: Standard Webhooks with svix-* (or webhook-*) headers", New: newSvix},
	"hmac":             {Name: "hmac", Summary: "Generic HMAC of the body (or a {timestamp}.{body} template) in one header; see options", New: newHMAC},
}
