package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parklot/parklot/domain/parking"
)

// Spec converts the configured lot into the parking domain's specification
// and checks it with the domain's own rules (parking.NewLot), so a lot that
// Spec accepts always builds. Besides what Validate checks, the domain
// bounds amounts (parking.MaxFee), multipliers (10x), stays (400 days) and
// row names (1 to 8 letters or digits, no '_' or '-'). Every mistake is
// reported at once as Problems with paths under lots.<name>, in the file's
// key names.
//
// Level names have no place in the domain: spots are numbered by level
// index ("L0-A-03"), whatever the level is called.
func (l Lot) Spec(name string) (parking.LotSpec, error) {
	path := "lots." + name
	loc, err := time.LoadLocation(l.Timezone)
	if err != nil || l.Timezone == "" || l.Timezone == "Local" {
		return parking.LotSpec{}, Problems{{Path: path + ".timezone",
			Message: fmt.Sprintf("unknown time zone %q; use an IANA name such as Europe/Berlin or UTC", l.Timezone)}}
	}
	spec := parking.LotSpec{
		Name:          name,
		Entrance:      parking.Location{Level: l.Entrance.Level, Row: l.Entrance.Row, Position: l.Entrance.Position},
		Strategy:      parking.Strategy(l.Strategy),
		Contiguous:    l.ContiguousSpots,
		AllowOverflow: l.AllowOverflow,
		MaxStay:       l.MaxStay,
		TimeZone:      loc,
		Currency:      l.Currency,
		Pricing:       l.Pricing.rules(),
	}
	for _, lv := range l.Levels {
		level := parking.LevelSpec{Rows: make([]parking.RowSpec, 0, len(lv.Rows))}
		for _, r := range lv.Rows {
			kind := r.Kind
			if kind == "" && len(r.Kinds) == 0 {
				kind = SpotRegular // the documented default of a row built in code
			}
			row := parking.RowSpec{
				Name: r.Name, Kind: parking.SpotKind(kind), Count: r.Count,
				Accessible: append([]int(nil), r.Accessible...), EV: append([]int(nil), r.EVCharging...),
			}
			for _, k := range r.Kinds {
				row.Kinds = append(row.Kinds, parking.SpotKind(k))
			}
			level.Rows = append(level.Rows, row)
		}
		spec.Levels = append(spec.Levels, level)
	}
	if _, err := parking.NewLot(spec); err != nil {
		return parking.LotSpec{}, specProblems(path, err)
	}
	return spec, nil
}

// rules converts the tariff; time zone and currency come from the lot.
func (p Pricing) rules() parking.PricingRules {
	r := parking.PricingRules{
		Grace:         p.GracePeriod,
		HourlyRate:    p.HourlyRate,
		DailyCap:      p.DailyCap,
		LostTicketFee: p.LostTicketFee,
	}
	for _, t := range p.Tiers {
		r.Tiers = append(r.Tiers, parking.Tier{UpTo: t.UpTo, Fee: t.Fee})
	}
	for _, pk := range p.Peak {
		r.Peaks = append(r.Peaks, parking.PeakWindow{
			Days:       append([]time.Weekday(nil), pk.Days...),
			Start:      time.Duration(pk.Start) * time.Minute,
			End:        time.Duration(pk.End) * time.Minute,
			Multiplier: int(pk.Multiplier),
		})
	}
	if s := p.Surge; s != nil {
		r.Surge = parking.Surge{ThresholdPerMille: int(s.Threshold), Multiplier: int(s.Multiplier)}
	}
	return r
}

// domainKeys renames the domain's field names to the file's keys, longest
// first where one is a prefix of another.
var domainKeys = strings.NewReplacer(
	"pricing.timeZone", "timezone",
	"timeZone", "timezone",
	"maxStay", "max_stay",
	"contiguous", "contiguous_spots",
	"upTo", "up_to",
	"hourlyRate", "hourly_rate",
	"dailyCap", "daily_cap",
	"lostTicketFee", "lost_ticket_fee",
	"grace", "grace_period",
	"peaks[", "peak[",
	"thresholdPerMille", "threshold",
	".ev[", ".ev_charging[",
)

// specProblems turns the domain's validation errors into Problems.
func specProblems(path string, err error) Problems {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	ps := make(Problems, 0, len(errs))
	for _, e := range errs {
		var pe *parking.Error
		if !errors.As(e, &pe) {
			ps = append(ps, Problem{Path: path, Message: e.Error()})
			continue
		}
		p := Problem{Path: path, Message: pe.Message}
		if pe.Field != "" {
			p.Path += "." + domainKeys.Replace(pe.Field)
		}
		if p.Message == "" {
			p.Message = string(pe.Code)
		}
		ps = append(ps, p)
	}
	return ps
}
