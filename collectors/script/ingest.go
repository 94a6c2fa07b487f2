package script

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/msguard/msguard/internal/runstate"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/msguard/msguard/internal/exitcode"
)

// NotGathered is the error of a version source that only a live run can
// read: the script makes no network connection.
const NotGathered = "not gathered by the collector script: it makes no network connection (greetings and Server headers need a live msguard collect)"

// Ingest turns a collector script's bundle (tar+gzip or text) into the
// snapshot that `msguard collect` would have taken on that host. What the
// script could not gather is a collector error, never a pass. A bundle
// that is not one, or names an unusable server root, is a usage error.
func Ingest(ctx context.Context, r io.Reader) (*facts.Snapshot, error) {
	br, err := openBundle(r)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	m, err := readMaterial(ctx, br)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	if !m.done {
		return nil, exitcode.Usagef("bundle: incomplete (no DONE line): the collector script did not finish")
	}
	t, inst, err := m.resolveTarget()
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	s := &facts.Snapshot{
		Schema:      facts.SnapshotSchema,
		Tool:        facts.Tool{Name: "msguard", Version: buildinfo.Version()},
		CollectedAt: m.now,
		Root:        strings.HasPrefix(m.meta["id"], "uid=0("),
		Collectors:  map[string]facts.CollectorRun{facts.CollectorInstall: {}},
		Install:     inst,
		ServerRoot:  t.Root, WebServerRoot: t.WSRoot, Instance: t.Instance,
		Host: inst.FullMachineName,
	}
	if s.Host == "" {
		s.Host = m.meta["nodename"]
	}
	for _, c := range []struct {
		name string
		f    func(*collectors.Target, *facts.Snapshot) ([]string, error)
	}{
		{facts.CollectorVersions, m.versions},
		{facts.CollectorProcesses, m.processes},
		{facts.CollectorMounts, m.mountFacts},
		{facts.CollectorQueue, m.queueFacts},
		{facts.CollectorStore, m.storeFacts},
		{facts.CollectorConfigs, m.configs},
		{facts.CollectorLDAP, m.ldapFacts},
		{facts.CollectorHA, m.ha},
		{facts.CollectorMailLog, m.mailLog},
		{facts.CollectorRunState, m.runState},
	} {
		partial, err := c.f(t, s)
		run := facts.CollectorRun{Partial: partial}
		if err != nil {
			run.Error = err.Error()
		}
		s.Collectors[c.name] = run
	}
	return s, nil
}

// dirOf is the listing of dir in the bundle.
func (m *material) dirOf(dir string) []dirEntry { return m.dirs[dir] }

// subdirs lists the directories of dir whose names start with prefix.
func (m *material) subdirs(dir, prefix string) []string {
	var out []string
	for _, e := range m.dirOf(dir) {
		if e.dir && strings.HasPrefix(e.name, prefix) {
			out = append(out, e.name)
		}
	}
	sort.Strings(out)
	return out
}

func (m *material) isDir(p string) bool { k := m.kinds[p]; return k == "d" || k == "r" }

