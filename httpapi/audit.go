package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/storage"
)

// EventList is the answer of GET /audit: events newest first.
type EventList struct {
	Events []audit.Event `json:"events"`
}

// auditQuery reads the query parameters, naming the one at fault.
func auditQuery(r *http.Request) (audit.Query, error) {
	v := r.URL.Query()
	var q audit.Query
	var err error
	strip := func(err error) string { return strings.TrimPrefix(err.Error(), audit.ErrInvalid.Error()+": ") }
	if v.Get("subject") == "" {
		return q, invalid("subject", "subject is required: kind:id such as task:t-42, tenant:acme or pool:gpu")
	}
	if q.Subject, err = audit.ParseSubject(v.Get("subject")); err != nil {
		return q, invalid("subject", "%s", strip(err))
	}
	// type may repeat and may hold a comma-separated list.
	for _, list := range v["type"] {
		for _, t := range strings.Split(list, ",") {
			typ := audit.Type(strings.TrimSpace(t))
			if typ == "" {
				continue
			}
			if !typ.Valid() {
				return q, invalid("type", "type %q is unknown: see the AuditType schema in /openapi.yaml", t)
			}
			q.Types = append(q.Types, typ)
		}
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		s := v.Get(f.name)
		if s == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return q, invalid(f.name, "%s %q: want an RFC3339 time such as 2025-01-02T15:04:05Z", f.name, s)
		}
	}
	if q.Limit, err = queryInt(r, "limit"); err != nil {
		return q, err
	}
	if q.Limit, err = audit.CheckLimit(q.Limit); err != nil {
		return q, invalid("limit", "%s", strip(err))
	}
	if q, err = q.Canonical(); err != nil {
		return q, invalid("until", "%s", strip(err))
	}
	return q, nil
}

func (h *Handler) readAudit(w http.ResponseWriter, r *http.Request) {
	q, err := auditQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s := h.scope(r)
	if err := s.requireTenant(); err != nil {
		h.fail(w, r, err)
		return
	}
	if q.Subject.Kind == audit.KindTenant {
		if _, err := s.tenant("subject", q.Subject.ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	stores := h.auditStores()
	if len(stores) == 0 {
		h.fail(w, r, errorf(http.StatusServiceUnavailable, CodeUnavailable, "", "this worker has no audit store"))
		return
	}
	events, err := mergedQuery(r.Context(), stores, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s.required {
		// Other tenants' events are not the caller's to see, even about a
		// pool they share.
		own := audit.Tenant(s.headers.tenant)
		events = slices.DeleteFunc(events, func(e audit.Event) bool { return !slices.Contains(e.Subjects, own) })
	}
	writeJSON(w, http.StatusOK, EventList{Events: events})
}

// auditStores are the distinct audit stores of the node's pools and the
// default one, in a stable order.
func (h *Handler) auditStores() []storage.Audit {
	st := h.o.Stores
	if st == nil {
		return nil
	}
	var out []storage.Audit
	add := func(a storage.Audit) {
		if a != nil && !slices.ContainsFunc(out, func(b storage.Audit) bool { return sameStore(a, b) }) {
			out = append(out, a)
		}
	}
	add(st.DefaultAudit)
	names := make([]string, 0, len(st.Audits))
	for name := range st.Audits {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		add(st.Audits[name])
	}
	return out
}

// sameStore reports whether a and b are one store. Stores are pointers;
// a store of a type that cannot be compared counts as distinct rather than
// panicking (merging removes the duplicate events anyway).
func sameStore(a, b storage.Audit) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// mergedQuery runs q on every store and merges the answers newest first,
// q's limit applied across them: each store returns its newest q.Limit
// matches, so the newest q.Limit of their union are the answer.
func mergedQuery(ctx context.Context, stores []storage.Audit, q audit.Query) ([]audit.Event, error) {
	all := []audit.Event{}
	for i, s := range stores {
		events, err := s.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("query audit store %d for %s: %w", i+1, q.Subject, err)
		}
		all = append(all, events...)
	}
	slices.SortFunc(all, audit.NewestFirst)
	all = slices.CompactFunc(all, func(a, b audit.Event) bool { return a.EventID == b.EventID })
	return all[:min(q.Limit, len(all))], nil
}
