package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// failureKinds are the failures that make a rule fire: the issue an alert
// links to is one of those.
func failureKinds(r Rule) map[hookwatch.FailureKind]bool {
	switch r.Kind {
	case hookwatch.AlertDeadLetters:
		return map[hookwatch.FailureKind]bool{hookwatch.FailureDeadLetter: true}
	case hookwatch.AlertRejected:
		return map[hookwatch.FailureKind]bool{hookwatch.FailureSignature: true}
	}
	return map[hookwatch.FailureKind]bool{hookwatch.FailureAttempt: true, hookwatch.FailureDeadLetter: true}
}

// causes tallies the failures of the rule's kinds recorded in its window
// (or, for rules without one, the longest window read) for one subject, by
// fingerprint (source, destination, class), most first.
func causes(r Rule, subject string, in *inputs) []hookwatch.FailureCount {
	var d *data
	for _, w := range windowsOf(r) {
		if x := in.windows[w]; x != nil && (d == nil || len(x.failures) > len(d.failures)) {
			d = x
		}
	}
	if d == nil || len(d.failures) == 0 {
		var longest time.Duration
		for w, x := range in.windows {
			if w.window > longest {
				d, longest = x, w.window
			}
		}
	}
	if d == nil {
		return nil
	}
	kinds, key := failureKinds(r), keyFunc(r)
	tally := map[[3]string]int{}
	for _, c := range d.failures {
		dst := c.Destination
		if c.Kind == hookwatch.FailureSignature {
			dst = ""
		}
		if kinds[c.Kind] && key(c.Source, dst) == subject {
			tally[[3]string{c.Source, c.Destination, c.Class}] += c.Count
		}
	}
	var out []hookwatch.FailureCount
	for k, n := range tally {
		out = append(out, hookwatch.FailureCount{Source: k[0], Destination: k[1], Class: k[2], Count: n})
	}
	sortCauses(out)
	return out
}

func sortCauses(cs []hookwatch.FailureCount) {
	less := func(a, b hookwatch.FailureCount) bool {
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Source+"|"+a.Destination+"|"+a.Class < b.Source+"|"+b.Destination+"|"+b.Class
	}
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && less(cs[j], cs[j-1]); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// relatedIssue returns the issue an alert links to: the one whose failures
// make the rule fire (most failures of the rule's kind in its window, for
// its subject), else the most recently seen open production issue of the
// subject of the right kind. It is chosen when the alert fires and kept in
// its state until it resolves.
func (e *Evaluator) relatedIssue(ctx context.Context, r Rule, subject string, in *inputs) string {
	if r.Kind == hookwatch.AlertStoreSize || r.Kind == hookwatch.AlertDiskFree {
		return "" // about the store, not about failures
	}
	no := false
	for _, c := range causes(r, subject, in) {
		is, err := e.opts.Store.ListIssues(ctx, hookwatch.IssueFilter{Source: c.Source, Destination: c.Destination, Class: c.Class, Test: &no, Limit: 1})
		if err == nil && len(is) > 0 {
			return is[0].ID
		}
	}
	f := hookwatch.IssueFilter{Status: hookwatch.IssueOpen, Test: &no, Source: r.Source, Destination: r.Destination, Limit: 20}
	switch {
	case strings.HasPrefix(subject, "destination:"):
		f.Destination = strings.TrimPrefix(subject, "destination:")
	case strings.HasPrefix(subject, "source:"):
		f.Source = strings.TrimPrefix(subject, "source:")
	}
	is, err := e.opts.Store.ListIssues(ctx, f)
	if err != nil {
		e.opts.Logger.Warn("alert: finding the related issue failed", "rule", r.Name, "subject", subject, "error", err)
		return ""
	}
	for _, i := range is {
		switch r.Kind {
		case hookwatch.AlertDeadLetters:
			if i.DeadLetters > 0 {
				return i.ID
			}
		case hookwatch.AlertRejected:
			if i.Kind == hookwatch.FailureSignature {
				return i.ID
			}
		default:
			if i.Kind != hookwatch.FailureSignature {
				return i.ID
			}
		}
	}
	return ""
}

// details gathers what the on-call engineer needs besides the summary: the
// destination and its last answer, the backlog, how long it has held, what
// is affected and what to do. Lookups that fail leave their fields empty:
// a notification with fewer details beats none.
func (e *Evaluator) details(ctx context.Context, r Rule, subject string, kind hookwatch.NotificationKind, old, next hookwatch.AlertState,
	issueID string, m measurement, in *inputs, now time.Time) *hookwatch.AlertDetails {
	d := &hookwatch.AlertDetails{Headline: who(subject) + ": " + what(r)}
	dest := concerned(subject)
	if dest == "" {
		dest = r.Destination
	}
	if dest != "" {
		d.Destination, d.URL = dest, hookwatch.RedactURL(e.opts.Destinations[dest])
	}
	key := keyFunc(r)
	if r.Kind == hookwatch.AlertCircuitOpen && r.Per == "" && r.Destination == "" {
		key = func(string, string) string { return "all" }
	}
	sources := map[string]bool{}
	for _, b := range in.backlogs {
		if b.Pending > 0 && key(b.Source, b.Destination) == subject {
			d.Backlog += b.Pending
			sources[b.Source] = true
			if age := now.Sub(b.Oldest).Seconds(); age > d.OldestWaiting {
				d.OldestWaiting = round(age, 0)
			}
		}
	}
	for _, c := range causes(r, subject, in) {
		sources[c.Source] = true
	}
	switch kind {
	case hookwatch.NotifyResolved:
		d.Since, d.Cleared = old.Since, m.summary
		d.Lasted = round(now.Sub(old.Since).Seconds(), 0)
	default:
		d.Since = next.Since
	}
	types := map[string]bool{}
	if issueID != "" {
		e.lastFailure(ctx, issueID, d, sources, types)
	}
	d.Sources, d.EventTypes = sortedKeys(sources), sortedKeys(types)
	since := d.Since
	if since.IsZero() {
		since = now
	}
	d.NextStep, d.Command = nextStep(r, subject, dest, kind, now.Sub(since)+r.Window)
	return d
}

// lastFailure fills the last failed attempt's status and answer from the
// issue's most recent failures, and the sources and event types affected
// from a sample of them (at most 10 events read).
func (e *Evaluator) lastFailure(ctx context.Context, issueID string, d *hookwatch.AlertDetails, sources, types map[string]bool) {
	fs, err := e.opts.Store.IssueFailures(ctx, issueID, 20)
	if err != nil {
		e.opts.Logger.Warn("alert: reading the issue's failures failed", "issue", issueID, "error", err)
		return
	}
	read := map[string]bool{}
	for _, f := range fs {
		sources[f.Source] = true
		if d.LastError == "" {
			d.LastError = firstLine(f.Message, 200)
			if f.DeliveryID != "" {
				if _, attempts, err := e.opts.Store.GetDelivery(ctx, f.DeliveryID); err == nil && len(attempts) > 0 {
					a := attempts[len(attempts)-1]
					d.LastStatus = a.StatusCode
					if line := answerLine(a); line != "" {
						d.LastError = line
					}
				}
			}
		}
		if f.EventID != "" && !read[f.EventID] && len(read) < 10 {
			read[f.EventID] = true
			if ev, err := e.opts.Store.GetEvent(ctx, f.EventID); err == nil && ev.Type != "" {
				types[ev.Type] = true
			}
		}
	}
}

// answerLine is the first line of an attempt's answer, or its error when
// there was no answer.
func answerLine(a *hookwatch.Attempt) string {
	if len(a.Response) > 0 {
		if text, enc := hookwatch.TextOrHex(a.Response); enc == "" {
			if l := firstLine(text, 200); l != "" {
				return l
			}
		} else {
			return fmt.Sprintf("(binary answer, %d bytes)", len(a.Response))
		}
	}
	return firstLine(a.Error, 200)
}

// sinceArg is a --since value covering d: whole minutes under an hour,
// whole hours above.
func sinceArg(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%dm", int((d+time.Minute-1)/time.Minute))
	}
	return fmt.Sprintf("%dh", int((d+time.Hour-1)/time.Hour))
}

