package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
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

// IMTAConfigDir is INST/imta/config.
func IMTAConfigDir(p sim.Paths) string { return filepath.Join(p.Inst(), "imta", "config") }

// channelDefs are imta.cnf channel keywords and official host names of the
// channels the simulator knows; other queue channels get a generic line.
var channelDefs = map[string][2]string{
	"l":            {"subdirs 20 viaaliasrequired maxjobs 7 pool LOCAL_POOL", "%HOST%"},
	"ims-ms":       {"defragment notices 1 7 14 21 28 backoff \"pt5m\" \"pt10m\" \"pt30m\" \"pt1h\" \"pt2h\" \"pt4h\" maxjobs 2 pool IMS_POOL fileinto $u+$S@$d", "ims-ms-daemon"},
	"tcp_local":    {"smtp mx single_sys remotehost inner switchchannel identnonenumeric subdirs 20 maxjobs 7 pool SMTP_POOL maytlsserver allowswitchchannel saslswitchchannel tcp_auth", "tcp-daemon"},
	"tcp_intranet": {"smtp mx single_sys subdirs 20 dequeue_removeroute maxjobs 7 pool SMTP_POOL allowswitchchannel saslswitchchannel tcp_auth", "tcp_intranet-daemon"},
	"tcp_auth":     {"smtp mx single_sys mustsaslserver maytlsserver", "tcp_auth-daemon"},
	"hold":         {"hold", "hold-daemon"},
	"reprocess":    {"", "reprocess-daemon"},
	"process":      {"", "process-daemon"},
	"conversion":   {"", "conversion-daemon"},
	"bitbucket":    {"", "bitbucket-daemon"},
}

// Site customisations that Scenario.IMTACustomizations plants in the 5.1
// tree and a 5.2 setup -k does not carry over: one line in each file,
// named relative to INST.
const (
	// SiteMapping is an ORIG_SEND_ACCESS entry of imta/config/mappings that
	// lets a partner relay through tcp_local.
	SiteMapping = "  tcp_local|*@partner.siroe.net|tcp_local|*  $Y"
	// SiteAlias is an alias of imta/config/aliases.
	SiteAlias = "helpdesk: user0001@" + DefDomain
	// SiteRewrite is a rewrite rule of imta/config/imta.cnf.
	SiteRewrite = "partner.siroe.net\t$U%partner.siroe.net@tcp_intranet-daemon"
	// SiteLogin is a site banner line of html/login.html.
	SiteLogin = `<p class="site"><img src="siroe-logo.gif" alt="Siroe"> Siroe staff webmail: authorised users only</p>`
)

// SiteLines maps each file that Scenario.IMTACustomizations customises
// (slash-separated, relative to INST) to the line it plants there.
func SiteLines() map[string]string {
	return map[string]string{
		"imta/config/mappings": SiteMapping,
		"imta/config/aliases":  SiteAlias,
		"imta/config/imta.cnf": SiteRewrite,
		"html/login.html":      SiteLogin,
	}
}

