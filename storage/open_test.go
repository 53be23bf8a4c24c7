package storage_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parklot/parklot/domain/audit"
	"github.com/parklot/parklot/domain/mailbox"
	"github.com/parklot/parklot/storage"
	"github.com/parklot/parklot/storage/storetest"
)

func TestSpecValidateNamesTheProblem(t *testing.T) {
	for _, tt := range []struct {
		spec storage.Spec
		want string
	}{
		{storage.Spec{}, "backend is not set"},
		{storage.Spec{Backend: "mysql"}, `unknown store backend "mysql": use memory, file or postgres`},
		{storage.Spec{Backend: "file"}, "needs a path"},
		{storage.Spec{Backend: "postgres"}, "needs a DSN"},
	} {
		err := tt.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tt.spec, err, tt.want)
		}
	}
	if err := (storage.Spec{Backend: "memory"}).Validate(); err != nil {
		t.Errorf("Validate(memory) = %v", err)
	}
}

func TestOpenEachBackendFromASpec(t *testing.T) {
	ctx := context.Background()
	specs := map[string]func(t *testing.T) storage.Spec{
		"memory": func(*testing.T) storage.Spec { return storage.Spec{Backend: storage.BackendMemory} },
		"file": func(t *testing.T) storage.Spec {
			return storage.Spec{Backend: storage.BackendFile, Path: filepath.Join(t.TempDir(), "parklot.db")}
		},
		"postgres": func(t *testing.T) storage.Spec {
			return storage.Spec{Backend: storage.BackendPostgres, DSN: storetest.PostgresDSN(t)}
		},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			s := spec(t)
			mb, err := storage.OpenMailbox(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			au, err := storage.OpenAudit(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			defer au.Close()
			if _, _, err := mb.Deliver(ctx, mailbox.Message{Key: mailbox.Key{Tenant: "t"}, TaskID: "x", Status: mailbox.StatusCompleted}); err != nil {
				t.Fatal(err)
			}
			if err := au.Append(ctx, audit.Event{Type: audit.TypeDelivered, Subjects: []audit.Subject{audit.Task("x")}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAFailedOpenReturnsANilStore(t *testing.T) {
	mb, err := storage.OpenMailbox(context.Background(), storage.Spec{Backend: storage.BackendFile, Path: "/no/such/dir/x.db"})
	if err == nil || mb != nil {
		t.Fatalf("OpenMailbox() = %v, %v; want a nil store and an error", mb, err)
	}
	if !strings.Contains(err.Error(), "/no/such/dir") {
		t.Errorf("error %q does not name the path", err)
	}
	au, err := storage.OpenAudit(context.Background(), storage.Spec{Backend: "nope"})
	if err == nil || au != nil {
		t.Fatalf("OpenAudit() = %v, %v; want a nil store and an error", au, err)
	}
}
