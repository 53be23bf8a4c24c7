package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/parklot/parklot/activities"
	"github.com/parklot/parklot/config"
	"github.com/parklot/parklot/httpapi"
	"github.com/parklot/parklot/storage"
)

// openedStores are the stores of a config, each distinct store opened once.
type openedStores struct {
	*activities.Stores
	closers []func() error
	checks  map[string]httpapi.Check
}

// openStores opens the mailbox and audit stores the config names: the
// defaults and every pool's overrides, sharing one instance per distinct
// store. On error nothing stays open.
func openStores(ctx context.Context, cfg *config.Config) (*openedStores, error) {
	o := &openedStores{
		Stores: &activities.Stores{Mailboxes: map[string]storage.Mailbox{}, Audits: map[string]storage.Audit{}},
		checks: map[string]httpapi.Check{},
	}
	mailboxes := map[storage.Spec]storage.Mailbox{}
	audits := map[storage.Spec]storage.Audit{}
	mailboxFor := func(s config.Store) (storage.Mailbox, error) {
		spec := specOf(s)
		if m, ok := mailboxes[spec]; ok {
			return m, nil
		}
		m, err := storage.OpenMailbox(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("mailbox store %s: %w", s, err)
		}
		mailboxes[spec] = m
		o.closers = append(o.closers, m.Close)
		o.checks["mailbox "+s.String()] = m.Ping
		return m, nil
	}
	auditFor := func(s config.Store) (storage.Audit, error) {
		spec := specOf(s)
		if a, ok := audits[spec]; ok {
			return a, nil
		}
		a, err := storage.OpenAudit(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("audit store %s: %w", s, err)
		}
		audits[spec] = a
		o.closers = append(o.closers, a.Close)
		o.checks["audit "+s.String()] = a.Ping
		return a, nil
	}
	var err error
	if o.DefaultMailbox, err = mailboxFor(cfg.Defaults.Mailbox); err != nil {
		return nil, errors.Join(err, o.close())
	}
	if o.DefaultAudit, err = auditFor(cfg.Defaults.Audit); err != nil {
		return nil, errors.Join(err, o.close())
	}
	for _, name := range cfg.PoolNames() {
		if o.Mailboxes[name], err = mailboxFor(cfg.MailboxStore(name)); err != nil {
			return nil, errors.Join(err, o.close())
		}
		if o.Audits[name], err = auditFor(cfg.AuditStore(name)); err != nil {
			return nil, errors.Join(err, o.close())
		}
	}
	return o, nil
}

func specOf(s config.Store) storage.Spec {
	return storage.Spec{Backend: string(s.Backend), Path: s.Path, DSN: s.DSN}
}

func (o *openedStores) close() error {
	var errs []error
	for _, c := range o.closers {
		errs = append(errs, c())
	}
	o.closers = nil
	return errors.Join(errs...)
}
