package httpapi

import (
	"net/http"
	"strings"
)

// identity is who the gateway says the caller is; empty fields were not
// sent.
type identity struct {
	tenant, user, session string
}

// scope resolves the identity a tenant-scoped request acts as: what it names
// (path, query or body) merged with the trust headers. Off authority, a
// header only fills in a field the request leaves empty; with
// HeadersAuthoritative, the tenant header is required and every header that
// is sent must agree with what the request names.
type scope struct {
	h        *Handler
	headers  identity
	required bool
}

func (h *Handler) scope(r *http.Request) scope {
	get := func(name string) string { return strings.TrimSpace(r.Header.Get(name)) }
	t := h.o.Trust
	return scope{h: h, required: t.HeadersAuthoritative, headers: identity{
		tenant: get(t.TenantHeader), user: get(t.UserHeader), session: get(t.SessionHeader),
	}}
}

// tenant resolves the tenant a request names (field is how the request
// spells it, for the error).
func (s scope) tenant(field, named string) (string, error) {
	if s.required && s.headers.tenant == "" {
		return "", errorf(http.StatusForbidden, CodeForbidden, field,
			"the %s header is missing: this endpoint is reached through the gateway, which sets it", s.h.o.Trust.TenantHeader)
	}
	return s.merge(field, named, s.headers.tenant, s.h.o.Trust.TenantHeader)
}

func (s scope) user(field, named string) (string, error) {
	return s.merge(field, named, s.headers.user, s.h.o.Trust.UserHeader)
}

func (s scope) session(field, named string) (string, error) {
	return s.merge(field, named, s.headers.session, s.h.o.Trust.SessionHeader)
}

func (s scope) merge(field, named, header, headerName string) (string, error) {
	switch {
	case header == "":
		return named, nil
	case named == "":
		return header, nil
	case named != header && s.required:
		return "", errorf(http.StatusForbidden, CodeForbidden, field,
			"%s %q differs from the %s header %q: a request may only act as the caller the gateway authenticated", field, named, headerName, header)
	}
	return named, nil
}

// sees reports whether the caller may see something of tenant: always,
// unless the headers are authoritative and name another tenant. Callers
// answer 404 rather than 403 for things found by id, so that ids of other
// tenants cannot be probed.
func (s scope) sees(tenant string) bool {
	return !s.required || s.headers.tenant == tenant
}

// requireTenant is for requests that name no tenant but return
// tenant-scoped data (audit): with authoritative headers, the tenant
// header must be there.
func (s scope) requireTenant() error {
	_, err := s.tenant("tenant", "")
	return err
}