// CustomizedFiles lists, sorted and relative to INST, the files that
// Scenario.IMTACustomizations customises; none when it is off.
func CustomizedFiles(sc *sim.Scenario) []string {
	if !sc.IMTACustomizations {
		return nil
	}
	out := make([]string, 0, 4)
	for k := range SiteLines() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteIMTAConfig writes INST/imta/config (imta.cnf, dispatcher.cnf,
// job_controller.cnf, option.dat, mappings, aliases, imta_tailor) for
// st.Scenario. With withCustomizations and Scenario.IMTACustomizations the
// site lines SiteMapping, SiteAlias and SiteRewrite are planted; the 5.2
// setup writes the files without them.
func WriteIMTAConfig(st *sim.State, withCustomizations bool) error {
	sc := &st.Scenario
	site := withCustomizations && sc.IMTACustomizations
	p := st.Paths()
	dir := IMTAConfigDir(p)
	_, user, err := directoryHostPorts(sc)
	if err != nil {
		return err
	}

	var cnf strings.Builder
	cnf.WriteString("! imta.cnf - iPlanet Messaging Server MTA configuration\n!\n")
	cnf.WriteString("! Rewrite rules\n")
	fmt.Fprintf(&cnf, "%s\t$U%%%s@ims-ms-daemon\n", DefDomain, DefDomain)
	fmt.Fprintf(&cnf, "%s\t$U%%$D@%s\n", sc.Host, sc.Host)
	cnf.WriteString("127.0.0.1\t$U%[$L]@tcp_intranet-daemon\n")
	if site {
		cnf.WriteString(SiteRewrite + "\n")
	}
	cnf.WriteString(".\t$U%$H$D@tcp-daemon\n")
	cnf.WriteString("\n! Channel definitions\n")
	seen := map[string]bool{}
	channels := append([]string{"l"}, sc.Queue.Channels...)
	channels = append(channels, "tcp_auth", "process", "conversion", "bitbucket")
	for _, ch := range channels {
		if seen[ch] {
			continue
		}
		seen[ch] = true
		def, ok := channelDefs[ch]
		if !ok {
			def = [2]string{"maxjobs 2", ch + "-daemon"}
		}
		kw := def[0]
		if sc.Queue.Subdirs > 0 && !strings.Contains(kw, "subdirs") {
			kw = strings.TrimSpace(fmt.Sprintf("subdirs %d %s", sc.Queue.Subdirs, kw))
		}
		host := strings.ReplaceAll(def[1], "%HOST%", sc.Host)
		fmt.Fprintf(&cnf, "\n%s %s\n%s\n", ch, kw, host)
	}

	dispatcher := fmt.Sprintf(`! dispatcher.cnf - Dispatcher configuration
!
MIN_PROCS=0
MAX_PROCS=5
MIN_CONNS=5
MAX_CONNS=20
MAX_SHUTDOWN=2
MAX_LIFE_TIME=86400
MAX_LIFE_CONNS=100
MAX_IDLE_TIME=600
!
[SERVICE=SMTP]
PORT=%d
INTERFACE_ADDRESS=127.0.0.1
IMAGE=IMTA_BIN:tcp_smtp_server
LOGFILE=IMTA_LOG:tcp_smtp_server.log
STACKSIZE=2048000
`, sc.Ports.SMTP)

	jobController := `! job_controller.cnf - Job Controller configuration
!
INTERFACE_ADDRESS=127.0.0.1
MAX_MESSAGES=100000
SYNCH_TIME=30m
[POOL=DEFAULT]
JOB_LIMIT=10
[POOL=LOCAL_POOL]
JOB_LIMIT=10
[POOL=IMS_POOL]
JOB_LIMIT=1
[POOL=SMTP_POOL]
JOB_LIMIT=10
!
[CHANNEL=l]
MASTER_COMMAND=IMTA_BIN:l_master
[CHANNEL=ims-ms]
MASTER_COMMAND=IMTA_BIN:ims_master
[CHANNEL=tcp_*]
MASTER_COMMAND=IMTA_BIN:tcp_smtp_client
SLAVE_COMMAND=NULL
`
	ughost, ugport, _ := net.SplitHostPort(user)
	option := fmt.Sprintf(`! option.dat - MTA options
!
LDAP_HOST=%s
LDAP_PORT=%s
LDAP_USER_ROOT=%s
LDAP_DOMAIN_ROOT=%s
ALIAS_MAGIC=10
ACCESS_ORCPT=1
IMAGE_FILE=IMTA_DATA:config_data
DEQUEUE_DEBUG=0
`, ughost, ugport, Suffix, Suffix)

	mappings := `! mappings - MTA mapping tables
!
PORT_ACCESS

  *|*|*|*|*  $C$|INTERNAL_IP;$3|$Y$E
  *  $NEXTERNAL

INTERNAL_IP

  $(127.0.0.0/8)  $Y
  *  $N

ORIG_SEND_ACCESS

`
	if site {
		mappings += SiteMapping + "\n"
	}
	mappings += "  tcp_local|*|tcp_local|*  $NRelaying$ not$ allowed\n"
	aliases := fmt.Sprintf(`! aliases - MTA aliases
!
postmaster: root@%s
abuse: postmaster
root: %s@%s
`, sc.Host, sc.Secrets.ServiceAdminID, DefDomain)
	if site {
		aliases += SiteAlias + "\n"
	}

	inst := p.Inst()
	tailor := fmt.Sprintf(`IMTA_ROOT=%s/
IMTA_TABLE=%s/imta/config/
IMTA_QUEUE=%s/
IMTA_LOG=%s/log/imta/
IMTA_BIN=%s/
IMTA_LIB=%s/
IMTA_USER=%s
IMTA_WORLD_GROUP=%s
IMTA_DATA=%s/imta/data/
`, sc.Root, inst, p.Queue(), inst, p.MsgLib(), p.MsgLib(), sc.User, sc.Group, inst)

	files := []struct {
		name, data string
	}{
		{"imta.cnf", cnf.String()},
		{"dispatcher.cnf", dispatcher},
		{"job_controller.cnf", jobController},
		{"option.dat", option},
		{"mappings", mappings},
		{"aliases", aliases},
		{"imta_tailor", tailor},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), []byte(f.data), 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(inst, "log", "imta"), 0o755)
}

// htmlFiles are the Messenger Express files of INST/html.
var htmlFiles = map[string]string{
	"index.html": `<html><head><title>iPlanet Messenger Express</title>
<script language="JavaScript" src="util.js"></script></head>
<frameset rows="*,0" border=0><frame name="main" src="login.html"></frameset></html>
`,
	"login.html": `<html><head><title>iPlanet Messenger Express: Login</title></head>
<body><form method="post" action="login.msc">
User: <input name="user"> Password: <input type="password" name="password">
<input type="submit" value="Login"></form></body></html>
`,
	"util.js": `// Messenger Express utilities
function el(id) { return document.getElementById(id) }
function esc(s) { return escape(s).replace(/\+/g, "%2B") }
`,
	"en/main.html": `<html><head><title>Messenger Express</title></head>
<body><h1>Inbox</h1></body></html>
`,
	"en/util.js": `var lang = "en"
`,
}

// HTMLFiles lists the Messenger Express files written under INST/html,
// relative to it, sorted.
func HTMLFiles() []string {
	out := make([]string, 0, len(htmlFiles))
	for k := range htmlFiles {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteHTML writes the Messenger Express files of INST/html. With
// withCustomizations and Scenario.IMTACustomizations, login.html carries
// the site line SiteLogin; the 5.2 setup writes it without.
func WriteHTML(st *sim.State, withCustomizations bool) error {
	dir := filepath.Join(st.Paths().Inst(), "html")
	for _, name := range HTMLFiles() {
		data := htmlFiles[name]
		if name == "login.html" && withCustomizations && st.Scenario.IMTACustomizations {
			data = strings.Replace(data, "\nUser: ", "\n"+SiteLogin+"\nUser: ", 1)
		}
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WebServerInstance is the Web Server machine instance directory
// WSROOT/https-<Host>.
func WebServerInstance(sc *sim.Scenario) string {
	return filepath.Join(sc.WebServerRoot, "https-"+sc.Host)
}

// WebServerAdmin is WSROOT/https-admserv.
func WebServerAdmin(sc *sim.Scenario) string {
	return filepath.Join(sc.WebServerRoot, "https-admserv")
}

func magnusConf(sc *sim.Scenario, name string, port int) string {
	return fmt.Sprintf(`# magnus.conf - %s
ServerName %s
ServerID https-%s
Port %d
Address 127.0.0.1
User %s
MinThreads 16
MaxThreads 128
ErrorLog %s/logs/errors
PidLog %s/logs/pid
LoadObjects obj.conf
`, sc.WebServer, sc.Host, name, port, sc.User,
		filepath.Join(sc.WebServerRoot, "https-"+name), filepath.Join(sc.WebServerRoot, "https-"+name))
}

// writeWebServer writes the Web Server's admin and machine instance
// configurations when the scenario has a Web Server.
func writeWebServer(st *sim.State) error {
	sc := &st.Scenario
	if sc.WebServer == "" {
		return nil
	}
	admin := filepath.Join(WebServerAdmin(sc), "config")
	if err := writeFile(filepath.Join(admin, "magnus.conf"), []byte(magnusConf(sc, "admserv", sc.Ports.WebAdmin)), 0o644); err != nil {
		return err
	}
	inst := filepath.Join(WebServerInstance(sc), "config")
	if err := writeFile(filepath.Join(inst, "magnus.conf"), []byte(magnusConf(sc, sc.Host, sc.Ports.WebServer)), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(inst, "obj.conf"), []byte("<Object name=\"default\">\nNameTrans fn=\"pfx2dir\" from=\"/mc-icons\" dir=\"ns-icons\"\n</Object>\n"), 0o644); err != nil {
		return err
	}
	return writeFile(filepath.Join(inst, "servlets.properties"), []byte(servletsProperties(st)), 0o644)
}

func servletsProperties(st *sim.State) string {
	sc := &st.Scenario
	var b strings.Builder
	b.WriteString("# servlets.properties\n# Servlets Properties\n\n")
	b.WriteString("servlet.snoop.code=SnoopServlet\n")
	b.WriteString("servlet.snoop.context=default\n")
	if st.DA == "" {
		return b.String()
	}
	_, user, _ := directoryHostPorts(sc)
	b.WriteString("\n# iPlanet Delegated Administrator " + st.DA + "\n")
	b.WriteString("servlet.nda.code=com.iplanet.ums.nda.NDAServlet\n")
	b.WriteString("servlet.nda.context=nda\n")
	fmt.Fprintf(&b, "servlet.nda.initArgs=ldapurl=ldap://%s/%s,version=%s,serverroot=%s\n", user, Suffix, st.DA, sc.Root)
	return b.String()
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