// resolveTarget mirrors collectors.ResolveTarget on the bundle.
func (m *material) resolveTarget() (*collectors.Target, *facts.Install, error) {
	const hint = "pass -r with the directory that holds setup/install.inf to the collector script"
	root := m.meta["root"]
	if root == "" {
		return nil, nil, errors.New("bundle: no server root in its meta section")
	}
	switch m.kinds["root:"+root] {
	case "d":
	case "-":
		return nil, nil, fmt.Errorf("server root %s does not exist: %s", root, hint)
	case "r":
		return nil, nil, fmt.Errorf("server root %s is unreadable: run the collector script as a user that can read it (root)", root)
	default:
		return nil, nil, fmt.Errorf("server root %s is not a directory: %s", root, hint)
	}
	opts := collectors.Options{
		ServerRoot: root, WebServerRoot: m.meta["wsroot"], Instance: m.meta["instance"],
		LDAPURL: m.meta["ldap_url"], BindDN: m.meta["bind_dn"], BackupDir: m.meta["backup_dir"],
		StateDir: m.meta["state_dir"], LDAPStartTLS: m.meta["starttls"] != "",
	}
	t := &collectors.Target{Options: opts, Root: root}
	in := &facts.Install{}
	msgs := m.subdirs(root, "msg-")
	for _, sl := range m.subdirs(root, "slapd-") {
		in.SlapdInstances = append(in.SlapdInstances, sl)
		t.SlapdIDs = append(t.SlapdIDs, strings.TrimPrefix(sl, "slapd-"))
	}
	https := m.subdirs(root, "https-")
	in.MsgInstances = msgs
	if !m.isDir(root + "/admin-serv") {
		in.Problems = append(in.Problems, "no admin-serv/ directory in "+root)
	}
	inst := strings.TrimPrefix(opts.Instance, "msg-")
	switch {
	case inst != "":
		if !contains(msgs, "msg-"+inst) {
			in.Problems = append(in.Problems, fmt.Sprintf("instance msg-%s not found in %s (found: %s)", inst, root, listOrNone(msgs)))
		}
	case len(msgs) == 1:
		inst = strings.TrimPrefix(msgs[0], "msg-")
	case len(msgs) > 1:
		return nil, nil, fmt.Errorf("server root %s holds %d messaging instances (%s): pass -i with one of them to the collector script",
			root, len(msgs), strings.Join(msgs, ", "))
	default:
		in.Problems = append(in.Problems, "no msg-* messaging instance in "+root)
	}
	if inst != "" {
		t.Instance = inst
		t.InstDir = root + "/msg-" + inst
		in.StorePath = t.InstDir + "/store/partition/primary"
		in.QueuePath = t.InstDir + "/imta/queue"
		in.StoreExists = m.isDir(in.StorePath)
		for _, b := range m.subdirs(t.InstDir, "backup.") {
			if collectors.IsBackupDirName(b) {
				in.Backups = append(in.Backups, "msg-"+inst+"/"+b)
			}
		}
	}
	switch ws := opts.WebServerRoot; {
	case ws != "":
		t.WSRoot = ws
		if ws != root {
			https = m.subdirs(ws, "https-")
		}
		if !m.isDir(ws) {
			in.Problems = append(in.Problems, "webserver root "+ws+" is not a directory")
		}
	case contains(https, "https-admserv"):
		t.WSRoot = root
	}
	in.HTTPSInstances = https

	infPath := root + "/setup/install.inf"
	switch f := m.files[infPath]; {
	case f == nil || f.state == "missing":
		in.Problems = append(in.Problems, "no setup/install.inf in "+root)
	case f.state != "ok":
		in.Problems = append(in.Problems, fmt.Sprintf("read setup/install.inf: %s", fileError(infPath, f)))
	default:
		inf, err := parse.INF(bytes.NewReader(f.data))
		if err != nil {
			in.Problems = append(in.Problems, fmt.Sprintf("parse setup/install.inf: %v", err))
			break
		}
		t.InstallInf = inf
		in.InstallInf = collectors.RedactINF(inf)
		in.FullMachineName = collectors.INFValue(inf, "General", "FullMachineName")
	}
	in.ThisHost = collectors.NormaliseHosts(m.hostNames())
	in.SameMachine = collectors.SameMachine(in.FullMachineName, in.ThisHost)
	in.Valid = len(in.Problems) == 0
	return t, in, nil
}

// hostNames are the host's names: uname -n, hostname, and the names
// /etc/hosts gives to the addresses it lists for them.
func (m *material) hostNames() []string {
	names := []string{m.meta["nodename"], m.meta["hostname"]}
	own := map[string]bool{strings.ToLower(m.meta["nodename"]): true, strings.ToLower(m.meta["hostname"]): true}
	addrs := map[string]bool{}
	lines := strings.Split(m.hosts, "\n")
	for _, l := range lines {
		f := strings.Fields(strings.SplitN(l, "#", 2)[0])
		for _, n := range f[min(1, len(f)):] {
			if own[strings.ToLower(n)] {
				addrs[f[0]] = true
			}
		}
	}
	for _, l := range lines {
		f := strings.Fields(strings.SplitN(l, "#", 2)[0])
		if len(f) > 1 && addrs[f[0]] {
			names = append(names, f[1:]...)
		}
	}
	return names
}

// fileError is the error a live read of a file that the script could
// not ship would have given.
func fileError(p string, f *fileSec) string {
	switch f.state {
	case "missing":
		return collectors.ErrConfigNotFound
	case "isdir":
		return fmt.Sprintf("read %s: read %s: is a directory", path.Base(p), p)
	case "unreadable":
		return fmt.Sprintf("open %s: permission denied", p)
	}
	return "not gathered by the collector script"
}

