package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/parklot/parklot/domain/parking"
	"github.com/parklot/parklot/workflows"
)

// ParkOutput is what `parklot park` prints: the ticket, or the refusal.
type ParkOutput struct {
	TicketID         string       `json:"ticketId,omitempty"`
	Lot              string       `json:"lot"`
	Plate            string       `json:"plate"`
	Spots            []string     `json:"spots,omitempty"`
	EntryTime        time.Time    `json:"entryTime,omitzero"`
	OccupancyAtEntry int          `json:"occupancyAtEntry,omitempty"`
	Surge            bool         `json:"surge,omitempty"`
	Reason           parking.Code `json:"reason,omitempty"`
	Message          string       `json:"message,omitempty"`
}

// ExitOutput is what `parklot exit` and `parklot void` print.
type ExitOutput struct {
	TicketID  string               `json:"ticketId,omitempty"`
	Lot       string               `json:"lot"`
	Status    parking.TicketStatus `json:"status,omitempty"`
	Plate     string               `json:"plate,omitempty"`
	Spots     []string             `json:"spots,omitempty"`
	EntryTime time.Time            `json:"entryTime,omitzero"`
	ExitTime  time.Time            `json:"exitTime,omitzero"`
	Amount    int64                `json:"amount"`
	Currency  string               `json:"currency,omitempty"`
	// Duration is a Go duration ("2h15m0s").
	Duration  string            `json:"duration,omitempty"`
	Breakdown []parking.Segment `json:"breakdown,omitempty"`
	Reason    parking.Code      `json:"reason,omitempty"`
	Message   string            `json:"message,omitempty"`
}

// TicketOutput is what `parklot ticket` prints.
type TicketOutput struct {
	TicketID    string               `json:"ticketId"`
	Lot         string               `json:"lot"`
	Status      parking.TicketStatus `json:"status"`
	Plate       string               `json:"plate"`
	Spots       []string             `json:"spots"`
	EntryTime   time.Time            `json:"entryTime"`
	AmountSoFar int64                `json:"amountSoFar"`
	Currency    string               `json:"currency"`
	NextChange  time.Time            `json:"nextChange,omitzero"`
	AutoCloseAt time.Time            `json:"autoCloseAt,omitzero"`
	ClosedAt    time.Time            `json:"closedAt,omitzero"`
	Breakdown   []parking.Segment    `json:"breakdown"`
}

func lotCommand() *cli.Command {
	return &cli.Command{
		Name:  "lot",
		Usage: "read a parking lot",
		Subcommands: []*cli.Command{{
			Name:      "status",
			Usage:     "show a lot's spots: free by kind, occupied, per level",
			ArgsUsage: "LOT",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 || strings.TrimSpace(c.Args().First()) == "" {
					return fmt.Errorf("lot status needs a lot name: parklot lot status LOT")
				}
				a, closeFn, err := dial(c)
				if err != nil {
					return err
				}
				defer closeFn()
				st, err := a.LotStatus(c.Context, c.Args().First())
				if err != nil {
					return err
				}
				return emit(c, st, func(w io.Writer) { printLotStatus(w, st) })
			},
		}},
	}
}

func parkCommand() *cli.Command {
	return &cli.Command{
		Name:  "park",
		Usage: "park a vehicle: prints its ticket and spots, or why the lot turned it away (exit 3)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lot", Required: true, Usage: "lot to park in"},
			&cli.StringFlag{Name: "plate", Required: true, Usage: "licence plate (case, spaces and dashes do not matter)"},
			&cli.StringFlag{Name: "type", Usage: "car (default), van, truck or motorcycle"},
			&cli.StringFlag{Name: "size", Usage: "small, medium or large (default: from the type)"},
			&cli.BoolFlag{Name: "accessible", Usage: "needs an accessible spot"},
			&cli.BoolFlag{Name: "ev", Usage: "wants an EV charging spot"},
		},
		Action: func(c *cli.Context) error {
			v := parking.Vehicle{
				Plate: c.String("plate"), Type: parking.VehicleType(c.String("type")), Size: parking.Size(c.String("size")),
				WantsAccessible: c.Bool("accessible"), WantsEV: c.Bool("ev"),
			}
			norm, err := v.Normalize()
			if err != nil {
				return flagError(err)
			}
			a, closeFn, err := dial(c)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := a.Park(c.Context, c.String("lot"), v)
			if err != nil {
				return flagError(err)
			}
			out := ParkOutput{
				TicketID: res.TicketID, Lot: c.String("lot"), Plate: norm.Plate, Spots: res.Spots, EntryTime: res.EntryTime,
				OccupancyAtEntry: res.OccupancyAtEntry, Surge: res.Surge, Reason: res.Reason, Message: res.Message,
			}
			if err := emit(c, out, func(w io.Writer) {
				if res.Refused() {
					fmt.Fprintf(w, "lot %s turned %s away: %s (%s)\n", out.Lot, out.Plate, out.Reason, out.Message)
					return
				}
				fmt.Fprintf(w, "ticket %s: %s parked on %s at %s\n", out.TicketID, out.Plate, strings.Join(out.Spots, ", "), rfc3339(out.EntryTime))
				if out.Surge {
					fmt.Fprintf(w, "surge pricing applies: the lot was %d‰ full\n", out.OccupancyAtEntry)
				}
			}); err != nil {
				return err
			}
			if res.Refused() {
				return cli.Exit("", exitRefused)
			}
			return nil
		},
	}
}

