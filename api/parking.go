package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/parklot/parklot/domain/parking"
	"github.com/parklot/parklot/workflows"
)

// Park asks a lot for a spot. A refusal (lot_full, no_compatible_spot,
// duplicate_plate) is a result with Reason set, not an error; an invalid
// vehicle is a *parking.Error naming the field, an unknown lot ErrNotFound.
func (c *Client) Park(ctx context.Context, lot string, v parking.Vehicle) (workflows.ParkResult, error) {
	var res workflows.ParkResult
	err := c.updateLot(ctx, lot, "", workflows.UpdatePark, workflows.ParkRequest{Vehicle: v}, &res)
	return res, err
}

// Exit lets a vehicle out and returns what it owes. The lot is read from
// the ticket id; a lost ticket without its id is found by plate in lot
// (give lot then). Exiting a ticket again within the lot's current run
// returns the first answer (the update id is the ticket's); later, or after
// the ticket was voided, it is refused with unknown_ticket.
func (c *Client) Exit(ctx context.Context, lot string, req workflows.ExitRequest) (workflows.ExitResult, error) {
	updateID := ""
	if req.TicketID != "" {
		l, ok := workflows.LotOfTicket(req.TicketID)
		if !ok {
			return workflows.ExitResult{}, &parking.Error{Code: parking.CodeInvalidTicket, Field: "ticketId",
				Message: fmt.Sprintf("%q is not a ticket id: ticket ids look like <lot>-000042", req.TicketID)}
		}
		if lot != "" && lot != l {
			return workflows.ExitResult{}, &parking.Error{Code: parking.CodeInvalidTicket, Field: "lot",
				Message: fmt.Sprintf("ticket %s was issued by lot %q, not %q", req.TicketID, l, lot)}
		}
		lot = l
		updateID = "exit/" + req.TicketID
		if req.Lost {
			updateID += "/lost"
		}
	}
	if lot == "" {
		return workflows.ExitResult{}, &parking.Error{Code: parking.CodeInvalidTicket, Field: "lot",
			Message: "a lost ticket is looked up by plate in one lot: name the lot"}
	}
	var res workflows.ExitResult
	err := c.updateLot(ctx, lot, updateID, workflows.UpdateExit, req, &res)
	return res, err
}

// Void cancels a ticket without a charge and releases its spots.
func (c *Client) Void(ctx context.Context, ticketID, note string) (workflows.ExitResult, error) {
	lot, ok := workflows.LotOfTicket(ticketID)
	if !ok {
		return workflows.ExitResult{}, &parking.Error{Code: parking.CodeInvalidTicket, Field: "ticketId",
			Message: fmt.Sprintf("%q is not a ticket id: ticket ids look like <lot>-000042", ticketID)}
	}
	var res workflows.ExitResult
	err := c.updateLot(ctx, lot, "void/"+ticketID, workflows.UpdateVoid, workflows.VoidRequest{TicketID: ticketID, Note: note}, &res)
	return res, err
}

// LotStatus reads a lot's occupancy.
func (c *Client) LotStatus(ctx context.Context, lot string) (workflows.LotStatus, error) {
	var st workflows.LotStatus
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.LotWorkflowID(lot), "", workflows.QueryOccupancy)
	if err != nil {
		return st, lotNotFound(err, lot)
	}
	return st, v.Get(&st)
}

// Ticket reports a ticket with its running amount, also after it closed (a
// closed ticket is read from its workflow's result, so no worker is needed).
func (c *Client) Ticket(ctx context.Context, ticketID string) (workflows.TicketView, error) {
	var tv workflows.TicketView
	wid := workflows.TicketWorkflowID(ticketID)
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		return tv, ticketNotFound(err, ticketID)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := c.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &tv); err != nil {
			return tv, fmt.Errorf("read ticket %s: %w", ticketID, err)
		}
		return tv, nil
	}
	v, err := c.Temporal.QueryWorkflow(ctx, wid, "", workflows.QueryQuote)
	if err != nil {
		return tv, ticketNotFound(err, ticketID)
	}
	return tv, v.Get(&tv)
}

// updateLot sends one update to a lot and waits for its answer. A rejection
// by the lot's validator comes back as the *parking.Error it carried.
func (c *Client) updateLot(ctx context.Context, lot, updateID, name string, arg, out any) error {
	if updateID == "" {
		// A fixed id makes the retries below safe: the lot answers a
		// repeated park from its first result.
		updateID = uuid.NewString()
	}
	var err error
	for attempt := 1; ; attempt++ {
		var h client.WorkflowUpdateHandle
		h, err = c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.LotWorkflowID(lot), UpdateID: updateID, UpdateName: name,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, out)
		}
		// The workflow task carrying the update failed (for example, the
		// lot continued as new as it arrived): the update was not applied
		// in that run, so it is sent again.
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) || attempt >= lotUpdateAttempts || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		var pe parking.Error
		if appErr.HasDetails() && appErr.Details(&pe) == nil && pe.Code != "" {
			return &pe
		}
		return fmt.Errorf("%s at lot %q: %s", name, lot, appErr.Message())
	}
	return lotNotFound(err, lot)
}

// lotUpdateAttempts bounds how often an update that met a failed workflow
// task is sent.
const lotUpdateAttempts = 5

func lotNotFound(err error, lot string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: no lot %q is running (check the name against lots: in the workers' config)", ErrNotFound, lot)
	}
	return fmt.Errorf("lot %q: %w", lot, err)
}

func ticketNotFound(err error, ticketID string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: no ticket %q (ticket ids look like <lot>-000042)", ErrNotFound, ticketID)
	}
	return fmt.Errorf("ticket %q: %w", ticketID, err)
}