// configs mirrors the configs collector.
func (m *material) configs(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	c := &facts.Configs{Ports: map[string]int{}}
	var partial []string
	type read struct {
		raw  map[string]string
		data []byte
		ok   bool
	}
	rd := func(p string, parser func(io.Reader) (map[string]string, error), optional bool) read {
		fact := facts.ConfigFile{Name: collectors.RelName(t.Root, p)}
		f := m.files[p]
		var out read
		switch {
		case f == nil && optional:
			fact.Error = collectors.ErrConfigNotFound
		case f == nil:
			fact.Error = "not gathered by the collector script"
		case f.state != "ok":
			fact.Error = fileError(p, f)
		default:
			out.ok, out.data = true, f.data
			fact.SHA256 = f.sha256
			if f.sha256 == "" {
				partial = append(partial, fact.Name+": no sha256sum, digest or openssl on the host: checksum not computed")
			}
			if parser != nil {
				raw, err := parser(bytes.NewReader(f.data))
				if err != nil {
					fact.Error = fmt.Sprintf("parse: %v", err)
				}
				out.raw = raw
				if len(raw) > 0 {
					fact.Values = collectors.RedactValues(raw)
				}
			}
		}
		if !out.ok && optional && fact.Error == collectors.ErrConfigNotFound {
			return out
		}
		c.Files = append(c.Files, fact)
		if fact.Error != "" && fact.Error != collectors.ErrConfigNotFound {
			partial = append(partial, fact.Name+": "+fact.Error)
		}
		return out
	}
	if t.InstDir == "" {
		partial = append(partial, "no messaging instance: its configuration was not read")
	} else {
		cfg, imtaDir := t.InstDir+"/config", t.InstDir+"/imta/config"
		msgConf := rd(cfg+"/msg.conf", parse.MsgConf, false)
		localConf := rd(cfg+"/local.conf", parse.MsgConf, false)
		imta := rd(imtaDir+"/imta.cnf", nil, false)
		if imta.ok {
			if chans, err := parse.IMTAChannels(bytes.NewReader(imta.data)); err == nil {
				c.IMTAChannels = chans
			}
		}
		disp := rd(imtaDir+"/dispatcher.cnf", collectors.FlatDispatcher, false)
		rd(imtaDir+"/job_controller.cnf", collectors.FlatDispatcher, false)
		if p, ok := collectors.FirstPort(collectors.FoldValue(disp.raw, "SERVICE=SMTP.PORT")); ok {
			c.Ports["smtp"] = p
		}
		for _, svc := range []string{"imap", "pop", "http"} {
			if p, ok := collectors.FirstPort(collectors.ConfValue("service."+svc+".port", localConf.raw, msgConf.raw)); ok {
				c.Ports[svc] = p
			}
		}
		if p, ok := collectors.FirstPort(collectors.INFValue(t.InstallInf, "slapd", "ServerPort")); ok {
			c.Ports["ldap"] = p
		} else if p, ok := collectors.FirstPort(collectors.ConfValue("local.ugldapport", localConf.raw, msgConf.raw)); ok {
			c.Ports["ldap"] = p
		}
		for _, b := range s.Install.Backups {
			dir := t.Root + "/" + b + "/config"
			rd(dir+"/msg.conf", parse.MsgConf, false)
			rd(dir+"/local.conf", parse.MsgConf, false)
		}
		if n := len(s.Install.Backups); n > 0 {
			c.BackupDiffs = m.backupDiffs(t, s.Install.Backups[n-1])
		}
	}
	adm := rd(t.Root+"/admin-serv/config/adm.conf", parse.KeyColonValue, false)
	if p, ok := collectors.FirstPort(adm.raw["port"]); ok {
		c.Ports["admin"] = p
	} else if p, ok := collectors.FirstPort(collectors.INFValue(t.InstallInf, "admin", "Port")); ok {
		c.Ports["admin"] = p
	}
	if t.WSRoot != "" {
		for _, inst := range m.subdirs(t.WSRoot, "https-") {
			dir := t.WSRoot + "/" + inst + "/config"
			magnus := rd(dir+"/magnus.conf", parse.Magnus, false)
			if p, ok := collectors.FirstPort(magnus.raw["Port"]); ok {
				c.Ports[inst] = p
			}
			rd(dir+"/servlets.properties", parse.Properties, true)
			rd(dir+"/servlets.properties.nda", parse.Properties, true)
		}
	}
	readable := 0
	for _, f := range c.Files {
		if f.Error == "" || strings.HasPrefix(f.Error, "parse:") {
			readable++
		}
	}
	if readable == 0 {
		return partial, errors.New("no configuration file could be read")
	}
	if len(c.Ports) == 0 {
		c.Ports = nil
	}
	s.Configs = c
	return partial, nil
}

