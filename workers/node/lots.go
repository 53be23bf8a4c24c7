package node

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/parklot/parklot/api"
	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/workflows"
)

// EnsureLots starts the workflow of every configured lot that does not run
// and hands every running one its current configuration (SignalWithStart),
// so it is safe for every worker to call at start-up. A lot whose
// configuration cannot be built is an error naming the key; nothing is
// started for it. A running lot whose layout or tariff changed keeps the
// running one until no vehicle is parked, then rebuilds (workflows.Lot).
func EnsureLots(ctx context.Context, c *api.Client, cfg *config.Config) error {
	return ensureLots(ctx, c, cfg, 0)
}

func ensureLots(ctx context.Context, c *api.Client, cfg *config.Config, maxUpdates int) error {
	for _, name := range cfg.LotNames() {
		l := cfg.Lots[name]
		spec, err := l.Spec(name)
		if err != nil {
			return fmt.Errorf("lot %q cannot be built from the configuration:\n%w", name, err)
		}
		levels := make([]string, len(l.Levels))
		for i, lv := range l.Levels {
			levels[i] = lv.Name
		}
		id := workflows.LotWorkflowID(name)
		_, err = c.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalConfigureLot,
			workflows.LotConfigure{Spec: spec, LevelNames: levels},
			client.StartWorkflowOptions{ID: id, TaskQueue: c.TaskQueue, Priority: CoordinatorPriority},
			workflows.Lot, workflows.LotInput{Lot: name, Spec: spec, LevelNames: levels, MaxUpdatesPerRun: maxUpdates})
		if err != nil {
			return fmt.Errorf("start the workflow of lot %q: %w", name, err)
		}
	}
	return nil
}
