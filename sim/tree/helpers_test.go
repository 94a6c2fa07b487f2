package tree

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
)

// newState builds a resolved State the way sim.Create does, with fixed ports.
func newState(t *testing.T, mutate func(*sim.Scenario)) *sim.State {
	t.Helper()
	sc := sim.Scenario{Root: filepath.Join(t.TempDir(), "server5"), Host: "mail.siroe.com"}
	if mutate != nil {
		mutate(&sc)
	}
	sc.Defaults()
	if err := sc.Validate(); err != nil {
		t.Fatalf("scenario: %v", err)
	}
	sc.Ports = sim.Ports{LDAP: 3891, SMTP: 3025, IMAP: 3143, POP: 3110, HTTP: 3080, Admin: 35555}
	if len(sc.DSInstances) > 1 {
		sc.Ports.LDAPConfig = 3892
	}
	if sc.WebServer != "" {
		sc.Ports.WebServer, sc.Ports.WebAdmin = 3081, 38888
	}
	return &sim.State{Scenario: sc, MsgVersion: sc.MsgVersion, DSVersion: sc.DSVersion, WebServer: sc.WebServer, DA: sc.DA}
}

// readINI parses a Netscape-style INI file tolerantly: "#"/";" comments,
// blank lines, "Key= value" with or without spaces. Keys are "section.Key".
func readINI(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case line == "" || line[0] == '#' || line[0] == ';' || line[0] == '!':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: line %q is not Key=value", path, line)
			}
			out[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// readColon parses "key: value" lines (adm.conf).
func readColon(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: line %q is not key: value", path, line)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// readConf parses msg.conf/local.conf: `name = "value"`, `!` comments.
func readConf(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not name = value", path, line)
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

var (
	queueNameRE = regexp.MustCompile(`^Z[ZYXW]0[0-9A-V]{13}\.(00|HELD)$`)
	subdirRE    = regexp.MustCompile(`^\d{3}$`)
)

// walkQueue counts the queue on disk per channel like a collector would.
func walkQueue(t *testing.T, root string, now time.Time, subdirs bool) map[string]QueueCounts {
	t.Helper()
	out := map[string]QueueCounts{}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("read queue: %v", err)
	}
	for _, e := range entries {
		out[e.Name()] = QueueCounts{}
	}
	var oldest = map[string]time.Time{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		parts := strings.Split(rel, string(filepath.Separator))
		if subdirs && (len(parts) != 3 || !subdirRE.MatchString(parts[1])) {
			t.Errorf("queue file %s not in a numbered subdirectory", rel)
		}
		if !subdirs && len(parts) != 2 {
			t.Errorf("queue file %s not directly in its channel", rel)
		}
		ch, name := parts[0], parts[len(parts)-1]
		info, err := d.Info()
		if err != nil {
			return err
		}
		c := out[ch]
		if strings.HasPrefix(name, "$") {
			if !queueNameRE.MatchString(name[1:]) {
				t.Errorf("temp file name %q", name)
			}
			c.Temp++
			c.TempBytes += info.Size()
		} else {
			if !queueNameRE.MatchString(name) {
				t.Errorf("queue file name %q", name)
			}
			c.Messages++
			if strings.HasSuffix(name, ".HELD") {
				c.Held++
			}
			c.Bytes += info.Size()
			if o, ok := oldest[ch]; !ok || info.ModTime().Before(o) {
				oldest[ch] = info.ModTime()
			}
		}
		out[ch] = c
		return nil
	})
	if err != nil {
		t.Fatalf("walk queue: %v", err)
	}
	for ch, o := range oldest {
		c := out[ch]
		c.OldestAge = now.Sub(o)
		out[ch] = c
	}
	return out
}

// walkStore returns the mailbox uids found and the number of regular files.
func walkStore(t *testing.T, root string) (uids []string, files int) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "=") && d.Name() != "=user" {
			uids = append(uids, d.Name()[1:])
		}
		if d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk store: %v", err)
	}
	return uids, files
}

var mailLogRE = regexp.MustCompile(`^(\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2}\.\d{2}) +(\S+) +(?:(\S+) +)?([EDQRJB]) +(\d+) +(\S+) +rfc822;(\S+) +(\S+)(?: +(.*))?$`)

// parseMailLog counts mail.log_current like a collector would and checks
// the times ascend.
func parseMailLog(t *testing.T, path string) MailLogCounts {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open mail log: %v", err)
	}
	defer f.Close()
	c := MailLogCounts{Codes: map[string]int{}}
	for _, code := range MailLogCodes {
		c.Codes[code] = 0
	}
	var last time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := mailLogRE.FindStringSubmatch(sc.Text())
		if m == nil {
			c.Garbage++
			continue
		}
		ts, err := time.ParseInLocation("02-Jan-2006 15:04:05.00", m[1], time.Local)
		if err != nil {
			c.Garbage++
			continue
		}
		if ts.Before(last) {
			t.Errorf("mail log time %s before %s", ts, last)
		}
		last = ts
		code, diag := m[4], m[9]
		c.Codes[code]++
		c.Records++
		if code == "J" || code == "R" || code == "B" || strings.Contains(diag, "Error:") {
			c.Errors++
		}
		if code == "Q" && strings.Contains(diag, "Error:") {
			t.Errorf("Q record with Error: %q", sc.Text())
		}
		if (code == "R" || code == "J" || code == "B") && diag == "" {
			t.Errorf("%s record without diagnostic: %q", code, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read mail log: %v", err)
	}
	return c
}