// nextStep says what to do about an alert, and the command that does it.
// span is how far back the alert's events go (its duration plus window).
func nextStep(r Rule, subject, dest string, kind hookwatch.NotificationKind, span time.Duration) (step, command string) {
	since := sinceArg(span)
	if r.Kind == hookwatch.AlertStoreSize || r.Kind == hookwatch.AlertDiskFree {
		if kind == hookwatch.NotifyResolved {
			return "", ""
		}
		return "See what the store holds and how far back (retention in the config shortens it; on SQLite, `hookwatch store vacuum` gives free pages back):", "hookwatch health"
	}
	if r.Kind == hookwatch.AlertRejected {
		src := strings.TrimPrefix(subject, "source:")
		if src == subject {
			src = r.Source
		}
		flag := ""
		if src != "" {
			flag = " --source " + src
		}
		if kind == hookwatch.NotifyResolved {
			return "Requests that failed verification meanwhile are kept in the quarantine; release those that were genuine:",
				"hookwatch quarantine release" + flag + " --since " + since + " --dry-run"
		}
		return "Check the signing secret of the source (a rotation on the provider's side?); rejected requests are kept. Once fixed, release them:",
			"hookwatch quarantine release" + flag + " --since " + since + " --dry-run"
	}
	if dest == "" {
		if kind == hookwatch.NotifyResolved {
			return "", ""
		}
		return "See which destination fails or lags:", "hookwatch health"
	}
	replay := "hookwatch replay --destination " + dest + " --status dead --since " + since
	if kind == hookwatch.NotifyResolved {
		return "If deliveries were dead-lettered meanwhile, replay them:", replay
	}
	switch r.Kind {
	case hookwatch.AlertCircuitOpen:
		return "Fix " + dest + ": its deliveries wait (none is lost) and the circuit probes it until it answers 2xx. Then replay what was dead-lettered:", replay
	case hookwatch.AlertOrderingBlocked:
		return "A delivery to " + dest + " keeps failing and holds the later deliveries of its ordering key (the others flow). Fix what it fails on (hookwatch deliveries list --destination " + dest + "), or, with on_dead: block, replay the dead one:", replay
	case hookwatch.AlertLatency, hookwatch.AlertBacklogAge:
		return "Check that " + dest + " answers quickly and that workers keep up (hookwatch destinations list). Dead letters, if any, can be replayed:", replay
	}
	return "Fix " + dest + ": failed deliveries are retried on their own. Once it answers 2xx again, replay the dead letters:", replay
}
