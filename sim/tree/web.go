// Messenger Express (INST/html) and the Web Server's configuration.

package tree

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/sim"
)

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
