package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
)

// maxConfigSize bounds a configuration file read into memory.
const maxConfigSize = 64 << 20

// configParser turns a file into flat key/value pairs (secrets included).
type configParser func(io.Reader) (map[string]string, error)

// configFile is one configuration file read: its facts (redacted) and its
// raw values for the collector's own use (ports).
type configFile struct {
	fact facts.ConfigFile
	raw  map[string]string
	data []byte
	ok   bool // read (even if it did not fully parse)
	// notGathered: the bundle does not hold the file.
	notGathered bool
}

// collectConfigs reads the messaging, MTA, Administration Server and Web
// Server configuration files: their keys with secrets redacted, a SHA-256
// of each file, the imta.cnf channels and the ports they name. A missing
// file is an Error entry on that file, not a failure of the collector.
func collectConfigs(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	c := &facts.Configs{Ports: map[string]int{}}
	var partial []string
	read := func(path string, p configParser, optional bool) *configFile {
		if err := ctx.Err(); err != nil {
			return &configFile{fact: facts.ConfigFile{Name: relName(t.Root, path), Error: err.Error()}}
		}
		cf := readConfig(t.host, t.Root, path, p)
		if !cf.ok && optional && (cf.fact.Error == errNotFound || cf.notGathered) {
			return cf
		}
		c.Files = append(c.Files, cf.fact)
		if cf.fact.Error != "" && cf.fact.Error != errNotFound {
			partial = append(partial, cf.fact.Name+": "+cf.fact.Error)
		}
		return cf
	}

	if t.InstDir == "" {
		partial = append(partial, "no messaging instance: its configuration was not read")
	} else {
		cfgDir := filepath.Join(t.InstDir, "config")
		imtaDir := filepath.Join(t.InstDir, "imta", "config")
		msgConf := read(filepath.Join(cfgDir, "msg.conf"), parse.MsgConf, false)
		localConf := read(filepath.Join(cfgDir, "local.conf"), parse.MsgConf, false)

		imta := read(filepath.Join(imtaDir, "imta.cnf"), nil, false)
		if imta.ok {
			chans, err := parse.IMTAChannels(bytes.NewReader(imta.data))
			if err == nil {
				c.IMTAChannels = chans
			}
		}
		disp := read(filepath.Join(imtaDir, "dispatcher.cnf"), flatDispatcher, false)
		read(filepath.Join(imtaDir, "job_controller.cnf"), flatDispatcher, false)

		if p, ok := firstPort(foldValue(disp.raw, "SERVICE=SMTP.PORT")); ok {
			c.Ports["smtp"] = p
		}
		for _, svc := range []string{"imap", "pop", "http"} {
			if p, ok := firstPort(confValue("service."+svc+".port", localConf.raw, msgConf.raw)); ok {
				c.Ports[svc] = p
			}
		}
		if p, ok := firstPort(infValue(t.InstallInf, "slapd", "ServerPort")); ok {
			c.Ports["ldap"] = p
		} else if p, ok := firstPort(confValue("local.ugldapport", localConf.raw, msgConf.raw)); ok {
			c.Ports["ldap"] = p
		}

		// The 5.2 setup moves the old configuration to backup.<timestamp>:
		// postflight compares it with the new files.
		backups := backupDirs(t.host, t.Root, t.InstDir)
		for _, b := range backups {
			dir := filepath.Join(t.Root, filepath.FromSlash(b), "config")
			read(filepath.Join(dir, "msg.conf"), parse.MsgConf, false)
			read(filepath.Join(dir, "local.conf"), parse.MsgConf, false)
		}
		// Every other file of the newest backup, line by line.
		if n := len(backups); n > 0 && ctx.Err() == nil {
			c.BackupDiffs = backupDiffs(t.host, t.Root, t.InstDir, backups[n-1])
		}
	}

	adm := read(filepath.Join(t.Root, "admin-serv", "config", "adm.conf"), parse.KeyColonValue, false)
	if p, ok := firstPort(adm.raw["port"]); ok {
		c.Ports["admin"] = p
	} else if p, ok := firstPort(infValue(t.InstallInf, "admin", "Port")); ok {
		c.Ports["admin"] = p
	}

	if t.WSRoot != "" {
		for _, inst := range subdirs(t.host, t.WSRoot, "https-") {
			dir := filepath.Join(t.WSRoot, inst, "config")
			magnus := read(filepath.Join(dir, "magnus.conf"), parse.Magnus, false)
			if p, ok := firstPort(magnus.raw["Port"]); ok {
				c.Ports[inst] = p
			}
			read(filepath.Join(dir, "servlets.properties"), parse.Properties, true)
			read(filepath.Join(dir, "servlets.properties.nda"), parse.Properties, true)
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

// errNotFound is the Error of a configuration file that does not exist.
const errNotFound = "not found"

// readConfig reads one file from h and parses it with p (nil: digest
// only). Values are redacted in the fact and kept raw in the result.
func readConfig(h Host, root, path string, p configParser) *configFile {
	cf := &configFile{fact: facts.ConfigFile{Name: relName(root, path)}}
	f, err := h.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cf.fact.Error = errNotFound
		return cf
	case err != nil:
		cf.fact.Error = err.Error()
		cf.notGathered = errors.Is(err, ErrNotGathered)
		return cf
	}
	cf.ok, cf.data = true, f.Data
	cf.fact.SHA256 = f.SHA256
	if p == nil {
		return cf
	}
	raw, err := p(bytes.NewReader(f.Data))
	if err != nil {
		cf.fact.Error = fmt.Sprintf("parse: %v", err)
	}
	cf.raw = raw
	if len(raw) > 0 {
		cf.fact.Values = redactValues(raw)
	}
	return cf
}

// readLimited reads a whole file of at most maxConfigSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", filepath.Base(path), maxConfigSize)
	}
	return data, nil
}

// relName names a file by its slash-separated path relative to root.
func relName(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(path)
}

// flatDispatcher parses dispatcher.cnf or job_controller.cnf into flat keys:
// "SECTION.KEY" ("SERVICE=SMTP.PORT"), or "KEY" before the first section.
func flatDispatcher(r io.Reader) (map[string]string, error) {
	secs, err := parse.Dispatcher(r)
	out := map[string]string{}
	names := make([]string, 0, len(secs))
	for name := range secs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for k, v := range secs[name] {
			if name == "" {
				out[k] = v
				continue
			}
			out[name+"."+k] = v
		}
	}
	return out, err
}

// confValue returns key from the first of the maps that has it.
func confValue(key string, maps ...map[string]string) string {
	for _, m := range maps {
		if v, ok := m[key]; ok {
			return v
		}
	}
	return ""
}

// foldValue looks key up in m ignoring case.
func foldValue(m map[string]string, key string) string {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// firstPort returns the first TCP port number in v ("25", "25,587",
// "25 587").
func firstPort(v string) (int, bool) {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(f) == 0 {
		return 0, false
	}
	p, err := strconv.Atoi(f[0])
	if err != nil || p <= 0 || p > 65535 {
		return 0, false
	}
	return p, true
}