// backupDiffs mirrors the configs collector's comparison of the newest
// backup directory (backup, relative to the root) with the files in place.
func (m *material) backupDiffs(t *collectors.Target, backup string) []facts.BackupDiff {
	bd := m.backupDiff
	dir := t.Root + "/" + backup
	if bd == nil || bd.dir != dir {
		return nil
	}
	var out []facts.BackupDiff
	for _, row := range bd.rows {
		state, rel, ok := strings.Cut(row, " ")
		if !ok {
			continue
		}
		d := facts.BackupDiff{Backup: backup}
		switch state {
		case "absent":
			d.State = facts.BackupFileAbsent
		case "binary":
			d.State = facts.BackupBinaryDiffers
		case "unreadable":
			which, name, _ := strings.Cut(rel, " ")
			rel = name
			p := dir + "/" + rel
			if which == "current" {
				p = t.InstDir + "/" + rel
			}
			d.State, d.Error = facts.BackupUnreadable, fmt.Sprintf("open %s: permission denied", p)
		case "text":
			old, cur := m.files[dir+"/"+rel], m.files[t.InstDir+"/"+rel]
			switch {
			case old == nil || old.state != "ok":
				d.State, d.Error = facts.BackupUnreadable, fileErrorOrMissing(dir+"/"+rel, old)
			case cur == nil || cur.state != "ok":
				d.State, d.Error = facts.BackupUnreadable, fileErrorOrMissing(t.InstDir+"/"+rel, cur)
			default:
				diff, differs := collectors.LineDiff(collectors.SplitLines(old.data), collectors.SplitLines(cur.data))
				if !differs {
					continue
				}
				d.State, d.Missing, d.MissingTotal = diff.State, diff.Missing, diff.MissingTotal
			}
		default:
			continue
		}
		if collectors.IsKeyedBackupFile(rel) {
			continue
		}
		d.Name = rel
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// fileErrorOrMissing is fileError for a file section the bundle may lack.
func fileErrorOrMissing(p string, f *fileSec) string {
	if f == nil {
		return "not gathered by the collector script"
	}
	return fileError(p, f)
}

// command is the output and error of a command the script ran.
func (m *material) command(name, exe string) (string, error) {
	c := m.cmds[name]
	switch {
	case c == nil:
		return "", fmt.Errorf("%s: not gathered by the collector script", name)
	case c.missing:
		return "", fmt.Errorf("%s not found", exe)
	}
	return c.out, exitStatus(name, c.rc)
}

// readINF parses a shipped .inf file, with the versions collector's errors.
func (m *material) readINF(p string) (map[string]map[string]string, error) {
	f := m.files[p]
	switch {
	case f == nil || f.state == "missing":
		return nil, fmt.Errorf("%s not found", path.Base(p))
	case f.state != "ok":
		return nil, fmt.Errorf("open %s: %s", path.Base(p), fileError(p, f))
	}
	inf, err := parse.INF(bytes.NewReader(f.data))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path.Base(p), err)
	}
	return inf, nil
}

// versions mirrors the versions collector; the network sources are
// recorded with the NotGathered error.
func (m *material) versions(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	v := &facts.Versions{}
	if t.InstDir == "" {
		var srcs []facts.VersionSource
		for _, n := range []string{"imsimta version", "smtp greeting", "imap greeting"} {
			srcs = append(srcs, facts.VersionSource{Source: n, Error: "no messaging instance"})
		}
		v.Messaging = collectors.SettleVersion(srcs, false)
	} else {
		src := facts.VersionSource{Source: "imsimta version"}
		out, err := m.command("imsimta version", t.InstDir+"/imsimta")
		if line := collectors.FirstLine(out); line != "" {
			src = collectors.MsgVersionSource("imsimta version", line)
		} else if err != nil {
			src.Error = err.Error()
		} else {
			src.Error = "imsimta version printed nothing"
		}
		v.Messaging = collectors.SettleVersion([]facts.VersionSource{src,
			{Source: "smtp greeting", Error: NotGathered}, {Source: "imap greeting", Error: NotGathered}}, true)
	}

	bin := t.Root + "/bin/slapd/server/ns-slapd"
	out, err := m.command("ns-slapd -v", bin)
	ds := collectors.DSVersionSource(out, err)
	inf, err := m.readINF(t.Root + "/setup/slapd/slapd.inf")
	infSrc := collectors.INFVersionSource("slapd.inf", "slapd", inf, err)
	binExists := m.kinds[bin] != "" && m.kinds[bin] != "-"
	v.Directory = collectors.SettleVersion([]facts.VersionSource{ds, infSrc}, binExists || len(t.SlapdIDs) > 0)

	if t.WSRoot == "" {
		v.WebServer = collectors.SettleVersion([]facts.VersionSource{
			{Source: "ns-httpd -v", Error: "no Web Server root (no https-admserv in the server root)"},
		}, false)
	} else {
		out, err := m.command("ns-httpd -v", t.WSRoot+"/bin/https/bin/ns-httpd")
		srcs := []facts.VersionSource{collectors.WebVersionSource(out, err)}
		for _, inst := range m.subdirs(t.WSRoot, "https-") {
			srcs = append(srcs, facts.VersionSource{Source: "http Server header", Error: NotGathered,
				Detail: map[string]string{"instance": inst}})
		}
		v.WebServer = collectors.SettleVersion(srcs, true)
	}

	nda, err := m.readINF(t.Root + "/setup/nda/nda.inf")
	installed := err == nil
	srcs := []facts.VersionSource{collectors.INFVersionSource("nda.inf", "nda", nda, err)}
	if t.WSRoot != "" {
		for _, inst := range m.subdirs(t.WSRoot, "https-") {
			dir := t.WSRoot + "/" + inst + "/config"
			if src, ok := m.daSource("servlets.properties", dir+"/servlets.properties", t.WSRoot); ok {
				srcs = append(srcs, src)
				installed = true
			}
			for _, p := range m.fileList {
				if path.Dir(p) != dir || !strings.HasSuffix(p, ".nda") {
					continue
				}
				if src, ok := m.daSource("*.nda files", p, t.WSRoot); ok {
					src.Stale = true
					srcs = append(srcs, src)
				}
			}
		}
	}
	v.DelegatedAdmin = collectors.SettleVersion(srcs, installed)
	s.Versions = v
	return nil, nil
}