func exitCommand() *cli.Command {
	return &cli.Command{
		Name:  "exit",
		Usage: "let a vehicle out and print what it owes, with the breakdown",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ticket", Usage: "ticket id"},
			&cli.BoolFlag{Name: "lost", Usage: "the ticket is lost: adds the lost-ticket fee; without --ticket, find it by --plate in --lot"},
			&cli.StringFlag{Name: "plate", Usage: "plate of a vehicle whose ticket is lost (with --lost and --lot)"},
			&cli.StringFlag{Name: "lot", Usage: "lot of a lost ticket found by plate"},
		},
		Action: func(c *cli.Context) error {
			req := workflows.ExitRequest{TicketID: c.String("ticket"), Plate: c.String("plate"), Lost: c.Bool("lost")}
			switch {
			case req.TicketID == "" && !req.Lost:
				return errors.New("exit needs --ticket, or --lost with --plate and --lot when the ticket is lost")
			case req.TicketID == "" && (req.Plate == "" || c.String("lot") == ""):
				return errors.New("--lost without --ticket finds the vehicle by --plate in --lot: give both")
			}
			a, closeFn, err := dial(c)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := a.Exit(c.Context, c.String("lot"), req)
			if err != nil {
				return flagError(err)
			}
			return emitExit(c, res)
		},
	}
}

func voidCommand() *cli.Command {
	return &cli.Command{
		Name:  "void",
		Usage: "cancel a ticket without a charge and release its spots (operators)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ticket", Required: true, Usage: "ticket id"},
			&cli.StringFlag{Name: "note", Usage: "why, for the audit trail"},
		},
		Action: func(c *cli.Context) error {
			a, closeFn, err := dial(c)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := a.Void(c.Context, c.String("ticket"), c.String("note"))
			if err != nil {
				return flagError(err)
			}
			return emitExit(c, res)
		},
	}
}

func ticketCommand() *cli.Command {
	return &cli.Command{
		Name:      "ticket",
		Usage:     "show a ticket and its amount so far, also after it closed",
		ArgsUsage: "TICKET-ID",
		Action: func(c *cli.Context) error {
			id, err := oneArg(c, "a ticket id")
			if err != nil {
				return err
			}
			a, closeFn, err := dial(c)
			if err != nil {
				return err
			}
			defer closeFn()
			tv, err := a.Ticket(c.Context, id)
			if err != nil {
				return err
			}
			out := TicketOutput{
				TicketID: tv.TicketID, Lot: tv.Lot, Status: tv.Status, Plate: tv.Plate, Spots: tv.Spots, EntryTime: tv.EntryTime,
				AmountSoFar: tv.AmountSoFar, Currency: tv.Currency, NextChange: tv.NextChange, AutoCloseAt: tv.AutoCloseAt,
				ClosedAt: tv.ClosedAt, Breakdown: tv.Breakdown,
			}
			return emit(c, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				row := func(k, v string) {
					if v != "" {
						fmt.Fprintf(tw, "%s\t%s\n", k, v)
					}
				}
				row("ticket", out.TicketID)
				row("lot", out.Lot)
				row("status", string(out.Status))
				row("plate", out.Plate)
				row("spots", strings.Join(out.Spots, ", "))
				row("entered", rfc3339(out.EntryTime))
				label := "amount so far"
				if out.Status != parking.TicketOpen {
					label = "amount"
				}
				row(label, money(out.AmountSoFar, out.Currency))
				row("next change", rfc3339(out.NextChange))
				row("auto-closes", rfc3339(out.AutoCloseAt))
				row("closed", rfc3339(out.ClosedAt))
				tw.Flush()
				printBreakdown(w, out.Breakdown, out.Currency)
			})
		},
	}
}

