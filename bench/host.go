package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// benchHost is a simulated iPlanet host made for the benchmarks: its
// queue, store and directory are the data both sides work on.
type benchHost struct {
	c       config
	root    string
	queue   string
	pwFile  string
	ldapURL string
	snap    string // a collected snapshot of the host
	input   string // the policy input built from it, for opa eval
}

const benchDMPassword = "bench-DM-pass-1040"

// writeWork writes what every host of the bench is made from and bound
// with: the scenario (c.queue queue files, c.users directory entries) and
// the Directory Manager's password file.
func writeWork(c config) error {
	yaml := fmt.Sprintf(`msg_version: "5.1"
ds_version: "4.13"
users: %d
pab_entries: 100
queue:
  messages: %d
  held: %d
  subdirs: 16
store:
  mailboxes: 2000
  messages_per_box: 5
secrets:
  directory_manager: %s
`, c.users, c.queue, c.queue/50, benchDMPassword)
	if err := os.MkdirAll(c.work, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.work, "scenario.yaml"), []byte(yaml), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.work, "dm.pw"), []byte(benchDMPassword), 0o600)
}

// newHost makes the host the rows work on, from writeWork's scenario.
func newHost(c config) (*benchHost, error) {
	h := &benchHost{c: c, root: filepath.Join(c.work, "server5")}
	scenario := filepath.Join(c.work, "scenario.yaml")
	fmt.Fprintf(os.Stderr, "bench: creating a host with %d queue files and %d directory entries in %s\n", c.queue, c.users, h.root)
	sim := filepath.Join(c.bin, "msguard-sim")
	out, err := exec.Command(sim, "create", "--scenario", scenario, "--root", h.root, "--start").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("msguard-sim create: %v: %s", err, out)
	}
	h.queue = filepath.Join(h.root, "msg-budgie", "imta", "queue")
	h.pwFile = filepath.Join(c.work, "dm.pw")
	port, err := ldapPort(h.root)
	if err != nil {
		return nil, err
	}
	h.ldapURL = "ldap://127.0.0.1:" + strconv.Itoa(port)
	h.snap = filepath.Join(c.work, "snapshot.json")
	out, err = exec.Command(filepath.Join(c.bin, "msguard"), "collect", "--server-root", h.root,
		"--bind-password-file", h.pwFile, "--state-dir", filepath.Join(c.work, "state"), "--timeout", collectTimeout, "-q", "-o", h.snap).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("msguard collect: %v: %s", err, out)
	}
	h.input = filepath.Join(c.work, "input.json")
	if err := writePolicyInput(h.snap, h.input); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *benchHost) destroy() {
	_ = exec.Command(filepath.Join(h.c.bin, "msguard-sim"), "destroy", "--root", h.root).Run()
	_ = os.RemoveAll(h.c.work)
}
