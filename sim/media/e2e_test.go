package media_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
)

// runMedia runs a media entry point with the answers on stdin (a pipe).
func runMedia(t *testing.T, path string, args []string, answers ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(strings.Join(answers, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s: %v", path, err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// TestEndToEnd drives the media's installers against a simulated host on
// a real directory server: setup -k with a wrong and then the right
// password, ims_dssetup.pl, and the VCS CLIs from the host's cluster-bin.
func TestEndToEnd(t *testing.T) {
	h := simtest.New(t, func(sc *sim.Scenario) { sc.HA = "vcs" })
	sc := h.State.Scenario
	h.Run(t, "slapd-"+sc.DSInstances[0]+"/start-slapd")
	dir := filepath.Join(t.TempDir(), "media")
	if err := media.WriteMedia(dir, simtest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	setup := filepath.Join(dir, "msg52", "setup")
	answers := []string{"", "Yes", "2", h.Root, "1, 2, 3, 4", "2", "", "", sc.Secrets.ConfigAdmin, ""}

	wrong := append([]string{}, answers...)
	wrong[8] = "guess"
	out, code := runMedia(t, setup, []string{"-k"}, wrong...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code == 0 || !strings.HasPrefix(lines[len(lines)-1], "ERROR: cannot authenticate") {
		t.Fatalf("wrong password: exit %d:\n%s", code, out)
	}

	out, code = runMedia(t, setup, []string{"-k"}, answers...)
	if code != 0 || !strings.HasSuffix(out, "Installation complete.\n") {
		t.Fatalf("setup -k: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, sc.Secrets.ConfigAdmin) {
		t.Errorf("setup printed the admin password")
	}
	st := h.Reload(t)
	if st.MsgVersion != "5.2" || st.DSVersion != "4.16" {
		t.Errorf("versions %s %s after setup", st.MsgVersion, st.DSVersion)
	}
	if m, _ := filepath.Glob(filepath.Join(h.Paths.Inst(), "backup.*", "config", "msg.conf")); len(m) != 1 {
		t.Errorf("backups %v", m)
	}
	v, err := exec.Command(h.Paths.NsSlapd(), "-v").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "4.16") {
		t.Errorf("ns-slapd -v after setup: %v\n%s", err, v)
	}

	id := sc.DSInstances[0]
	out, code = runMedia(t, filepath.Join(dir, "msg52", "ims_dssetup.pl"), nil,
		h.Root, "", "", sc.Secrets.DirectoryManager, "", "", "", "", "")
	if code != 0 {
		t.Fatalf("ims_dssetup.pl: exit %d:\n%s", code, out)
	}
	ok, err := directory.SchemaHasObjectClass(context.Background(), directory.URL(st, id), "cn=Directory Manager", sc.Secrets.DirectoryManager, "inetMailUser")
	if err != nil || !ok {
		t.Errorf("inetMailUser after ims_dssetup.pl: %v %v", ok, err)
	}

	bin := h.Paths.ClusterBin()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"hagrp", "-offline", "iMS5", "-sys", strings.Split(sc.Host, ".")[0]}, ""},
		{[]string{"hagrp", "-state", "iMS5"}, "|OFFLINE|"},
		{[]string{"hares", "-unlink", "mail", "logical_IP"}, ""},
		{[]string{"hares", "-dep"}, "iMS5         mail         mountshared\n"},
	} {
		out, err := exec.Command(filepath.Join(bin, c.args[0]), c.args[1:]...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: %v\n%s", c.args, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "hareg")); err == nil {
		t.Errorf("a VCS host has hareg")
	}
}
