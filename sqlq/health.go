package sqlq

import "github.com/hookwatch/hookwatch"

// Traffic computes with scan the figures of q's window, one grouped query
// a figure; see hookwatch.HealthStore.
func (d Dialect) Traffic(q hookwatch.TrafficQuery, scan Scan) ([]hookwatch.Traffic, error) {
	var rows hookwatch.TrafficRows
	// window returns the conditions that keep the time column col in
	// [since, until) and, unless q.Test, test (a boolean column) false.
	window := func(c *Conds, col, test string, since, until any) *Conds {
		c.Add(col+" >= ? AND "+col+" < ?", since, until)
		c.Add("(? OR "+d.NotTest(test)+")", q.Test)
		return c
	}
	since, until := d.Time(q.Since), d.Time(q.Until)
	c := window(New(d.Style), "received_at", "test", since, until)
	if err := scan(rows.ScanAccepted, `SELECT source, test, count(*) FROM events
		WHERE `+c.Where()+`
		GROUP BY source, test ORDER BY source, test`, c.Args); err != nil {
		return nil, err
	}
	// Processing time counts from the event's receipt, or from its replay.
	lat := `(d.completed_at - ` + d.Greatest("e.received_at", "d.queued_at") + `)`
	c = New(d.Style)
	c.Add("d.status = 'succeeded'")
	window(c, "d.completed_at", "e.test", since, until)
	if err := scan(rows.ScanDelivered, `SELECT e.source, d.destination, e.test, count(*), `+d.SumMicros(lat)+d.Latencies(lat)+`
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE `+c.Where()+`
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, c.Args); err != nil {
		return nil, err
	}
	c = window(New(d.Style), "a.at", "e.test", since, until)
	c.Add("a.class <> ''")
	if err := scan(rows.ScanFailed, `SELECT e.source, d.destination, e.test, a.class, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE `+c.Where()+`
		GROUP BY e.source, d.destination, e.test, a.class ORDER BY e.source, d.destination, e.test, a.class`, c.Args); err != nil {
		return nil, err
	}
	c = New(d.Style)
	c.Add("d.status = 'dead'")
	window(c, "d.completed_at", "e.test", since, until)
	if err := scan(rows.ScanDeadLetters, `SELECT e.source, d.destination, e.test, count(*)
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE `+c.Where()+`
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, c.Args); err != nil {
		return nil, err
	}
	if w := q.Within; w > 0 {
		// An event received at t counts in the SLO of the window its
		// objective ends in: [Since-Within, Until-Within).
		c = New(d.Style)
		good := d.CountIf("d.status = 'succeeded' AND d.completed_at - e.received_at <= " + d.Micros(c.Arg(w.Microseconds())))
		window(c, "e.received_at", "e.test", d.Time(q.Since.Add(-w)), d.Time(q.Until.Add(-w)))
		if err := scan(rows.ScanSLO, `SELECT e.source, d.destination, e.test, count(*), `+good+`
			FROM events e JOIN deliveries d ON d.event_id = e.id
			WHERE `+c.Where()+`
			GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, c.Args); err != nil {
			return nil, err
		}
	}
	return rows.List(), nil
}
