package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookwatch/hookwatch"
)

// ClassifyStatus returns the class of an HTTP answer: ClassNone for 2xx.
func ClassifyStatus(status int) hookwatch.ErrorClass {
	switch {
	case status >= 200 && status < 300:
		return hookwatch.ClassNone
	case status == http.StatusGone:
		return hookwatch.ClassGone
	case status == http.StatusTooManyRequests:
		return hookwatch.ClassRateLimit
	case status == http.StatusRequestTimeout:
		return hookwatch.ClassTimeout
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusProxyAuthRequired:
		return hookwatch.ClassPermission
	case status >= 400 && status < 500:
		return hookwatch.ClassValidation
	case status >= 500 && status < 600:
		return hookwatch.ClassServer
	}
	// 1xx and 3xx (redirects are not followed): retried, the message says why.
	return hookwatch.ClassUnknown
}

// ClassifyError returns the class of a failed request, from the real error,
// and a short description without the URL (which may carry a token).
func ClassifyError(err error) (hookwatch.ErrorClass, string) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	var (
		dnsErr   *net.DNSError
		netErr   net.Error
		opErr    *net.OpError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		unkAuth  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalErr x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return hookwatch.ClassTimeout, "no answer within the destination's timeout"
	case errors.As(err, &dnsErr):
		return hookwatch.ClassConnection, "dns: " + dnsErr.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return hookwatch.ClassTimeout, msg
	case errors.Is(err, syscall.ECONNREFUSED):
		return hookwatch.ClassConnection, "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return hookwatch.ClassConnection, "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return hookwatch.ClassConnection, "host unreachable"
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invalErr):
		return hookwatch.ClassConnection, "tls: " + strings.TrimPrefix(msg, "tls: ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return hookwatch.ClassConnection, "connection closed before a complete answer"
	case errors.As(err, &opErr):
		return hookwatch.ClassConnection, msg
	case strings.Contains(msg, "tls:"):
		return hookwatch.ClassConnection, msg
	}
	return hookwatch.ClassUnknown, msg
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
