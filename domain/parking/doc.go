// Package parking owns Parklot's parking domain: vehicles, spots and lots
// (built from a LotSpec), the compatibility and allocation rules that place a
// vehicle, the pricing rules that turn a stay into an explained amount, and
// the ticket lifecycle.
//
// It is pure, deterministic Go. It must not import Temporal or any other
// package of this project, and it does no I/O: time always comes in as an
// argument, nothing reads a clock or the environment, and no output depends
// on map iteration order. The one exception is decoding JSON, which loads a
// lot's time zone by name with time.LoadLocation; binaries should import
// time/tzdata so every machine resolves zones alike.
//
// # Compatibility
//
// A compact spot takes a small vehicle, a regular spot a small or medium one,
// an oversized spot any. A large vehicle may instead take Contiguous (default
// 2) adjacent free regular spots of one row, never across rows or levels,
// when no oversized spot it may use is free; with Contiguous 1 it takes
// oversized spots only.
//
// Accessible and EV spots go only to vehicles that ask for them, unless the
// lot allows overflow, and then only as a last resort. A vehicle that asks
// for a flag prefers spots with it (accessible weighs more than EV) but
// falls back to plain spots rather than being turned away.
//
// # Allocation
//
// Park tries, in order: single spots whose flags the vehicle asked for, by
// flag set (best match first); for a large vehicle, a contiguous run of
// regular spots whose flags it asked for; then, with overflow only, single
// spots with flags it did not ask for (EV before accessible) and runs over
// any regular spots. Within each step the lot's strategy picks:
//
//   - first_available: the lowest level, row, position.
//   - nearest: the smallest Location.Distance to the entrance
//     (|Δlevel|*LevelWeight + |Δrow|*RowWeight + |Δposition|); a run's
//     distance is that of its spot nearest to the entrance.
//   - best_fit: the smallest kind that fits, then the lowest location.
//   - fill_level: levels in order of distance from the entrance level (the
//     lower level first on a tie); the first level with a usable spot,
//     nearest spot (or run) within it.
//
// Every remaining tie goes to the lower location, which is the order spot
// ids are generated in. Free spots sit in indexed heaps per (kind, flag set,
// level) keyed by the strategy, so a park or an exit is O(log n) plus a look
// at a few heap tops per level. Each row keeps, in a small segment tree, its
// longest run of free regular spots per flag set (O(log row length) per
// change), so a large vehicle's search skips rows that cannot fit it and
// scans only rows that can, nearest first, stopping once no later row can
// be nearer.
//
// Park returns lot_full when no spot is free at all and no_compatible_spot
// when spots are free but none may take the vehicle.
//
// # Pricing
//
// Money is int64 minor units, multipliers are int per-mille (1500 = 1.5x);
// nothing uses floating point. A stay is charged in units: each tier
// [previous UpTo, UpTo) costs the difference of the cumulative fees, then
// every started hour past the last tier costs HourlyRate. A unit is due in
// full as soon as the stay reaches past its start (a stay of exactly UpTo
// stays in that tier). A stay no longer than Grace is free; past it, the
// whole stay is charged from entry.
//
// Peak windows: a unit's fee is spread evenly over the unit's own duration,
// and each part is multiplied by the peak multiplier in force for it (the
// highest of overlapping windows). So a started hour that is half inside a
// 1.5x window costs 1.25x, decided when the hour starts. Windows are
// wall-clock times in the lot's time zone, so a window from 01:00 to 04:00
// lasts 2 h on the night clocks go forward in Europe/Berlin and 4 h on the
// night they go back, while tiers and hours are always real elapsed time.
//
// Surge: when the occupancy at entry is at least the threshold, the surge
// multiplier applies to every unit of the ticket. A segment's multiplier is
// peak*surge/1000 rounded half-up to per-mille.
//
// Rounding: each segment's amount is fee * (segment length / unit length) *
// multiplier/1000 computed exactly and rounded half-up to a minor unit, once
// per segment; the total is the sum of the segments.
//
// Daily cap: the charges whose segments lie in each 24 h window counted from
// entry (not calendar days) are capped at DailyCap, multipliers included; the
// excess is listed as a negative "daily_cap" segment after the window's last
// segment. The lost-ticket fee is added last, uncapped and unmultiplied.
//
// Breakdown: every unit is split wherever the peak multiplier or (with a
// cap) the cap window changes, and each piece is one Segment. Because a unit
// is charged whole when it starts, the segments of the last unit may extend
// past the exit; they show what the started unit costs. The amount is then
// a non-decreasing step function of the exit time that moves only at the
// end of the grace period and at unit starts, which is what NextBoundary
// returns.
package parking
