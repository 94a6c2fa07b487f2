package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The rows' names (-only matches them).
const (
	rowQueue   = "queue scan"
	rowProcess = "process collector"
	rowLDIF    = "LDIF export"
	rowBackup  = "backup + verify"
	rowRestore = "restore"
	rowPolicy  = "policy evaluation (one process each)"
)

// rowNames are every row but the window's, in the table's order.
var rowNames = []string{rowQueue, rowProcess, rowLDIF, rowBackup, rowRestore, rowPolicy}

// selected tells whether the row called name is run under -only (every
// row when only is empty): its name holds one of only's comma-separated
// words, case-insensitively.
func selected(only, name string) bool {
	if only == "" {
		return true
	}
	return slices.ContainsFunc(strings.Split(strings.ToLower(only), ","), func(o string) bool {
		return o != "" && strings.Contains(strings.ToLower(name), o)
	})
}

// bench is one comparison: msguard's command and the peer's, on the same data.
type bench struct {
	name, peerText string
	goal           float64
	ours, them     []string
	prepare        func() error // before each msguard run (untimed)
	preparePeer    func() error // before each peer run (untimed)
	after          func() error // once the row is done: removes what it wrote
	// disk: the work reads files, so it is also measured cold.
	disk bool
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func benches(c config, h *benchHost) []bench {
	q := h.queue
	ldifOurs := filepath.Join(c.work, "ours.ldif")
	ldifPeer := filepath.Join(c.work, "peer.ldif")
	backupOurs := filepath.Join(c.work, "backup-ours")
	backupPeer := filepath.Join(c.work, "backup-peer")
	sums := filepath.Join(c.work, "peer.sha256")
	restoreOurs := filepath.Join(c.work, "restore-ours")
	restorePeer := filepath.Join(c.work, "restore-peer")
	src := filepath.Join(h.root, "msg-budgie")
	regoDir, dataDir, _ := repoPolicies()
	opa := filepath.Join(c.bin, "opa")
	clean := func(paths ...string) func() error {
		return func() error {
			for _, p := range paths {
				if err := os.RemoveAll(p); err != nil {
					return err
				}
			}
			return nil
		}
	}
	msguard := filepath.Join(c.bin, "msguard")
	// The shipped binary, as an operator runs it: collect with only the
	// collector measured (install runs too: it resolves the target).
	collect := func(name string) []string {
		return []string{msguard, "collect", "--server-root", h.root, "--only", name, "--state-dir", filepath.Join(c.work, "state"),
			"-o", os.DevNull, "--no-progress", "-q"}
	}
	list := []bench{
		// The queue collector counts messages, held and temporary files,
		// bytes and the oldest and newest modification times: it needs each
		// file's size and mtime, as find -printf does (a name-only
		// `find | wc -l` would be a different, lesser job).
		{name: rowQueue, goal: 1.0, peerText: "find Q -type f -printf '%s %T@\\n'", disk: true,
			ours: collect("queue"), them: []string{"find", q, "-type", "f", "-printf", "%s %T@\n"}},
		{name: rowProcess, goal: 1.5, peerText: "ps -eo pid,ppid,user,lstart,args",
			ours: collect("processes"), them: []string{"ps", "-eo", "pid,ppid,user,lstart,args"}},
		// LDIF export, backup and restore: the commands of msguard backup
		// (the same code remediate's backup steps and backout run).
		{name: rowLDIF, goal: 1.2, peerText: "ldapsearch -LLL -E pr=1000/noprompt > FILE",
			ours: []string{msguard, "backup", "ldif", "--ldap-url", h.ldapURL, "--bind-password-file", h.pwFile,
				"--base", "o=siroe.com", "--filter", "(objectclass=inetlocalmailrecipient)", "-o", ldifOurs},
			prepare: clean(ldifOurs),
			them: sh(fmt.Sprintf("ldapsearch -x -LLL -H %s -D 'cn=Directory Manager' -y %s -E pr=1000/noprompt -b o=siroe.com '(objectclass=inetlocalmailrecipient)' > %s",
				h.ldapURL, h.pwFile, ldifPeer))},
		{name: rowBackup, goal: 1.0, peerText: "cp -a + sha256sum, sha256sum -c", disk: true,
			ours: []string{msguard, "backup", "tree", src, backupOurs}, prepare: clean(backupOurs),
			them: sh(fmt.Sprintf("cp -a %s %s && cd %s && find . -type f -print0 | xargs -0 sha256sum > %s && cd %s && sha256sum -c --quiet %s",
				src, backupPeer, src, sums, backupPeer, sums)),
			preparePeer: clean(backupPeer, sums)},
		{name: rowRestore, goal: 1.0, peerText: "cp -a", disk: true,
			ours: []string{msguard, "backup", "restore", backupOurs, restoreOurs}, prepare: clean(restoreOurs),
			them: []string{"cp", "-a", backupPeer, restorePeer}, preparePeer: clean(restorePeer)},
	}
	if _, err := os.Stat(opa); err == nil && regoDir != "" {
		list = append(list, bench{name: rowPolicy, goal: 1.0,
			peerText: "opa eval -d policies/rego -d policies/data -i input.json data.msguard.preflight (msguard: check --snapshot)",
			ours: []string{msguard, "check", "--phase", "preflight", "--snapshot", h.snap,
				"--format", "json", "-o", filepath.Join(c.work, "policy-report.json")},
			them: []string{opa, "eval", "--v1-compatible", "-d", regoDir, "-d", dataDir, "-i", h.input, "--format", "raw", "data.msguard.preflight"}})
	} else {
		fmt.Fprintf(os.Stderr, "bench: %s missing: build it with `make bench` (go build -o bin/opa github.com/open-policy-agent/opa)\n", opa)
		os.Exit(1)
	}
	// The restore and backup peers need the peer backup to exist first.
	backup, restore := named(list, rowBackup), named(list, rowRestore)
	restore.prepare = chain(restore.prepare, ensure(backupOurs, backup.ours))
	restore.preparePeer = chain(restore.preparePeer, ensure(backupPeer, backup.them))
	// At 10^6 each copy is gigabytes: gone once the rows that read them
	// are done.
	restore.after = clean(backupOurs, backupPeer, sums, restoreOurs, restorePeer)
	named(list, rowLDIF).after = clean(ldifOurs, ldifPeer)
	return list
}

// named is the bench called name in list.
func named(list []bench, name string) *bench {
	for i := range list {
		if list[i].name == name {
			return &list[i]
		}
	}
	panic("bench: no row " + name)
}

func chain(fs ...func() error) func() error {
	return func() error {
		for _, f := range fs {
			if f != nil {
				if err := f(); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// ensure runs argv once when path does not exist yet.
func ensure(path string, argv []string) func() error {
	return func() error {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		_, err := timeCmd(argv, nil)
		return err
	}
}
