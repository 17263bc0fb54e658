package provider

// registry lists every provider Hookwatch knows, by the lowercase word used
// in the config's `provider:` key. It is built explicitly (no init-time
// self-registration) so the whole catalogue can be read in one place.
var registry = map[string]Info{
	"stripe":           {Name: "stripe", Summary: "Stripe: Stripe-Signature t=,v1= HMAC-SHA256 hex of {t}.{body}, whsec_ secret used as is", Subject: "data.object.customer", New: newStripe},
	"github":           {Name: "github", Summary: "GitHub: X-Hub-Signature-256 sha256= HMAC-SHA256 hex of the body", New: newGitHub},
	"shopify":          {Name: "shopify", Summary: "Shopify: X-Shopify-Hmac-Sha256 HMAC-SHA256 base64 of the body", New: newShopify},
	"slack":            {Name: "slack", Summary: "Slack: X-Slack-Signature v0= HMAC-SHA256 hex of v0:{timestamp}:{body}; answers url_verification", New: newSlack},
	"standardwebhooks": {Name: "standardwebhooks", Summary: "Standard Webhooks: webhook-signature v1, HMAC-SHA256 base64 of {id}.{timestamp}.{body}, whsec_ base64 key; v1a Ed25519 with whpk_ public keys", New: newStandardWebhooksAny},
	"svix":             {Name: "svix", Summary: "Svix: Standard Webhooks with svix-* (or webhook-*) headers", New: newSvix},
	"hmac":             {Name: "hmac", Summary: "Generic HMAC of the body (or a {timestamp}.{body} template) in one header; see options", New: newHMAC},
	"twilio":           {Name: "twilio", Summary: "Twilio: X-Twilio-Signature HMAC-SHA1 base64 of the URL + sorted POST params (JSON: bodySHA256 URL param)", NeedsPublicURL: true, New: newTwilio},
	"paddle":           {Name: "paddle", Summary: "Paddle Billing: Paddle-Signature ts=;h1= HMAC-SHA256 hex of {ts}:{body}", Subject: "data.customer_id", New: newPaddle},
	"square":           {Name: "square", Summary: "Square: x-square-hmacsha256-signature HMAC-SHA256 base64 of notification URL + body", NeedsPublicURL: true, New: newSquare},
	"pagerduty":        {Name: "pagerduty", Summary: "PagerDuty v3: X-PagerDuty-Signature v1= HMAC-SHA256 hex of the body, comma separated", New: newPagerDuty},
	"hubspot":          {Name: "hubspot", Summary: "HubSpot: X-HubSpot-Signature-v3 HMAC-SHA256 base64 of method+URI+body+timestamp(ms); options.version 1, 2 or 3", Methods: []string{"GET"}, New: newHubSpot},
	"sendgrid":         {Name: "sendgrid", Summary: "SendGrid: X-Twilio-Email-Event-Webhook-Signature ECDSA P-256 over timestamp+body; secret is the verification key", New: newSendGrid},
	"discord":          {Name: "discord", Summary: "Discord: X-Signature-Ed25519 over timestamp+body; secret is the hex public key; answers PING", New: newDiscord},
	"gitlab":           {Name: "gitlab", Summary: "GitLab: X-Gitlab-Token equal to the secret token", New: newGitLab},
	"linear":           {Name: "linear", Summary: "Linear: Linear-Signature HMAC-SHA256 hex of the body; webhookTimestamp (ms) in the body", New: newLinear},
	"mailgun":          {Name: "mailgun", Summary: "Mailgun: signature object in the body, HMAC-SHA256 hex of timestamp+token; tokens are single-use", New: newMailgun},
	"twitch":           {Name: "twitch", Summary: "Twitch EventSub: sha256= HMAC-SHA256 hex of message-id+timestamp+body; answers the callback challenge", New: newTwitch},
	"zoom":             {Name: "zoom", Summary: "Zoom: x-zm-signature v0= HMAC-SHA256 hex of v0:{timestamp}:{body}; answers endpoint.url_validation", New: newZoom},
	"typeform":         {Name: "typeform", Summary: "Typeform: Typeform-Signature sha256= HMAC-SHA256 base64 of the body", New: newTypeform},
	"lemonsqueezy":     {Name: "lemonsqueezy", Summary: "Lemon Squeezy: X-Signature HMAC-SHA256 hex of the body", New: newLemonSqueezy},
	"intercom":         {Name: "intercom", Summary: "Intercom: X-Hub-Signature sha1= HMAC-SHA1 hex of the body", New: newIntercom},
	"vercel":           {Name: "vercel", Summary: "Vercel: x-vercel-signature HMAC-SHA1 hex of the body", New: newVercel},
	"calendly":         {Name: "calendly", Summary: "Calendly: Calendly-Webhook-Signature t=,v1= HMAC-SHA256 hex of {t}.{body}", New: newCalendly},
	"zendesk":          {Name: "zendesk", Summary: "Zendesk: X-Zendesk-Webhook-Signature HMAC-SHA256 base64 of timestamp+body", New: newZendesk},
	"clerk":            {Name: "clerk", Summary: "Clerk: Svix signatures (svix-id, svix-timestamp, svix-signature, whsec_ secret)", New: newClerk},
	"resend":           {Name: "resend", Summary: "Resend: Svix signatures (svix-id, svix-timestamp, svix-signature, whsec_ secret)", New: newResend},
}
