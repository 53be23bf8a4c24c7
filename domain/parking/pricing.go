package parking

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"time"
)

// Pricing limits. They keep every intermediate sum of a quote far inside
// int64 and make a runaway stay an error rather than a huge loop.
const (
	// PerMille is the multiplier that changes nothing: 1500 is 1.5x.
	PerMille = 1000
	// MaxFee bounds every configured amount, in minor units.
	MaxFee = 10_000_000_000
	// MaxMultiplier bounds peak and surge multipliers (10x).
	MaxMultiplier = 10 * PerMille
	// MaxGrace bounds the grace period.
	MaxGrace = 24 * time.Hour
	// MaxQuotedStay is the longest stay Quote prices; longer stays are
	// invalid_stay (auto-close tickets long before, see LotSpec.MaxStay).
	MaxQuotedStay = 400 * 24 * time.Hour
	// CapWindow is the length of a daily cap window, counted from entry.
	CapWindow = 24 * time.Hour
)

// Rules named in a quote's breakdown. Tier segments are named "tier_1",
// "tier_2", ... (TierRule).
const (
	RuleGrace      = "grace"
	RuleHourly     = "hourly"
	RuleDailyCap   = "daily_cap"
	RuleLostTicket = "lost_ticket"
)

// TierRule is the breakdown name of the tier at index i (zero-based) of
// PricingRules.Tiers: "tier_1" for index 0.
func TierRule(i int) string { return fmt.Sprintf("tier_%d", i+1) }

// Tier is one step of the tariff: a stay of at most UpTo costs Fee in total
// (the fee is cumulative, not added to the previous tiers).
type Tier struct {
	UpTo time.Duration `json:"upTo"`
	Fee  int64         `json:"fee"`
}

// PeakWindow raises (or, below 1000, lowers) the price of the time inside it.
type PeakWindow struct {
	// Name labels the window in breakdowns; default "peak_<n>" (1-based).
	Name string `json:"name,omitempty"`
	// Days are the weekdays on which the window starts; empty means every day.
	Days []time.Weekday `json:"days,omitempty"`
	// Start and End are wall-clock offsets from local midnight in the lot's
	// time zone: Start in [0, 24h), End in (0, 24h]. End <= Start makes an
	// overnight window that ends on the next day.
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	// Multiplier in per-mille, 1 to MaxMultiplier.
	Multiplier int `json:"multiplier"`
}

func (w PeakWindow) on(d time.Weekday) bool { return len(w.Days) == 0 || slices.Contains(w.Days, d) }

// Surge applies Multiplier to the whole ticket when the lot's occupancy at
// entry is at least ThresholdPerMille (900 = 90 % full). Multiplier 0 turns
// it off.
type Surge struct {
	ThresholdPerMille int `json:"thresholdPerMille,omitempty"`
	Multiplier        int `json:"multiplier,omitempty"`
}

func (s Surge) applies(occupancyPerMille int) bool {
	return s.Multiplier != 0 && occupancyPerMille >= s.ThresholdPerMille
}

// PricingRules is a lot's tariff. All amounts are integer minor units of
// Currency (cents for EUR); multipliers are integer per-mille. The model is
// described in the package documentation under "Pricing".
type PricingRules struct {
	Currency string `json:"currency"`
	// TimeZone is where peak windows are read; nil means UTC.
	TimeZone *time.Location `json:"-"`
	// Tiers in increasing UpTo with non-decreasing cumulative fees.
	Tiers []Tier `json:"tiers,omitempty"`
	// HourlyRate is charged per started hour past the last tier (from entry
	// when there are no tiers).
	HourlyRate int64 `json:"hourlyRate,omitempty"`
	// Grace: a stay no longer than Grace is free.
	Grace time.Duration `json:"grace,omitempty"`
	// DailyCap bounds what is charged in each 24 h window from entry; 0 means
	// no cap.
	DailyCap      int64        `json:"dailyCap,omitempty"`
	Peaks         []PeakWindow `json:"peaks,omitempty"`
	Surge         Surge        `json:"surge,omitzero"`
	LostTicketFee int64        `json:"lostTicketFee,omitempty"`
}

