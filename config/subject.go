package config

import (
	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/provider"
)

// SubjectNone in sources[].subject turns off the provider's default.
const SubjectNone = "none"

// SubjectPath returns the source's effective subject path: sources[].subject,
// else the provider's default (provider.Info.Subject: Stripe's
// data.object.customer, Paddle's data.customer_id), and "" for none.
func (s Source) SubjectPath() string {
	switch s.Subject {
	case SubjectNone:
		return ""
	case "":
		info, _ := provider.Lookup(s.Provider)
		return info.Subject
	}
	return s.Subject
}

// validateSubject checks sources[i].subject (p is "sources[i]").
func (s Source) validateSubject(p string, bad func(path, format string, args ...any)) {
	if s.Subject == "" || s.Subject == SubjectNone {
		return
	}
	if _, err := hookwatch.ParseSubjectPath(s.Subject); err != nil {
		bad(p+".subject", "%q is not a dotted path of JSON keys such as data.object.customer (array items by index: items.0.email), or none", s.Subject)
	}
}
