package procs

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/msguard/msguard/sim"
)

// readLines returns the lines of a file with CR and surrounding blanks
// removed.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		out = append(out, strings.TrimSpace(strings.TrimRight(sc.Text(), "\r")))
	}
	return out, sc.Err()
}

// parseMsgConf reads msg.conf / local.conf lines: `name = "value"` or
// `name = value`, `!` starts a comment, the last duplicate wins. Keys are
// compared case-insensitively (returned lower-case).
func parseMsgConf(lines []string) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		if l == "" || strings.HasPrefix(l, "!") || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, `"`) {
			if end := strings.Index(v[1:], `"`); end >= 0 {
				v = v[1 : 1+end]
			} else {
				v = strings.TrimPrefix(v, `"`)
			}
		} else if i := strings.Index(v, "!"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// parseDispatcherPort returns PORT= of the [SERVICE=<service>] section of
// dispatcher.cnf (0 when absent). PORT may list several ports separated by
// commas; the first is used.
func parseDispatcherPort(lines []string, service string) int {
	in := false
	for _, l := range lines {
		if l == "" || strings.HasPrefix(l, "!") || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "[") {
			sec := strings.ToUpper(strings.ReplaceAll(strings.Trim(l, "[]"), " ", ""))
			in = sec == "SERVICE="+strings.ToUpper(service)
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "PORT") {
			first, _, _ := strings.Cut(strings.TrimSpace(v), ",")
			if n, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
				return n
			}
		}
	}
	return 0
}

// parseKeyValue reads "key: value", "key value" or "key=value" lines (adm.conf,
// magnus.conf) and returns the value of key (case-insensitive), last one
// winning; "" when absent.
func parseKeyValue(lines []string, key string) string {
	val := ""
	for _, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.IndexAny(l, ":= \t")
		if i <= 0 || !strings.EqualFold(l[:i], key) {
			continue
		}
		v := strings.TrimSpace(l[i:])
		v = strings.TrimSpace(strings.TrimLeft(v, ":="))
		val = strings.Trim(v, `"`)
	}
	return val
}

// portOr converts s to a port, or returns def.
func portOr(s string, def int) int {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 && n < 65536 {
		return n
	}
	return def
}

// msgPort is the port a messaging daemon listens on (0: none), read from
// the instance's dispatcher.cnf / msg.conf, falling back to the scenario.
func msgPort(st *sim.State, daemon string) int {
	p := st.Paths()
	ports := st.Scenario.Ports
	switch daemon {
	case "dispatcher":
		lines, err := readLines(filepath.Join(p.Inst(), "imta", "config", "dispatcher.cnf"))
		if err == nil {
			if n := parseDispatcherPort(lines, "SMTP"); n > 0 {
				return n
			}
		}
		return ports.SMTP
	case "imapd", "popd", "mshttpd":
		key, def := "service.http.port", ports.HTTP
		switch daemon {
		case "imapd":
			key, def = "service.imap.port", ports.IMAP
		case "popd":
			key, def = "service.pop.port", ports.POP
		}
		lines, err := readLines(filepath.Join(p.Inst(), "config", "msg.conf"))
		if err != nil {
			return def
		}
		return portOr(parseMsgConf(lines)[key], def)
	}
	return 0
}

// adminPort is the Administration Server's port: adm.conf `port:`, else
// the scenario's.
func adminPort(st *sim.State) int {
	lines, err := readLines(filepath.Join(st.Scenario.Root, "admin-serv", "config", "adm.conf"))
	if err != nil {
		return st.Scenario.Ports.Admin
	}
	return portOr(parseKeyValue(lines, "port"), st.Scenario.Ports.Admin)
}

// webPort is the port of Web Server instance https-<name>: magnus.conf
// `Port`, else the scenario's (WebAdmin for admserv).
func webPort(st *sim.State, name string) int {
	def := st.Scenario.Ports.WebServer
	if name == "admserv" {
		def = st.Scenario.Ports.WebAdmin
	}
	lines, err := readLines(filepath.Join(webInstDir(st.Paths(), name), "config", "magnus.conf"))
	if err != nil {
		return def
	}
	return portOr(parseKeyValue(lines, "Port"), def)
}

// webInstDir is WSROOT/https-<name>.
func webInstDir(p sim.Paths, name string) string { return filepath.Join(p.WSRoot, "https-"+name) }

// adminConfigDir is ROOT/admin-serv/config, the Admin Server's -d.
func adminConfigDir(p sim.Paths) string { return filepath.Join(p.Root, "admin-serv", "config") }
