package hookwatch

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Defaults of a destination's settings: what the delivery engine applies to
// a zero setting. They are plain values here, beside the domain, so that the
// configuration can print what runs (config show) without depending on the
// engine, and the engine applies the same ones.
const (
	// DefaultDeliveryTimeout bounds one attempt.
	DefaultDeliveryTimeout = 30 * time.Second
	// DefaultMaxInFlight caps a destination's concurrent attempts.
	DefaultMaxInFlight = 32
	// DefaultCircuitFailures consecutive transient failures open the circuit.
	DefaultCircuitFailures = 10
	// DefaultCircuitCooldown is the first wait before a probe.
	DefaultCircuitCooldown = 30 * time.Second
	// DefaultRetryMaxAge is how long after being queued a delivery is retried.
	DefaultRetryMaxAge = 72 * time.Hour
	// DefaultRetryInitial is the backoff ceiling of the first retry.
	DefaultRetryInitial = 5 * time.Second
	// DefaultRetryMaxBackoff caps the backoff ceiling (raised to the initial
	// one when that is larger).
	DefaultRetryMaxBackoff = time.Hour
	// DefaultTransformTimeout bounds one run of a destination's transform.
	DefaultTransformTimeout = 50 * time.Millisecond
)

// ClassPolicy is how failures of one error class are retried.
type ClassPolicy struct {
	// Retry false dead-letters a delivery at its first failure of the class.
	Retry bool
	// MaxAttempts, when positive, dead-letters a delivery whose attempts
	// reach it with a failure of this class (it is lower than the policy's).
	MaxAttempts int
}

// DefaultClassPolicies returns the default behaviour by class (a new map
// each call): transient failures (server, connection, timeout, rate
// limiting, unknown) are retried for the whole policy; a payload or
// credentials the app rejects (400/422, 401/403) are retried 3 times, in
// case a deploy was half done, then dead-lettered rather than hammered for
// three days: fix, then replay. gone (410) is not a policy matter: it
// disables the destination and the delivery waits.
func DefaultClassPolicies() map[ErrorClass]ClassPolicy {
	return map[ErrorClass]ClassPolicy{
		ClassValidation: {Retry: true, MaxAttempts: 3},
		ClassPermission: {Retry: true, MaxAttempts: 3},
		ClassRateLimit:  {Retry: true},
		ClassServer:     {Retry: true},
		ClassConnection: {Retry: true},
		ClassTimeout:    {Retry: true},
		ClassUnknown:    {Retry: true},
		ClassGone:       {Retry: true},
	}
}

// SigningSecretPrefix starts a Standard Webhooks signing secret: whsec_
// then the key in base64.
const SigningSecretPrefix = "whsec_"

// ParseSigningSecret decodes a "whsec_<base64>" signing secret (a
// destination's, a webhook alert channel's) into the HMAC key, as Standard
// Webhooks libraries do. The error says how to make a valid one and never
// contains the secret.
func ParseSigningSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SigningSecretPrefix)
	if !ok {
		return nil, fmt.Errorf("a destination secret is %s followed by base64 (generate one: echo %s$(head -c 32 /dev/urandom | base64))", SigningSecretPrefix, SigningSecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("the part after %s is not valid base64", SigningSecretPrefix)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("the key is %d bytes: use at least 16 (24 to 64 is usual)", len(key))
	}
	return key, nil
}
