package directory

import (
	"fmt"
	"path/filepath"

	"github.com/msguard/msguard/sim"
)

// Suffixes and the administrator DN of the simulated directory (layout.md).
const (
	UserSuffix         = "o=siroe.com"
	PABSuffix          = "o=pab"
	ConfigSuffix       = "o=NetscapeRoot"
	DirectoryManagerDN = "cn=Directory Manager"
	// PeopleDN holds the users and the service administrator.
	PeopleDN = "ou=People," + UserSuffix
	// ConfigAdminDN is the configuration directory administrator ("admin").
	ConfigAdminDN = "uid=admin,ou=Administrators,ou=TopologyManagement," + ConfigSuffix
)

// instance is one ROOT/slapd-<id>.
type instance struct {
	ID       string
	Dir      string // ROOT/slapd-<id>
	Port     int
	Suffixes []string
}

func (in instance) conf() string          { return filepath.Join(in.Dir, "config", "slapd.conf") }
func (in instance) logs() string          { return filepath.Join(in.Dir, "logs") }
func (in instance) pidFile() string       { return filepath.Join(in.Dir, "logs", "pid") }
func (in instance) childPid() string      { return filepath.Join(in.Dir, "logs", "child.pid") }
func (in instance) errorsLog() string     { return filepath.Join(in.Dir, "logs", "errors") }
func (in instance) ldifDir() string       { return filepath.Join(in.Dir, "ldif") }
func (in instance) dbDir(n string) string { return filepath.Join(in.Dir, "db", n) }

func (in instance) serves(suffix string) bool {
	for _, s := range in.Suffixes {
		if s == suffix {
			return true
		}
	}
	return false
}

// instances lists the slapd instances of a state: one serves every suffix;
// with two, the first serves o=siroe.com and o=pab, the second o=NetscapeRoot.
func instances(st *sim.State) []instance {
	sc := &st.Scenario
	if sc.DSExternal {
		return nil
	}
	p := st.Paths()
	var out []instance
	for i, id := range sc.DSInstances {
		in := instance{ID: id, Dir: p.Slapd(id), Port: sc.Ports.LDAP}
		switch {
		case len(sc.DSInstances) == 1:
			in.Suffixes = []string{UserSuffix, PABSuffix, ConfigSuffix}
		case i == 0:
			in.Suffixes = []string{UserSuffix, PABSuffix}
		default:
			in.Port = sc.Ports.LDAPConfig
			in.Suffixes = []string{ConfigSuffix}
		}
		out = append(out, in)
	}
	return out
}

func instanceOf(st *sim.State, id string) (instance, error) {
	for _, in := range instances(st) {
		if in.ID == id {
			return in, nil
		}
	}
	return instance{}, fmt.Errorf("no slapd instance %q in %s (have %v)", id, st.Scenario.Root, st.Scenario.DSInstances)
}

// URL is the LDAP URL of slapd-<id> of the host.
func URL(st *sim.State, id string) string {
	in, err := instanceOf(st, id)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("ldap://127.0.0.1:%d", in.Port)
}