// emitExit prints an exit or a void; a refusal exits 3.
func emitExit(c *cli.Context, res workflows.ExitResult) error {
	out := ExitOutput{
		TicketID: res.TicketID, Lot: res.Lot, Status: res.Status, Plate: res.Plate, Spots: res.Spots,
		EntryTime: res.EntryTime, ExitTime: res.ExitTime, Amount: res.Amount, Currency: res.Currency,
		Breakdown: res.Breakdown, Reason: res.Reason, Message: res.Message,
	}
	if !res.Refused() {
		out.Duration = res.Duration.String()
	}
	if err := emit(c, out, func(w io.Writer) {
		if res.Refused() {
			fmt.Fprintf(w, "lot %s refused: %s (%s)\n", out.Lot, out.Reason, out.Message)
			return
		}
		stay := res.Duration.Round(time.Second)
		if stay == 0 {
			stay = res.Duration.Round(time.Millisecond)
		}
		fmt.Fprintf(w, "ticket %s: %s, %s owes %s for %s\n", out.TicketID, out.Status, out.Plate, money(out.Amount, out.Currency), stay)
		printBreakdown(w, out.Breakdown, out.Currency)
	}); err != nil {
		return err
	}
	if res.Refused() {
		return cli.Exit("", exitRefused)
	}
	return nil
}

func printLotStatus(w io.Writer, st workflows.LotStatus) {
	fmt.Fprintf(w, "lot %s (%s): %d spots, %d occupied, %d reserved, %d out of service (%d‰), %d vehicles\n",
		st.Lot, st.Strategy, st.Spots, st.Occupied, st.Reserved, st.OutOfService, st.RatioPerMille, st.Vehicles)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSPOTS\tFREE\tOCCUPIED")
	for _, k := range st.ByKind {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", k.Kind, k.Total, k.Free, k.Occupied)
	}
	fmt.Fprintln(tw, "LEVEL\tSPOTS\tFREE\tOCCUPIED")
	for _, l := range st.Levels {
		name := fmt.Sprint(l.Level)
		if l.Name != "" {
			name += " " + l.Name
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", name, l.Total, l.Free, l.Occupied)
	}
	tw.Flush()
	if st.PendingConfig {
		fmt.Fprintln(w, "a configuration change waits until the lot is empty")
	}
}

func printBreakdown(w io.Writer, segs []parking.Segment, currency string) {
	if len(segs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tRULE\tMULTIPLIER\tAMOUNT\t")
	for _, s := range segs {
		rule := s.Rule
		if s.Peak != "" {
			rule += " (" + s.Peak + ")"
		}
		if s.Surge {
			rule += " surge"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d‰\t%s\t\n", s.From.Format("2006-01-02 15:04:05"), s.To.Format("2006-01-02 15:04:05"), rule, s.Multiplier, money(s.Amount, currency))
	}
	tw.Flush()
}

// money formats minor units for people: 1250 EUR is "12.50 EUR". JSON
// output keeps the integer.
func money(minor int64, currency string) string {
	digits := 2
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		digits = 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		digits = 3
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	if digits == 0 {
		return fmt.Sprintf("%s%d %s", sign, minor, currency)
	}
	unit := int64(1)
	for range digits {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, minor/unit, digits, minor%unit, currency)
}

// flagError names the flag behind a domain error, so `parklot park --size
// huge` says --size; other errors pass through (exit 1 either way).
func flagError(err error) error {
	var pe *parking.Error
	if !errors.As(err, &pe) {
		return err
	}
	flag := map[string]string{"plate": "--plate", "type": "--type", "size": "--size", "ticketId": "--ticket", "lot": "--lot"}[pe.Field]
	if flag == "" {
		return err
	}
	return fmt.Errorf("%s: %s (%s)", flag, pe.Message, pe.Code)
}
