package node

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/workflows"
)

// priorityServer answers DescribeWorkflowExecution from priorities (a
// missing id is NotFound) and UpdateWorkflowExecutionOptions with err.
type priorityServer struct {
	client.Client
	priorities map[string]int32
	svc        optionsService
}

// optionsService is the raw service of priorityServer.
type optionsService struct {
	workflowservice.WorkflowServiceClient
	err     error
	updated *[]string
}

func (s *priorityServer) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	p, ok := s.priorities[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Priority: &commonpb.Priority{PriorityKey: p},
	}}, nil
}

func (s *priorityServer) WorkflowService() workflowservice.WorkflowServiceClient { return s.svc }

func (s optionsService) UpdateWorkflowExecutionOptions(_ context.Context, req *workflowservice.UpdateWorkflowExecutionOptionsRequest, _ ...grpc.CallOption) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
	*s.updated = append(*s.updated, req.GetWorkflowExecution().GetWorkflowId())
	if got := req.GetWorkflowExecutionOptions().GetPriority().GetPriorityKey(); got != int32(CoordinatorPriority.PriorityKey) {
		return nil, serviceerror.NewInvalidArgumentf("priority %d, want %d", got, CoordinatorPriority.PriorityKey)
	}
	return &workflowservice.UpdateWorkflowExecutionOptionsResponse{}, s.err
}

// warnings records the text of every warning logged.
type warnings struct {
	slog.Handler
	lines *[]string
}

func (w warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		*w.lines = append(*w.lines, r.Message)
	}
	return nil
}

func TestRaiseCoordinatorPriority(t *testing.T) {
	cfg, err := config.Parse([]byte("pools:\n  a: {max_units: 1}\n  b: {max_units: 1}\n  c: {max_units: 1}\n"), config.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := workflows.PoolWorkflowID("a"), workflows.PoolWorkflowID("b"), workflows.PoolWorkflowID("c")
	for _, tt := range []struct {
		name         string
		priorities   map[string]int32
		err          error
		wantUpdated  []string
		wantWarnings int
	}{
		{"raises every coordinator with no priority, keeps one an operator set, skips one not running",
			map[string]int32{a: 0, c: 5}, nil, []string{a}, 0},
		{"stops at the first refusal of a server without the call",
			map[string]int32{a: 0, b: 0, c: 0}, serviceerror.NewUnimplemented("not supported"), []string{a}, 1},
		{"stops at the first refusal of a key without the permission",
			map[string]int32{a: 0, b: 0, c: 0}, serviceerror.NewPermissionDenied("denied", ""), []string{a}, 1},
		{"stops at the first refusal of a server that rejects the field",
			map[string]int32{a: 0, b: 0, c: 0}, serviceerror.NewInvalidArgument("unknown field"), []string{a}, 1},
		{"goes on after a passing failure, warning for each",
			map[string]int32{a: 0, b: 0, c: 0}, serviceerror.NewUnavailable("try again"), []string{a, b, c}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var updated, lines []string
			s := &priorityServer{priorities: tt.priorities, svc: optionsService{err: tt.err, updated: &updated}}
			RaiseCoordinatorPriority(context.Background(), s, "default", cfg, slog.New(warnings{lines: &lines}))
			if strings.Join(updated, ",") != strings.Join(tt.wantUpdated, ",") {
				t.Errorf("updated %v, want %v", updated, tt.wantUpdated)
			}
			if len(lines) != tt.wantWarnings {
				t.Errorf("%d warnings %q, want %d", len(lines), lines, tt.wantWarnings)
			}
		})
	}
}
