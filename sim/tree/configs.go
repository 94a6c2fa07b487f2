package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/msguard/msguard/sim"
)

// Suffix is the user/group suffix of the simulated directory.
const Suffix = "o=siroe.com"

// DefDomain is the simulated mail domain (local.defdomain).
const DefDomain = "siroe.com"

// directoryHostPorts returns host:port of the configuration directory and
// of the user/group directory: loopback ports of the slapd instances, or
// the external directory's address.
func directoryHostPorts(sc *sim.Scenario) (config, user string, err error) {
	if sc.DSExternal {
		u, err := url.Parse(sc.DSExternalURL)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("parse ds_external_url %q: not an ldap://host:port URL", sc.DSExternalURL)
		}
		hp := u.Host
		if u.Port() == "" {
			hp = net.JoinHostPort(u.Hostname(), "389")
		}
		return hp, hp, nil
	}
	cfg := sc.Ports.LDAP
	if len(sc.DSInstances) > 1 {
		cfg = sc.Ports.LDAPConfig
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg)),
		net.JoinHostPort("127.0.0.1", strconv.Itoa(sc.Ports.LDAP)), nil
}

// configDSInstance is the slapd id holding o=NetscapeRoot ("" when external).
func configDSInstance(sc *sim.Scenario) string {
	switch {
	case sc.DSExternal || len(sc.DSInstances) == 0:
		return ""
	case len(sc.DSInstances) > 1:
		return sc.DSInstances[1]
	default:
		return sc.DSInstances[0]
	}
}

func writeAdmConf(st *sim.State) error {
	sc := &st.Scenario
	cfg, _, err := directoryHostPorts(sc)
	if err != nil {
		return err
	}
	sie := fmt.Sprintf("cn=Netscape Administration Server, cn=Server Group, cn=%s, ou=%s, o=NetscapeRoot", sc.Host, DefDomain)
	var b strings.Builder
	fmt.Fprintf(&b, "ldapurl: ldap://%s/o=NetscapeRoot\n", cfg)
	if id := configDSInstance(sc); id != "" {
		fmt.Fprintf(&b, "ldapStart: slapd-%s/start-slapd\n", id)
	}
	fmt.Fprintf(&b, "sie: cn=admin-serv-%s, %s\n", sc.Host, sie)
	fmt.Fprintf(&b, "isie: %s\n", sie)
	fmt.Fprintf(&b, "port: %d\n", sc.Ports.Admin)
	fmt.Fprintf(&b, "userdn: uid=admin, ou=Administrators, ou=TopologyManagement, o=NetscapeRoot\n")
	return writeFile(filepath.Join(sc.Root, "admin-serv", "config", "adm.conf"), []byte(b.String()), 0o644)
}

