// msg.conf and local.conf: writing them and configutil -o.

package tree

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/msguard/msguard/sim"
)

// MsgConf is INST/config/msg.conf.
func MsgConf(p sim.Paths) string { return filepath.Join(p.Inst(), "config", "msg.conf") }

// LocalConf is INST/config/local.conf.
func LocalConf(p sim.Paths) string { return filepath.Join(p.Inst(), "config", "local.conf") }

type confKV struct{ key, value string }

// WriteMsgConfig writes INST/config/msg.conf (service.*, store.*, alarm.*
// keys) and INST/config/local.conf (local.* keys) for st.Scenario. With
// withCustomizations the Scenario's Customizations are applied: a key that
// exists is changed in place, a new key goes to local.conf when it starts
// with "local." and to msg.conf otherwise. The 5.2 setup writes the files
// without them.
func WriteMsgConfig(st *sim.State, withCustomizations bool) error {
	sc := &st.Scenario
	p := st.Paths()
	_, user, err := directoryHostPorts(sc)
	if err != nil {
		return err
	}
	ughost, ugport, err := net.SplitHostPort(user)
	if err != nil {
		return fmt.Errorf("user directory address %q: %w", user, err)
	}
	local := []confKV{
		{"local.hostname", sc.Host},
		{"local.defdomain", DefDomain},
		{"local.ugldaphost", ughost},
		{"local.ugldapport", ugport},
		{"local.ugldapbasedn", Suffix},
		{"local.ugldapbinddn", "cn=Directory Manager"},
		{"local.ugldapbindcred", sc.Secrets.UGBindCred},
		{"local.service.pab.ldaphost", ughost},
		{"local.service.pab.ldapport", ugport},
		{"local.service.pab.ldapbasedn", "o=pab"},
		{"local.service.pab.ldapbinddn", "cn=Directory Manager"},
		{"local.service.pab.ldappasswd", sc.Secrets.PABPassword},
	}
	msg := []confKV{
		{"service.imap.enable", "1"},
		{"service.imap.port", strconv.Itoa(sc.Ports.IMAP)},
		{"service.pop.enable", "1"},
		{"service.pop.port", strconv.Itoa(sc.Ports.POP)},
		{"service.http.enable", "1"},
		{"service.http.port", strconv.Itoa(sc.Ports.HTTP)},
		{"service.listenaddr", "127.0.0.1"},
		{"store.partition.primary.path", p.Store()},
		{"store.quotaenforcement", "off"},
		{"alarm.diskavail.msgalarmthreshold", "10"},
		{"alarm.diskavail.msgalarmstatinterval", "3600"},
		{"logfile.imap.loglevel", "Notice"},
	}
	if withCustomizations {
		keys := make([]string, 0, len(sc.Customizations))
		for k := range sc.Customizations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	next:
		for _, k := range keys {
			v := sc.Customizations[k]
			for _, list := range [][]confKV{local, msg} {
				for i := range list {
					if list[i].key == k {
						list[i].value = v
						continue next
					}
				}
			}
			if strings.HasPrefix(k, "local.") {
				local = append(local, confKV{k, v})
			} else {
				msg = append(msg, confKV{k, v})
			}
		}
	}
	if err := writeFile(MsgConf(p), renderConf("msg.conf", msg), 0o600); err != nil {
		return err
	}
	return writeFile(LocalConf(p), renderConf("local.conf", local), 0o600)
}

func renderConf(name string, kvs []confKV) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "! %s - iPlanet Messaging Server configuration (configutil)\n!\n\n", name)
	for _, kv := range kvs {
		fmt.Fprintf(&b, "%s = %q\n", kv.key, kv.value)
	}
	return []byte(b.String())
}

// SetConfigValue is `configutil -o key -v value`: in the first file that
// sets key (local.conf, then msg.conf; keys compare case-insensitively) it
// rewrites every line of key, duplicates included, so that whichever line a
// reader takes holds the new value; a key set nowhere is appended to
// local.conf for local.* keys and to msg.conf for the others.
func SetConfigValue(p sim.Paths, key, value string) error {
	newLine := fmt.Sprintf("%s = %q", key, value)
	for _, path := range []string{LocalConf(p), MsgConf(p)} {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Split(string(b), "\n")
		found := false
		for i, line := range lines {
			if k, ok := confKey(line); ok && strings.EqualFold(k, key) {
				lines[i], found = newLine, true
			}
		}
		if found {
			return sim.WriteFileAtomic(path, []byte(strings.Join(lines, "\n")), 0o600)
		}
	}
	path := MsgConf(p)
	if strings.HasPrefix(key, "local.") {
		path = LocalConf(p)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return sim.WriteFileAtomic(path, append(b, newLine+"\n"...), 0o600)
}

// confKey is the key of a `key = value` line of msg.conf or local.conf
// (ok is false for comments, blank and other lines).
func confKey(line string) (key string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "!") || strings.HasPrefix(line, "#") {
		return "", false
	}
	k, _, ok := strings.Cut(line, "=")
	return strings.TrimSpace(k), ok
}
