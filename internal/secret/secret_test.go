package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msguard/msguard/internal/exitcode"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want, errHas string
	}{
		{"one newline stripped", write("a", "s3cret\n", 0o600), "s3cret", ""},
		{"crlf stripped", write("b", "s3cret\r\n", 0o400), "s3cret", ""},
		{"only one newline", write("c", "s3cret\n\n", 0o600), "s3cret\n", ""},
		{"group readable", write("d", "x", 0o640), "", "readable by others (mode 0640): run chmod 600"},
		{"world readable", write("e", "x", 0o604), "", "readable by others"},
		{"empty", write("f", "\n", 0o600), "", "is empty"},
		{"missing", filepath.Join(dir, "nope"), "", "no such file"},
		{"directory", dir, "", "not a regular file"},
	}
	for _, tt := range tests {
		got, err := ReadFile(tt.path)
		if tt.errHas == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s: ReadFile = %q, %v; want %q", tt.name, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("%s: error %v; want it to contain %q", tt.name, err, tt.errHas)
		}
		if exitcode.Of(err) != exitcode.Usage {
			t.Errorf("%s: exit code %d; want %d", tt.name, exitcode.Of(err), exitcode.Usage)
		}
	}
}

func TestSourceOrder(t *testing.T) {
	t.Setenv("MSGUARD_TEST_PW", "from-env")
	s := Source{What: "directory manager password", Env: "MSGUARD_TEST_PW", FileFlag: "bind-password-file"}
	if got, err := s.Read(); err != nil || got != "from-env" {
		t.Fatalf("env: %q, %v", got, err)
	}
	t.Setenv("MSGUARD_TEST_PW", "")
	_, err := s.Read()
	if !errors.Is(err, ErrNone) || !strings.Contains(err.Error(), "--bind-password-file or MSGUARD_TEST_PW") {
		t.Fatalf("no source: %v", err)
	}
}
