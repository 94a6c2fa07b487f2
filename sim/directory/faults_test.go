package directory_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
)

// TestDB2LDIFFaults proves the db2ldif faults of FailSpec: both exit 0 and
// print an LDIF path, but no export is made (no directory runs here).
func TestDB2LDIFFaults(t *testing.T) {
	tests := []struct {
		name     string
		fail     sim.FailSpec
		wantFile bool   // the printed path exists
		wantBody string // its content, when it exists
	}{
		{"silent", sim.FailSpec{Silent: []string{sim.SilentDB2LDIF}}, false, ""},
		{"empty ldif", sim.FailSpec{EmptyLDIF: true}, true, "version: 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := sim.Scenario{Root: filepath.Join(t.TempDir(), "server5"), Host: "mail.siroe.com", Fail: tt.fail}
			sc.Defaults()
			sc.Ports.LDAP = 1
			st := &sim.State{Scenario: sc, MsgVersion: sc.MsgVersion, DSVersion: sc.DSVersion}
			path, err := directory.DB2LDIF(context.Background(), st, "budgie")
			if err != nil {
				t.Fatalf("db2ldif: %v", err)
			}
			if !regexp.MustCompile(`/slapd-budgie/ldif/\d{4}_\d\d_\d\d_\d{6}\.ldif$`).MatchString(path) {
				t.Errorf("db2ldif printed %q, want the path of a dated LDIF file", path)
			}
			b, err := os.ReadFile(path)
			switch {
			case !tt.wantFile && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("silent db2ldif wrote %s (err %v): %q", path, err, b)
			case tt.wantFile && err != nil:
				t.Errorf("db2ldif wrote no file: %v", err)
			case tt.wantFile && string(b) != tt.wantBody:
				t.Errorf("LDIF %q, want %q", b, tt.wantBody)
			}
		})
	}
}