func (r PricingRules) loc() *time.Location {
	if r.TimeZone == nil {
		return time.UTC
	}
	return r.TimeZone
}

func (r PricingRules) clone() PricingRules {
	r.Tiers = slices.Clone(r.Tiers)
	r.Peaks = slices.Clone(r.Peaks)
	for i := range r.Peaks {
		r.Peaks[i].Days = slices.Clone(r.Peaks[i].Days)
	}
	return r
}

// Validate reports every problem of the rules at once, each an
// invalid_pricing *Error naming its field.
func (r PricingRules) Validate() error {
	p := &problems{code: CodeInvalidPricing}
	r.validate(p, "")
	return p.err()
}

func (r PricingRules) validate(p *problems, prefix string) {
	code := p.code
	p.code = CodeInvalidPricing
	defer func() { p.code = code }()
	if !validCurrency(r.Currency) {
		p.add(prefix+"currency", "%q is not an ISO 4217 code such as EUR", r.Currency)
	}
	var prev Tier
	for i, t := range r.Tiers {
		f := fmt.Sprintf("%stiers[%d]", prefix, i)
		if t.UpTo <= prev.UpTo || t.UpTo > MaxQuotedStay {
			p.add(f+".upTo", "is %v, must be greater than the previous tier's (%v) and at most %v", t.UpTo, prev.UpTo, MaxQuotedStay)
		}
		if t.Fee < prev.Fee || t.Fee > MaxFee {
			p.add(f+".fee", "is %d, fees are cumulative: at least the previous tier's (%d), at most %d", t.Fee, prev.Fee, int64(MaxFee))
		}
		prev = t
	}
	checkFee(p, prefix+"hourlyRate", r.HourlyRate)
	checkFee(p, prefix+"dailyCap", r.DailyCap)
	checkFee(p, prefix+"lostTicketFee", r.LostTicketFee)
	if r.Grace < 0 || r.Grace > MaxGrace {
		p.add(prefix+"grace", "is %v, must be between 0 and %v", r.Grace, MaxGrace)
	}
	for i, w := range r.Peaks {
		f := fmt.Sprintf("%speaks[%d]", prefix, i)
		if w.Start < 0 || w.Start >= 24*time.Hour {
			p.add(f+".start", "is %v, must be in [0, 24h)", w.Start)
		}
		if w.End <= 0 || w.End > 24*time.Hour {
			p.add(f+".end", "is %v, must be in (0, 24h]", w.End)
		}
		if w.End == w.Start {
			p.add(f+".end", "equals start; a window needs a length (end before start crosses midnight)")
		}
		checkMultiplier(p, f+".multiplier", w.Multiplier)
		for j, d := range w.Days {
			if d < time.Sunday || d > time.Saturday {
				p.add(fmt.Sprintf("%s.days[%d]", f, j), "%d is not a weekday (0 = Sunday .. 6 = Saturday)", int(d))
			} else if slices.Contains(w.Days[:j], d) {
				p.add(fmt.Sprintf("%s.days[%d]", f, j), "%v is listed twice", d)
			}
		}
	}
	if r.Surge.Multiplier != 0 {
		checkMultiplier(p, prefix+"surge.multiplier", r.Surge.Multiplier)
		if r.Surge.ThresholdPerMille < 1 || r.Surge.ThresholdPerMille > PerMille {
			p.add(prefix+"surge.thresholdPerMille", "is %d, must be between 1 and %d", r.Surge.ThresholdPerMille, PerMille)
		}
	}
}

func checkFee(p *problems, field string, fee int64) {
	if fee < 0 || fee > MaxFee {
		p.add(field, "is %d, must be between 0 and %d minor units", fee, int64(MaxFee))
	}
}

