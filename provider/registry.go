package provider

// registry lists every provider Hookwatch knows, by the lowercase word used
// in the config's `provider:` key. It is built explicitly (no init-time
// self-registration) so the whole catalogue can be read in one place.
var registry = map[string]Info{}