// daSource reads a Delegated Administrator version from a shipped file.
func (m *material) daSource(name, p, wsroot string) (facts.VersionSource, bool) {
	f := m.files[p]
	rel := collectors.RelName(wsroot, p)
	switch {
	case f == nil || f.state == "missing":
		return facts.VersionSource{}, false
	case f.state != "ok":
		return facts.VersionSource{Source: name, Detail: map[string]string{"file": rel}, Error: fileError(p, f)}, true
	}
	return collectors.DAFileSource(name, rel, f.data)
}

// processes mirrors the processes collector on `ps -eo` and, where the
// host has them, /proc/<pid>/exe links.
func (m *material) processes(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	if m.psFields == "" {
		return nil, errors.New("list processes: ps -eo failed on the host")
	}
	fields := strings.Split(m.psFields, ",")
	stateCol := -1
	for i, f := range fields {
		if f == "s" || f == "stat" {
			stateCol = i
		}
	}
	nHead := len(fields) - 1
	out := &facts.Processes{Daemons: []facts.Process{}}
	for _, l := range m.ps {
		f := strings.Fields(l)
		if len(f) < nHead {
			continue
		}
		pid, err1 := strconv.ParseInt(f[0], 10, 32)
		ppid, err2 := strconv.ParseInt(f[1], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		argv := f[nHead:]
		info := collectors.ProcessInfo{PID: int32(pid), Argv: argv}
		if stateCol >= 0 && strings.HasPrefix(f[stateCol], "Z") {
			info.Zombie = true
		}
		if len(argv) == 1 && strings.HasPrefix(argv[0], "[") && strings.HasSuffix(argv[0], "]") {
			info.Name, info.Argv = strings.Trim(argv[0], "[]"), nil
		} else if len(argv) > 0 {
			info.Name = path.Base(argv[0])
		}
		switch exe, ok := m.exe[int32(pid)]; {
		case !m.exeListed:
			info.ExeErr = errors.New("no /proc/<pid>/exe on this host")
		case ok:
			info.Exe = exe
		case m.exeUnreadable[int32(pid)]:
			info.ExeErr = errors.New("executable link unreadable")
		default:
			continue // exited while the script listed the executables
		}
		fp, owner := collectors.ClassifyProcess(t.Root, t.WSRoot, t.Instance, info)
		if owner == collectors.ProcessOther {
			continue
		}
		fp.PPID, fp.Cmdline = int32(ppid), strings.Join(argv, " ")
		if f[2] != "" {
			fp.User = f[2]
		}
		if owner == collectors.ProcessUnreadable {
			out.Unreadable = append(out.Unreadable, fp)
		} else {
			out.Daemons = append(out.Daemons, fp)
		}
	}
	sort.Slice(out.Daemons, func(i, j int) bool { return out.Daemons[i].PID < out.Daemons[j].PID })
	sort.Slice(out.Unreadable, func(i, j int) bool { return out.Unreadable[i].PID < out.Unreadable[j].PID })
	partial := []string{"start times and listening ports are not gathered by the collector script"}
	if len(out.Unreadable) > 0 {
		partial = append(partial, fmt.Sprintf("%d daemon-named processes with unreadable executables", len(out.Unreadable)))
	}
	s.Processes = out
	return partial, nil
}

// mountFacts mirrors the mounts collector on the shipped mount table and
// df -k figures.
func (m *material) mountFacts(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	var mounts []collectors.MountEntry
	switch m.mountFormat {
	case "mountinfo":
		var err error
		if mounts, err = collectors.ParseMountInfo(strings.NewReader(m.mounts)); err != nil {
			return nil, err
		}
	case "mnttab":
		for _, l := range strings.Split(m.mounts, "\n") {
			f := strings.Split(l, "\t")
			if len(f) >= 4 {
				mounts = append(mounts, collectors.MountEntry{Source: f[0], MountPoint: f[1], FSType: f[2], Options: f[3]})
			}
		}
	default:
		return nil, errors.New("mount table: neither /proc/self/mountinfo nor /etc/mnttab was readable on the host")
	}
	var partial []string
	store := t.InstDir + "/store/partition/primary"
	mf := &facts.Mounts{Store: facts.StoreMount{Path: store}, Filesystems: map[string]facts.DiskSpace{}}
	for _, row := range m.paths {
		if row.real == "-" {
			if row.key != "store" {
				partial = append(partial, fmt.Sprintf("free space of %s: no such file or directory", row.path))
			}
			continue
		}
		e, ok := collectors.MountFor(mounts, row.real)
		if row.key == "store" && ok && e.MountPoint == row.real {
			mf.Store.MountPoint = true
			mf.Store.Device, mf.Store.FSType, mf.Store.Options = e.Source, e.FSType, e.Options
		}
		ds := facts.DiskSpace{Path: row.path}
		if ok {
			ds.MountPoint = e.MountPoint
		}
		if len(row.df) != 2 {
			partial = append(partial, fmt.Sprintf("free space of %s: df -k gave no figures", row.path))
			continue
		}
		total, err1 := strconv.ParseUint(row.df[0], 10, 64)
		free, err2 := strconv.ParseUint(row.df[1], 10, 64)
		if err1 != nil || err2 != nil {
			partial = append(partial, fmt.Sprintf("free space of %s: df -k printed %q", row.path, strings.Join(row.df, " ")))
			continue
		}
		ds.TotalBytes, ds.FreeBytes = total*1024, free*1024
		mf.Filesystems[row.key] = ds
	}
	s.Mounts = mf
	return partial, nil
}

// queueFacts mirrors the queue collector on the shipped listing.
func (m *material) queueFacts(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	dir := t.InstDir + "/imta/queue"
	if m.queue == nil {
		switch m.kinds[dir] {
		case "-", "":
			return nil, fmt.Errorf("queue directory %s: no such file or directory", dir)
		case "r":
			return nil, fmt.Errorf("queue directory %s: permission denied", dir)
		}
		return nil, fmt.Errorf("queue directory %s: not a directory", dir)
	}
	s.Queue = m.queue.queueFacts(dir)
	return m.treePartial("queue"), nil
}

// treePartial lists what ls could not read, and lines it could not parse.
func (m *material) treePartial(name string) []string {
	p := append([]string(nil), m.treeErrs[name]...)
	var ts *treeScan
	if name == "queue" {
		ts = m.queue
	} else {
		ts = m.store
	}
	if ts != nil && ts.bad > 0 {
		p = append(p, fmt.Sprintf("%d lines of the %s listing not understood", ts.bad, name))
	}
	return p
}

// storeFacts mirrors the store collector on the shipped listing.
func (m *material) storeFacts(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	dir := t.InstDir + "/store/partition/primary"
	st := &facts.Store{Path: dir}
	switch m.kinds[dir] {
	case "-", "":
		st.UsersDigest = collectors.UsersDigest(nil)
		s.Store = st
		return nil, nil
	case "r":
		return nil, fmt.Errorf("store partition %s: permission denied", dir)
	case "d":
	default:
		return nil, fmt.Errorf("store partition %s: not a directory", dir)
	}
	if m.store == nil {
		return nil, fmt.Errorf("store partition %s: not listed by the collector script", dir)
	}
	st.Exists = true
	ts := m.store
	st.Mailboxes, st.Files, st.Bytes = ts.mailboxes, ts.files, ts.bytes
	partial := m.treePartial("store")
	if ts.overflow {
		partial = append(partial, fmt.Sprintf("more than %d mailboxes: users digest not computed", collectors.StoreDigestLimit))
		s.Store = st
		return partial, nil
	}
	sort.Strings(ts.uids)
	st.UsersDigest = collectors.UsersDigest(ts.uids)
	if len(ts.uids) <= collectors.StoreUsersLimit {
		st.Users = ts.uids
	}
	s.Store = st
	return partial, nil
}

// mailLog mirrors the maillog collector on the shipped log.
func (m *material) mailLog(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	if t.InstDir == "" {
		return nil, errors.New("read mail.log_current: no messaging instance")
	}
	p := t.InstDir + "/log/imta/mail.log_current"
	switch {
	case !m.maillogSeen && (m.kinds[p] == "-" || m.kinds[p] == ""):
		return nil, fmt.Errorf("open mail.log_current: open %s: no such file or directory", p)
	case !m.maillogSeen:
		return nil, fmt.Errorf("open mail.log_current: open %s: not readable by the collector script", p)
	case m.maillogErr != nil:
		return nil, m.maillogErr
	}
	m.maillog.Path = p
	s.MailLog = m.maillog
	return nil, nil
}

// ha mirrors the ha collector on the cluster CLIs the script found and ran.
func (m *material) ha(_ *collectors.Target, s *facts.Snapshot) ([]string, error) {
	h := &facts.HA{Kind: collectors.HANone}
	found := map[string]bool{}
	for _, tool := range []string{"hareg", "hagrp", "hares", "scrgadm", "scstat"} {
		if m.haPaths[tool] != "" {
			found[tool] = true
			h.Tools = append(h.Tools, tool)
		}
	}
	var partial []string
	var raw bytes.Buffer
	runErr := func(name string) (string, error) {
		out, err := m.command(name, name)
		fmt.Fprintf(&raw, "$ %s\n%s", name, out)
		if err != nil {
			err = errors.New(strings.TrimPrefix(err.Error(), "run "))
			partial = append(partial, err.Error())
		}
		return out, err
	}
	run := func(name string) (string, bool) {
		out, err := runErr(name)
		return out, err == nil
	}
	switch {
	case found["scrgadm"] && found["scstat"]:
		h.Kind = collectors.HASC3
		if out, ok := run("scstat -g"); ok {
			h.Services = collectors.HAServices(collectors.HASC3, out)
		}
		if c := m.cmds["pkginfo SUNWscims"]; c != nil && !c.missing {
			h.AgentPackage = c.rc == "0"
		} else {
			partial = append(partial, "pkginfo not found: cluster agent package SUNWscims not checked")
		}
		out, err := runErr("scstat -n")
		h.Nodes, h.NodesError = collectors.SC3Nodes(out, err)
		me, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(m.meta["nodename"])), ".")
		for i := range h.Nodes {
			n := &h.Nodes[i]
			if !collectors.SC3NodeOnline(n) {
				continue
			}
			n.Local = n.Name == me
			args := collectors.SC3AgentCommand(n.Name, n.Local)
			name := strings.Join(args, " ")
			c := m.cmds[name]
			switch {
			case c == nil:
				collectors.SC3NodeAgent(n, "", 0, fmt.Errorf("%s: not gathered by the collector script", name))
			case c.missing:
				collectors.SC3NodeAgent(n, "", 0, fmt.Errorf("%s not found", args[0]))
			default:
				rc, err := strconv.Atoi(c.rc)
				if err != nil {
					collectors.SC3NodeAgent(n, c.out, 0, errors.New(strings.TrimPrefix(exitStatus(name, c.rc).Error(), "run ")))
					continue
				}
				collectors.SC3NodeAgent(n, c.out, rc, nil)
			}
		}
	case found["hagrp"] && found["hares"]:
		h.Kind = collectors.HAVCS
		if out, ok := run("hagrp -state " + collectors.VCSGroup); ok {
			h.Services = collectors.HAServices(collectors.HAVCS, out)
		}
		if out, ok := run("hares -dep"); ok {
			h.Dependencies = collectors.HADependencies(out)
		}
	case found["hareg"]:
		h.Kind = collectors.HASC22
		if out, ok := run("hareg"); ok {
			h.Services = collectors.HAServices(collectors.HASC22, out)
		}
		if m.haPaths["haget"] == "" {
			h.Master, h.IsMaster, h.MasterError = collectors.SC22Master("", errors.New("haget not found"), "", nil)
			partial = append(partial, h.MasterError)
			break
		}
		master, merr := runErr("haget -f master -h ims-lh")
		mastered, derr := runErr("haget -f mastered")
		h.Master, h.IsMaster, h.MasterError = collectors.SC22Master(master, merr, mastered, derr)
	}
	if raw.Len() > collectors.HARawLimit {
		raw.Truncate(collectors.HARawLimit)
	}
	h.Raw = raw.String()
	s.HA = h
	return partial, nil
}

