// INST/imta/config and the site customisations planted in the 5.1 tree.

package tree

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/sim"
)

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
