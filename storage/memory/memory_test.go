package memory_test

import (
	"testing"

	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/storage/memory"
	"github.com/parklot/parklot/storage/storetest"
)

var (
	_ storage.Mailbox = (*memory.Mailbox)(nil)
	_ storage.Audit   = (*memory.Audit)(nil)
)

func TestMailboxContract(t *testing.T) {
	storetest.RunMailbox(t, func(*testing.T) storage.Mailbox { return memory.NewMailbox() })
}

func TestAuditContract(t *testing.T) {
	storetest.RunAudit(t, func(*testing.T) storage.Audit { return memory.NewAudit() })
}