// runState mirrors the run_state collector on the state files shipped.
func (m *material) runState(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	p := runstate.Path(t.StateDir, t.Root)
	f := m.files[p]
	switch {
	case f == nil || f.state == "missing":
		s.RunState = &facts.RunState{Status: runstate.StatusNone}
		return nil, nil
	case f.state != "ok":
		return nil, fmt.Errorf("read run state %s: %s", p, fileError(p, f))
	}
	rs, err := runstate.Parse(f.data, p, t.Root)
	if err != nil {
		return nil, err
	}
	s.RunState = &rs
	return nil, nil
}

// LDAP result codes ldapsearch exits with.
const (
	ldapNoSuchObject       = "32"
	ldapInvalidCredentials = "49"
)

// ldapFacts mirrors the ldap collector on the ldapsearch runs of the
// script. Without ldapsearch on the host the directory is not read, and
// that is the collector's error.
func (m *material) ldapFacts(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	lt, err := collectors.ResolveLDAPTarget(t)
	if err != nil {
		return nil, err
	}
	if m.ldapMeta["ldapsearch"] == "" {
		return nil, errors.New("ldapsearch not found on the host: the directory was not read (put ldapsearch on PATH and run the collector script again)")
	}
	f := &facts.LDAP{URL: lt.URL, BindDN: lt.BindDN, TLS: "none", UserSuffix: lt.Suffix}
	switch {
	case lt.Scheme == "ldaps":
		f.TLS = "ldaps"
	case t.LDAPStartTLS:
		f.TLS = "starttls"
	}
	s.LDAP = f
	if m.ldapMeta["password"] != "file" {
		a := m.ldap["anon"]
		if a == nil {
			return nil, errors.New("ldap: no root dse read in the bundle")
		}
		if a.rc != "0" {
			f.Error = ldapError("read root dse from "+lt.HostPort, a)
			return []string{f.Error}, nil
		}
		f.Reachable = true
		if m.ldapMeta["password"] == "unreadable" {
			f.Error = "bind password: the file named by MSGUARD_BIND_PASSWORD_FILE is not readable"
			return nil, errors.New(f.Error)
		}
		f.Error = collectors.ErrNoBindPassword.Error()
		return nil, collectors.ErrNoBindPassword
	}
	root := m.ldap["rootdse"]
	if root == nil {
		return nil, errors.New("ldap: no root dse read in the bundle")
	}
	switch root.rc {
	case "0":
	case ldapInvalidCredentials:
		f.Reachable = true
		f.Error = "invalid credentials for " + lt.BindDN
		return []string{f.Error}, nil
	default:
		f.Error = ldapError("connect "+lt.HostPort, root)
		return []string{f.Error}, nil
	}
	f.Reachable, f.Bound = true, true
	var partial []string
	if es := parseLDIF(root.ldif); len(es) == 1 {
		f.NamingContexts = es[0]["namingcontexts"]
		f.VendorName = first(es[0]["vendorname"])
		f.VendorVersion = first(es[0]["vendorversion"])
	}
	if mon := m.ldap["monitor"]; mon != nil && mon.rc == "0" {
		if es := parseLDIF(mon.ldif); len(es) == 1 {
			f.MonitorVersion = first(es[0]["version"])
			if f.MonitorVersion == "" {
				f.MonitorVersion = first(es[0]["monitoredinfo"])
			}
		}
	} else if mon != nil && mon.rc != ldapNoSuchObject {
		partial = append(partial, ldapError("read cn=monitor", mon))
	}
	if sc := m.ldap["schema"]; sc != nil && sc.rc == "0" {
		if es := parseLDIF(sc.ldif); len(es) == 1 {
			f.SchemaInetMailUser = collectors.SchemaHasObjectClass(es[0]["objectclasses"], "inetMailUser")
		}
	} else if sc != nil {
		partial = append(partial, ldapError("read schema", sc))
	}
	if pab := m.ldap["pab"]; pab != nil && pab.rc == "0" {
		f.PABExists = true
	} else if pab != nil && pab.rc != ldapNoSuchObject {
		partial = append(partial, ldapError("read "+collectors.PABSuffix, pab))
	}
	if rc := m.ldap["recipients"]; rc != nil && rc.rc == "0" {
		es := parseLDIF(rc.ldif)
		f.MailRecipients = int64(len(es))
		if len(es) > collectors.RecipientsDigestLimit {
			partial = append(partial, fmt.Sprintf("more than %d mail recipients: digest not computed", collectors.RecipientsDigestLimit))
		} else {
			dns := make([]string, 0, len(es))
			for _, e := range es {
				dns = append(dns, strings.ToLower(first(e["dn"])))
			}
			sort.Strings(dns)
			f.RecipientsDigest = collectors.UsersDigest(dns)
		}
	} else if rc != nil {
		partial = append(partial, ldapError("count mail recipients under "+lt.Suffix, rc))
	}
	if f.PABExists {
		if pe := m.ldap["pabentries"]; pe != nil && pe.rc == "0" {
			f.PABEntries = max(int64(len(parseLDIF(pe.ldif)))-1, 0)
		} else if pe != nil {
			partial = append(partial, ldapError("count entries under "+collectors.PABSuffix, pe))
		}
	}
	return partial, nil
}