func checkMultiplier(p *problems, field string, m int) {
	if m < 1 || m > MaxMultiplier {
		p.add(field, "is %d, must be a per-mille value between 1 and %d (1500 = 1.5x)", m, MaxMultiplier)
	}
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// MarshalJSON encodes the rules with the time zone as a name.
func (r PricingRules) MarshalJSON() ([]byte, error) {
	type plain PricingRules
	return json.Marshal(struct {
		plain
		TimeZone string `json:"timeZone,omitempty"`
	}{plain(r), zoneName(r.TimeZone)})
}

// UnmarshalJSON decodes rules written by MarshalJSON.
func (r *PricingRules) UnmarshalJSON(b []byte) error {
	type plain PricingRules
	var aux struct {
		plain
		TimeZone string `json:"timeZone"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	loc, err := loadZone(aux.TimeZone)
	if err != nil {
		return err
	}
	*r = PricingRules(aux.plain)
	r.TimeZone = loc
	return nil
}

// Segment is one line of a quote's breakdown: the part of a charging unit
// (a tier or a started hour) between From and To, priced under one rule and
// one multiplier, or an adjustment (daily cap, lost ticket).
type Segment struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Rule is "grace", "tier_<n>", "hourly", "daily_cap" or "lost_ticket".
	Rule string `json:"rule"`
	// Multiplier is the per-mille multiplier applied: the peak multiplier
	// times the surge multiplier, rounded half-up to per-mille.
	Multiplier int `json:"multiplier"`
	// Amount is what this segment adds to the total; a daily cap adjustment
	// is negative.
	Amount int64 `json:"amount"`
	// Peak names the peak window in force, "" off-peak.
	Peak string `json:"peak,omitempty"`
	// Surge is set when the ticket's surge multiplier is part of Multiplier.
	Surge bool `json:"surge,omitempty"`
	// Window is the 24 h cap window the segment lies in, 0 for the first 24 h
	// after entry.
	Window int `json:"window"`
}

// Quote is the amount due for a stay, explained: the breakdown's amounts sum
// to Amount.
type Quote struct {
	Amount    int64         `json:"amount"`
	Currency  string        `json:"currency"`
	Entry     time.Time     `json:"entry"`
	At        time.Time     `json:"at"`
	Duration  time.Duration `json:"duration"`
	Surge     bool          `json:"surge,omitempty"`
	Lost      bool          `json:"lost,omitempty"`
	Breakdown []Segment     `json:"breakdown"`
}

// unit is one charging unit: a tier or a started hour past the last tier.
// Its fee is due in full as soon as the stay reaches past its start.
type unit struct {
	start, end time.Time
	fee        int64
	rule       string
}

func (r *PricingRules) lastTierEnd() time.Duration {
	if len(r.Tiers) == 0 {
		return 0
	}
	return r.Tiers[len(r.Tiers)-1].UpTo
}

// unitAt returns the i-th charging unit of a stay that began at entry, and
// false past the last one (there is no last one with an hourly rate).
func (r *PricingRules) unitAt(entry time.Time, i int) (unit, bool) {
	if i < len(r.Tiers) {
		var prev Tier
		if i > 0 {
			prev = r.Tiers[i-1]
		}
		return unit{entry.Add(prev.UpTo), entry.Add(r.Tiers[i].UpTo), r.Tiers[i].Fee - prev.Fee, TierRule(i)}, true
	}
	if r.HourlyRate == 0 {
		return unit{}, false
	}
	start := entry.Add(r.lastTierEnd() + time.Duration(i-len(r.Tiers))*time.Hour)
	return unit{start, start.Add(time.Hour), r.HourlyRate, RuleHourly}, true
}

// firstUnitAfter returns the index of the first unit that starts after t.
func (r *PricingRules) firstUnitAfter(entry, t time.Time) int {
	var prev time.Duration
	for i, tier := range r.Tiers {
		if entry.Add(prev).After(t) {
			return i
		}
		prev = tier.UpTo
	}
	base := entry.Add(prev)
	if r.HourlyRate == 0 || base.After(t) {
		return len(r.Tiers)
	}
	elapsed := t.Sub(base)
	if elapsed > MaxQuotedStay {
		elapsed = MaxQuotedStay // far beyond any priced stay; keeps the index small
	}
	return len(r.Tiers) + int(elapsed/time.Hour) + 1
}

// Quote prices a stay from entry to at. occupancyAtEntry is the lot's
// occupancy in per-mille when the vehicle came in (it decides the surge);
// lost adds the lost-ticket fee. An exit before entry is priced as a stay of
// zero. It fails with invalid_pricing for invalid rules and invalid_stay for
// a stay longer than MaxQuotedStay.
//
// Times in the quote are in the rules' time zone.
func (r PricingRules) Quote(entry, at time.Time, occupancyAtEntry int, lost bool) (Quote, error) {
	if err := r.Validate(); err != nil {
		return Quote{}, err
	}
	loc := r.loc()
	entry, at = entry.In(loc), at.In(loc)
	if at.Before(entry) {
		at = entry
	}
	d := at.Sub(entry)
	if d > MaxQuotedStay {
		return Quote{}, newError(CodeInvalidStay, "a stay of %v is longer than the %v that can be priced", d, MaxQuotedStay)
	}
	q := Quote{Currency: r.Currency, Entry: entry, At: at, Duration: d, Lost: lost, Breakdown: []Segment{}}
	surge := PerMille
	if r.Surge.applies(occupancyAtEntry) {
		surge, q.Surge = r.Surge.Multiplier, true
	}
	if r.Grace > 0 && d <= r.Grace {
		q.Breakdown = append(q.Breakdown, Segment{From: entry, To: at, Rule: RuleGrace, Multiplier: PerMille})
	} else {
		var units []unit
		for i := 0; ; i++ {
			u, ok := r.unitAt(entry, i)
			if !ok || !u.start.Before(at) {
				break
			}
			units = append(units, u)
		}
		if len(units) > 0 {
			spans := r.peakSpans(entry, units[len(units)-1].end)
			for _, u := range units {
				for len(spans) > 0 && !spans[0].to.After(u.start) {
					spans = spans[1:] // spans and units are both in time order
				}
				q.Breakdown = r.appendPieces(q.Breakdown, u, entry, spans, surge, q.Surge)
			}
		}
		q.Breakdown = r.applyCap(q.Breakdown, entry)
	}
	if lost {
		q.Breakdown = append(q.Breakdown, Segment{From: at, To: at, Rule: RuleLostTicket, Multiplier: PerMille,
			Amount: r.LostTicketFee, Window: int(d / CapWindow)})
	}
	for _, s := range q.Breakdown {
		q.Amount += s.Amount
	}
	return q, nil
}

// appendPieces splits a unit wherever the peak multiplier or (with a cap) the
// cap window changes and appends one priced segment per piece. A piece's
// amount is the unit fee's share for the piece's time times its multiplier,
// rounded half-up. spans are the peak spans from the unit on, in time order.
func (r *PricingRules) appendPieces(dst []Segment, u unit, entry time.Time, spans []span, surge int, surged bool) []Segment {
	cuts := []time.Time{u.start, u.end}
	if r.DailyCap > 0 {
		w := u.start.Sub(entry)/CapWindow + 1
		for edge := entry.Add(w * CapWindow); edge.Before(u.end); edge = edge.Add(CapWindow) {
			cuts = append(cuts, edge)
		}
	}
	for i, s := range spans {
		if !s.from.Before(u.end) {
			spans = spans[:i]
			break
		}
		if s.from.After(u.start) {
			cuts = append(cuts, s.from)
		}
		if s.to.Before(u.end) {
			cuts = append(cuts, s.to)
		}
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.CompactFunc(cuts, func(a, b time.Time) bool { return a.Equal(b) })
	length := u.end.Sub(u.start)
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]
		peak, name := PerMille, ""
		for _, s := range spans {
			if !from.Before(s.from) && from.Before(s.to) {
				peak, name = s.multiplier, s.name
				break
			}
		}
		m := (peak*surge + PerMille/2) / PerMille // half-up, both are positive
		dst = append(dst, Segment{
			From: from, To: to, Rule: u.rule, Multiplier: m,
			Amount: share(u.fee, to.Sub(from), length, m),
			Peak:   name, Surge: surged, Window: int(from.Sub(entry) / CapWindow),
		})
	}
	return dst
}

// share is fee * part/whole * multiplier/1000, rounded half-up, computed
// exactly: in 128-bit integers, or with math/big for units longer than about
// 213 days, whose length in nanoseconds times 1000 exceeds 64 bits.
// part <= whole keeps the quotient below fee*multiplier, far inside int64.
func share(fee int64, part, whole time.Duration, multiplier int) int64 {
	numHi, numLo := bits.Mul64(uint64(fee)*uint64(multiplier), uint64(part))
	denHi, den := bits.Mul64(uint64(whole), PerMille)
	if denHi != 0 {
		num := new(big.Int).Mul(big.NewInt(fee*int64(multiplier)), big.NewInt(int64(part)))
		return halfUpDiv(num, new(big.Int).Mul(big.NewInt(int64(whole)), big.NewInt(PerMille)))
	}
	q, rem := bits.Div64(numHi, numLo, den)
	if rem >= den-rem {
		q++
	}
	return int64(q)
}

// halfUpDiv is num/den rounded half-up, for num >= 0 and den > 0.
func halfUpDiv(num, den *big.Int) int64 {
	n := new(big.Int).Lsh(num, 1)
	n.Add(n, den)
	d := new(big.Int).Lsh(den, 1)
	return n.Quo(n, d).Int64()
}

// applyCap appends, after the last segment of each cap window whose charges
// exceed DailyCap, an adjustment that brings the window back to the cap.
func (r *PricingRules) applyCap(segs []Segment, entry time.Time) []Segment {
	if r.DailyCap == 0 || len(segs) == 0 {
		return segs
	}
	out := make([]Segment, 0, len(segs)+1)
	window, sum := segs[0].Window, int64(0)
	flush := func() {
		if sum > r.DailyCap {
			from := entry.Add(time.Duration(window) * CapWindow)
			out = append(out, Segment{From: from, To: from.Add(CapWindow), Rule: RuleDailyCap,
				Multiplier: PerMille, Amount: r.DailyCap - sum, Window: window})
		}
	}
	for _, s := range segs {
		if s.Window != window {
			flush()
			window, sum = s.Window, 0
		}
		out = append(out, s)
		sum += s.Amount
	}
	flush()
	return out
}

// span is a stretch of time under one peak window.
type span struct {
	from, to   time.Time
	multiplier int
	name       string
	index      int // in PricingRules.Peaks
}

// peakSpans returns the peak time inside [from, to), sorted and without
// overlaps: where windows overlap, the highest multiplier wins (the first
// window in configuration order on a tie). Window edges are wall-clock times
// in the rules' time zone, resolved by time.Date: a start inside a
// spring-forward gap moves later by the gap, a time inside the fall-back
// overlap takes its second occurrence.
func (r *PricingRules) peakSpans(from, to time.Time) []span {
	if len(r.Peaks) == 0 {
		return nil
	}
	loc := r.loc()
	type interval struct {
		from, to time.Time
		index    int
	}
	var ivs []interval
	y, m, d := from.In(loc).Date()
	// Start a day early: an overnight window of the previous day may still run.
	for k := -1; ; k++ {
		day := time.Date(y, m, d+k, 0, 0, 0, 0, loc)
		if !day.Before(to) {
			break
		}
		for i, w := range r.Peaks {
			if !w.on(day.Weekday()) {
				continue
			}
			endDay := d + k
			if w.End <= w.Start {
				endDay++
			}
			s, e := wallClock(y, m, d+k, w.Start, loc), wallClock(y, m, endDay, w.End, loc)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if s.Before(e) {
				ivs = append(ivs, interval{s, e, i})
			}
		}
	}
	if len(ivs) == 0 {
		return nil
	}
	// Sweep over the interval edges, keeping how many intervals of each
	// window are open (windows of one configuration entry never overlap
	// each other, but entries may overlap).
	type edge struct {
		at    time.Time
		index int
		delta int
	}
	edges := make([]edge, 0, 2*len(ivs))
	for _, iv := range ivs {
		edges = append(edges, edge{iv.from, iv.index, 1}, edge{iv.to, iv.index, -1})
	}
	slices.SortStableFunc(edges, func(a, b edge) int { return a.at.Compare(b.at) })
	open := make([]int, len(r.Peaks))
	var spans []span
	for k := 0; k < len(edges); {
		now := edges[k].at
		for ; k < len(edges) && edges[k].at.Equal(now); k++ {
			open[edges[k].index] += edges[k].delta
		}
		if k == len(edges) {
			break
		}
		best := -1
		for i, n := range open {
			if n > 0 && (best < 0 || r.Peaks[i].Multiplier > r.Peaks[best].Multiplier) {
				best = i
			}
		}
		if best < 0 {
			continue
		}
		next := edges[k].at
		if n := len(spans); n > 0 && spans[n-1].to.Equal(now) && spans[n-1].index == best {
			spans[n-1].to = next
			continue
		}
		spans = append(spans, span{from: now, to: next, multiplier: r.Peaks[best].Multiplier, name: r.peakName(best), index: best})
	}
	return spans
}

func (r *PricingRules) peakName(i int) string {
	if r.Peaks[i].Name != "" {
		return r.Peaks[i].Name
	}
	return fmt.Sprintf("peak_%d", i+1)
}

// wallClock is the instant at offset off after midnight on the local day
// y-m-d, read on the wall clock (so 07:00 stays 07:00 across a DST change).
func wallClock(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	h := int(off / time.Hour)
	off -= time.Duration(h) * time.Hour
	mi := int(off / time.Minute)
	off -= time.Duration(mi) * time.Minute
	s := int(off / time.Second)
	off -= time.Duration(s) * time.Second
	return time.Date(y, m, d, h, mi, s, int(off), loc)
}

// NextBoundary returns the first instant after `after` at which the running
// amount of a stay that began at entry moves to a new rule: the end of the
// grace period or the start of a charging unit (a tier edge or a started
// hour) that charges something. An exit at the returned instant is still
// priced as before; any later exit is priced under the new rule, so a ticket
// can sleep until then. It reports false when the amount never changes
// again (within MaxQuotedStay) or the rules are invalid.
//
// Peak window edges and cap window starts are not boundaries of their own:
// a unit's peak share and cap window are priced when the unit starts (see
// the package documentation). A boundary may leave the amount unchanged
// when its cap window is already capped; callers re-quote and compare.
func (r PricingRules) NextBoundary(entry, after time.Time) (time.Time, bool) {
	if r.Validate() != nil {
		return time.Time{}, false
	}
	entry = entry.In(r.loc())
	horizon := entry.Add(MaxQuotedStay)
	grace := entry.Add(r.Grace)
	if after.Before(grace) {
		for i := 0; ; i++ {
			u, ok := r.unitAt(entry, i)
			if !ok || u.start.After(grace) {
				break
			}
			if u.fee > 0 {
				return grace, true
			}
		}
		after = grace
	}
	for i := r.firstUnitAfter(entry, after); ; i++ {
		u, ok := r.unitAt(entry, i)
		if !ok || u.start.After(horizon) {
			return time.Time{}, false
		}
		if u.fee > 0 && u.start.After(after) {
			return u.start, true
		}
	}
}