func writeInstallInf(st *sim.State) error {
	sc := &st.Scenario
	cfg, user, err := directoryHostPorts(sc)
	if err != nil {
		return err
	}
	components := "nsperl,svrcore,base,slapd,admin,msg"
	if sc.DSExternal {
		components = "nsperl,svrcore,base,admin,msg"
	}
	var b strings.Builder
	b.WriteString("# install.inf written by iPlanet Messaging Server setup\n\n")
	b.WriteString("[General]\n")
	fmt.Fprintf(&b, "FullMachineName= %s\n", sc.Host)
	fmt.Fprintf(&b, "SuiteSpotUserID= %s\n", sc.User)
	fmt.Fprintf(&b, "SuiteSpotGroup= %s\n", sc.Group)
	fmt.Fprintf(&b, "ServerRoot= %s\n", sc.Root)
	fmt.Fprintf(&b, "AdminDomain= %s\n", DefDomain)
	fmt.Fprintf(&b, "ConfigDirectoryLdapURL= ldap://%s/o=NetscapeRoot\n", cfg)
	b.WriteString("ConfigDirectoryAdminID= admin\n")
	fmt.Fprintf(&b, "ConfigDirectoryAdminPwd= %s\n", sc.Secrets.ConfigAdmin)
	fmt.Fprintf(&b, "UserDirectoryLdapURL= ldap://%s/%s\n", user, Suffix)
	fmt.Fprintf(&b, "Components= %s\n", components)
	if !sc.DSExternal && len(sc.DSInstances) > 0 {
		b.WriteString("\n[slapd]\n")
		fmt.Fprintf(&b, "ServerPort= %d\n", sc.Ports.LDAP)
		fmt.Fprintf(&b, "ServerIdentifier= %s\n", sc.DSInstances[0])
		fmt.Fprintf(&b, "Suffix= %s\n", Suffix)
		b.WriteString("RootDN= cn=Directory Manager\n")
		fmt.Fprintf(&b, "RootDNPwd= %s\n", sc.Secrets.DirectoryManager)
	}
	b.WriteString("\n[admin]\n")
	fmt.Fprintf(&b, "Port= %d\n", sc.Ports.Admin)
	b.WriteString("ServerAdminID= admin\n")
	fmt.Fprintf(&b, "ServerAdminPwd= %s\n", sc.Secrets.ConfigAdmin)
	b.WriteString("\n[msg]\n")
	fmt.Fprintf(&b, "InstanceName= msg-%s\n", sc.Instance)
	fmt.Fprintf(&b, "ServiceAdminID= %s\n", sc.Secrets.ServiceAdminID)
	fmt.Fprintf(&b, "ServiceAdminPassword= %s\n", sc.Secrets.ServiceAdmin)
	return writeFile(st.Paths().InstallInf(), []byte(b.String()), 0o600)
}

// SlapdInf is ROOT/setup/slapd/slapd.inf.
func SlapdInf(p sim.Paths) string { return filepath.Join(p.Root, "setup", "slapd", "slapd.inf") }

// NdaInf is ROOT/setup/nda/nda.inf.
func NdaInf(p sim.Paths) string { return filepath.Join(p.Root, "setup", "nda", "nda.inf") }

// WriteVersionFiles (re)writes ROOT/setup/slapd/slapd.inf from
// st.DSVersion (not when the directory is external) and
// ROOT/setup/nda/nda.inf from st.DA (removed when st.DA is empty). The
// installers call it after changing the State's versions.
func WriteVersionFiles(st *sim.State) error {
	p := st.Paths()
	if !st.Scenario.DSExternal {
		line, ok := sim.DSVendorLines[st.DSVersion]
		if !ok {
			return fmt.Errorf("write slapd.inf: unknown directory version %q", st.DSVersion)
		}
		build := line[strings.LastIndex(line, " ")+1:]
		s := fmt.Sprintf("[slapd]\nVersion= %s\nBuildNumber= %s\nVendor= Netscape Communications Corp.\n", st.DSVersion, build)
		if err := writeFile(SlapdInf(p), []byte(s), 0o644); err != nil {
			return err
		}
		for _, id := range st.Scenario.DSInstances {
			if st.DSInstanceVersions == nil {
				st.DSInstanceVersions = map[string]string{}
			}
			v := st.InstanceDSVersion(id)
			st.DSInstanceVersions[id] = v
			s := fmt.Sprintf("[slapd]\nServerIdentifier= %s\nVersion= %s\n", id, v)
			if err := writeFile(InstanceInf(p, id), []byte(s), 0o644); err != nil {
				return err
			}
		}
	}
	if st.DA == "" {
		if err := os.Remove(NdaInf(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove nda.inf: %w", err)
		}
		return nil
	}
	s := fmt.Sprintf("[nda]\nVersion= %s\nVendor= iPlanet\n", st.DA)
	return writeFile(NdaInf(p), []byte(s), 0o644)
}

// InstanceInf is DSINST/config/instance.inf: [slapd] Version= of the
// slapd-<id> instance [i], rewritten by the setup -k that upgrades it.
func InstanceInf(p sim.Paths, id string) string {
	return filepath.Join(p.Slapd(id), "config", "instance.inf")
}