// ldapError names a failed ldapsearch with what it printed on stderr.
func ldapError(op string, l *ldapSec) string {
	msg := strings.TrimSpace(strings.Join(l.stderr, "; "))
	if msg == "" {
		msg = "ldapsearch exit status " + l.rc
	}
	return op + ": " + msg
}

// parseLDIF reads ldapsearch -LLL output: entries separated by blank
// lines, folded lines continued by a leading space, "attr:: base64".
// Attribute names are lower-cased; the DN is under "dn".
func parseLDIF(lines []string) []map[string][]string {
	var out []map[string][]string
	var cur map[string][]string
	var logical []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, " ") && len(logical) > 0:
			logical[len(logical)-1] += l[1:]
			continue
		case strings.HasPrefix(l, "#"):
			continue
		}
		logical = append(logical, l)
	}
	for _, l := range logical {
		if l == "" {
			cur = nil
			continue
		}
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(val, ":"):
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val[1:])); err == nil {
				val = string(b)
			} else {
				val = strings.TrimSpace(val[1:])
			}
		case strings.HasPrefix(val, "<"):
			val = strings.TrimSpace(val[1:])
		default:
			val = strings.TrimPrefix(val, " ")
		}
		if cur == nil {
			cur = map[string][]string{}
			out = append(out, cur)
		}
		k := strings.ToLower(name)
		cur[k] = append(cur[k], val)
	}
	return out
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
