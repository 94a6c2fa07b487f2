// Package sim is msguard-sim: a simulated iPlanet Messaging Server 5.x
// installation that behaves like the real one (layout.md). Its scripts start
// real processes under the server root, its daemons answer on real ports,
// its directory is a real LDAP server, and its installers ask the real
// questions. Every msguard test and the demo run against it.
package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is what a simulated host looks like when created. Zero values
// take the defaults of Defaults(); a YAML scenario file has the same fields.
type Scenario struct {
	Root          string `yaml:"root"`
	WebServerRoot string `yaml:"webserver_root"` // "" = Root
	// Host is install.inf FullMachineName; default: this host's name.
	Host     string `yaml:"host"`
	Instance string `yaml:"instance"` // msg-<Instance>; default "budgie"
	User     string `yaml:"user"`     // SuiteSpotUserID; default "mailsrv"
	Group    string `yaml:"group"`    // default "mail"

	// MsgVersion: "5.0", "5.1", "5.2", or with a hotfix "5.2 HotFix 1.02".
	MsgVersion string `yaml:"msg_version"`
	// DSVersion: "4.13" or "4.16".
	DSVersion string `yaml:"ds_version"`
	// DSInstances: slapd-<id> ids. One id serves every suffix; with two, the
	// first holds o=siroe.com and o=pab, the second o=NetscapeRoot.
	DSInstances []string `yaml:"ds_instances"`
	// DSBackend: "openldap" (default) or "389".
	DSBackend string `yaml:"ds_backend"`
	// DSExternal: the directory is on another server root / host; this root
	// has no slapd-* and install.inf points at DSExternalURL.
	DSExternal    bool   `yaml:"ds_external"`
	DSExternalURL string `yaml:"ds_external_url"`

	// WebServer: "" (none), "4.1", "6.0SP1", "6.0SP2".
	WebServer string `yaml:"webserver"`
	// DA (Delegated Administrator): "" (none), "1.1", "1.2".
	DA string `yaml:"da"`
	// HA: "none", "sc22", "vcs", "sc3".
	HA string `yaml:"ha"`
	// HAMaster is the physical host that masters the Sun Cluster 2.2
	// logical host ims-lh; "" = this host (the short form of Host). On
	// another master, hareg -n/-y/-u/-r refuse to run here.
	HAMaster string `yaml:"ha_master"`
	// HANodes are the Sun Cluster 3.x nodes, this host first; default
	// [short host, short host + "-2"].
	HANodes []string `yaml:"ha_nodes"`
	// HAUnreachable are the HANodes that are down: Offline in scstat -n,
	// and ssh to them times out.
	HAUnreachable []string `yaml:"ha_unreachable"`

	Queue   QueueSpec   `yaml:"queue"`
	Store   StoreSpec   `yaml:"store"`
	MailLog MailLogSpec `yaml:"maillog"`
	Users   int         `yaml:"users"`       // inetLocalMailRecipient entries; default 50
	PAB     int         `yaml:"pab_entries"` // entries under o=pab; default 10
	// PABMissing: o=pab does not exist yet (ims_dssetup creates it).
	PABMissing bool `yaml:"pab_missing"`

	Ports   Ports   `yaml:"ports"`
	Secrets Secrets `yaml:"secrets"`
	// Customizations are msg.conf keys an administrator changed; a 5.2
	// setup does not carry them over (postflight.config.customizations).
	Customizations map[string]string `yaml:"customizations"`
	// IMTACustomizations plants site lines that a 5.2 setup -k drops: an
	// ORIG_SEND_ACCESS entry in imta/config/mappings, an alias in
	// imta/config/aliases, a rewrite rule in imta/config/imta.cnf and a
	// site banner line in html/login.html (tree.CustomizedFiles lists them).
	IMTACustomizations bool `yaml:"imta_customizations"`

	Fail FailSpec `yaml:"fail"`
}

// QueueSpec shapes INST/imta/queue.
type QueueSpec struct {
	Messages int      `yaml:"messages"` // message files, held included
	Held     int      `yaml:"held"`     // of which .HELD
	Temp     int      `yaml:"temp"`     // extra $-temp files
	Channels []string `yaml:"channels"` // default tcp_local tcp_intranet ims-ms l hold reprocess
	// Subdirs: numbered subdirectories 000..NNN per channel (0: files directly in the channel).
	Subdirs int `yaml:"subdirs"`
	// OldestAge: the oldest message's age; mtimes spread between now and it.
	OldestAge time.Duration `yaml:"oldest_age"`
	// Size is the body size of a message file in bytes (default 2048).
	Size int `yaml:"size"`
}

// StoreSpec shapes INST/store/partition/primary.
type StoreSpec struct {
	Mailboxes      int `yaml:"mailboxes"`        // default: Users
	MessagesPerBox int `yaml:"messages_per_box"` // default 3
	// Mount: the partition is an ext4 image on a loop device (root only).
	Mount bool `yaml:"mount"`
	// ImageMB is the image size when Mount (default 64).
	ImageMB int `yaml:"image_mb"`
}

// MailLogSpec is the record mix of mail.log_current.
type MailLogSpec struct {
	E, D, Q, R, J, B int
	// Garbage lines that do not parse.
	Garbage int `yaml:"garbage"`
}

// Ports are loopback ports; 0 picks a free one at create time.
type Ports struct {
	LDAP       int `yaml:"ldap"`        // first slapd instance
	LDAPConfig int `yaml:"ldap_config"` // second slapd instance, if any
	SMTP       int `yaml:"smtp"`
	IMAP       int `yaml:"imap"`
	POP        int `yaml:"pop"`
	HTTP       int `yaml:"http"` // mshttpd (Messenger Express)
	Admin      int `yaml:"admin"`
	WebServer  int `yaml:"webserver"`
	WebAdmin   int `yaml:"webserver_admin"`
}

// Secrets planted in the host. Tests grep every msguard output for them.
type Secrets struct {
	DirectoryManager string `yaml:"directory_manager"` // cn=Directory Manager password
	ConfigAdmin      string `yaml:"config_admin"`      // ConfigDirectoryAdminID ("admin") password
	ServiceAdminID   string `yaml:"service_admin_id"`  // default "ServiceAdmin"
	ServiceAdmin     string `yaml:"service_admin"`     // its password
	UGBindCred       string `yaml:"ug_bind_cred"`      // local.ugldapbindcred
	PABPassword      string `yaml:"pab_password"`      // local.service.pab.ldappasswd
	// ProbeUID is the mail-flow probe's account: one of the scenario's
	// users (default the last one, UserUID(Users)), whose directory
	// password is ProbePassword instead of the "pw-<uid>" of the others.
	// Its address is <ProbeUID>@siroe.com and its INBOX is in the store.
	ProbeUID      string `yaml:"probe_uid"`
	ProbePassword string `yaml:"probe_password"`
}

// FailSpec injects failures for backout tests.
type FailSpec struct {
	// SetupAfter makes the media's setup -k exit non-zero after the named
	// stage: "backup" (config moved), "binaries" (binaries replaced).
	SetupAfter string `yaml:"setup_after"`
	// DSSetup makes ims_dssetup.pl fail.
	DSSetup bool `yaml:"ds_setup"`
	// HARefuseOffline makes the cluster refuse to take the Messaging
	// service offline, silently: hareg -n, hagrp -offline and scswitch -n
	// exit 0 and change nothing.
	HARefuseOffline bool `yaml:"ha_refuse_offline"`
	// Silent names tools that exit 0 having done nothing while printing
	// their normal success lines: "setup" (msg52/setup -k: whole dialogue,
	// nothing moved, no version changed), "ims_dssetup" (no schema, no
	// o=pab), "ws_setup" (Web Server stays as it was), "da_setup" (no DA
	// installed), "db2ldif" (prints the output path, writes no file).
	Silent []string `yaml:"silent"`
	// EmptyLDIF makes db2ldif write an LDIF file holding only its
	// "version: 1" line, no entries, and exit 0.
	EmptyLDIF bool `yaml:"empty_ldif"`
	// DiesAfterStart names a messaging daemon (e.g. "imapd") that, once the
	// installed version is 5.2, starts and answers on its port (so start-msg
	// reports it started) and exits about one second later. The 5.1 host
	// starts cleanly.
	DiesAfterStart string `yaml:"dies_after_start"`

	// Mail-flow faults (sim/procs/doc.go). They hold for every version and
	// take effect at once on a running host: the daemons read them from
	// the state file per connection and per delivery pass, so `msguard-sim
	// fault` plants or clears them without a restart.

	// DeliveryStops: the job controller runs (start-msg reports it, its
	// process is there) but delivers nothing, neither the backlog nor
	// what SMTP accepts: submitted messages stay in the queue.
	DeliveryStops bool `yaml:"delivery_stops"`
	// IMAPRefusesLogins: imapd greets and answers CAPABILITY, but every
	// LOGIN is refused with "NO [UNAVAILABLE] ... schema ...", as when the
	// directory lacks the 5.2 schema (inetMailUser).
	IMAPRefusesLogins bool `yaml:"imap_refuses_logins"`
	// SMTPRelayDenied lists domains the SMTP server refuses recipients in
	// with "550 5.7.1 Relaying not allowed: <addr>", local ones included
	// (e.g. [siroe.com], the probe's domain).
	SMTPRelayDenied []string `yaml:"smtp_relay_denied"`
}

// Defaults fills every zero field of s.
func (s *Scenario) Defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if s.Host == "" {
		h, _ := os.Hostname()
		s.Host = h
	}
	def(&s.Instance, "budgie")
	def(&s.User, "mailsrv")
	def(&s.Group, "mail")
	def(&s.MsgVersion, "5.1")
	def(&s.DSVersion, "4.13")
	def(&s.DSBackend, "openldap")
	def(&s.HA, "none")
	if len(s.DSInstances) == 0 && !s.DSExternal {
		s.DSInstances = []string{s.Instance}
	}
	if s.WebServerRoot == "" {
		s.WebServerRoot = s.Root
	}
	if len(s.Queue.Channels) == 0 {
		s.Queue.Channels = []string{"tcp_local", "tcp_intranet", "ims-ms", "l", "hold", "reprocess"}
	}
	if s.Queue.OldestAge == 0 {
		s.Queue.OldestAge = 2 * time.Hour
	}
	if s.Queue.Size == 0 {
		s.Queue.Size = 2048
	}
	if s.Users == 0 {
		s.Users = 50
	}
	if s.PAB == 0 {
		s.PAB = 10
	}
	if s.Store.Mailboxes == 0 {
		s.Store.Mailboxes = s.Users
	}
	if s.Store.MessagesPerBox == 0 {
		s.Store.MessagesPerBox = 3
	}
	if s.Store.ImageMB == 0 {
		s.Store.ImageMB = 64
	}
	def(&s.Secrets.DirectoryManager, "dm-Secret-7731")
	def(&s.Secrets.ConfigAdmin, "admin-Secret-4412")
	def(&s.Secrets.ServiceAdminID, "ServiceAdmin")
	def(&s.Secrets.ServiceAdmin, "svc-Secret-9920")
	def(&s.Secrets.UGBindCred, "ugcred-Secret-1187")
	def(&s.Secrets.PABPassword, "pab-Secret-5503")
	def(&s.Secrets.ProbeUID, fmt.Sprintf("user%04d", s.Users))
	def(&s.Secrets.ProbePassword, "probe-Secret-6604")
}

// Validate rejects scenarios the simulator cannot build.
func (s *Scenario) Validate() error {
	if s.Root == "" || !filepath.IsAbs(s.Root) {
		return fmt.Errorf("scenario root %q must be an absolute path", s.Root)
	}
	if _, ok := MsgBanners[MsgBaseVersion(s.MsgVersion)]; !ok {
		return fmt.Errorf("messaging version %q: want 5.0, 5.1 or 5.2 (optionally with \" HotFix N.NN\")", s.MsgVersion)
	}
	if _, ok := DSVendorLines[s.DSVersion]; !ok {
		return fmt.Errorf("directory version %q: want 4.13 or 4.16", s.DSVersion)
	}
	if s.WebServer != "" {
		if _, ok := WebServerBanners[s.WebServer]; !ok {
			return fmt.Errorf("web server version %q: want 4.1, 6.0SP1 or 6.0SP2", s.WebServer)
		}
	}
	switch s.DA {
	case "", "1.1", "1.2":
	default:
		return fmt.Errorf("delegated administrator version %q: want 1.1 or 1.2", s.DA)
	}
	switch s.HA {
	case "none", "sc22", "vcs", "sc3":
	default:
		return fmt.Errorf("ha %q: want none, sc22, vcs or sc3", s.HA)
	}
	switch s.DSBackend {
	case "openldap", "389":
	default:
		return fmt.Errorf("ds backend %q: want openldap or 389", s.DSBackend)
	}
	if len(s.DSInstances) > 2 {
		return fmt.Errorf("at most two slapd instances, got %d", len(s.DSInstances))
	}
	if s.DSExternal && s.DSExternalURL == "" {
		return fmt.Errorf("ds_external needs ds_external_url")
	}
	// user%04d: four digits at least, more from user10000 on.
	probeN, err := strconv.Atoi(strings.TrimPrefix(s.Secrets.ProbeUID, "user"))
	if err != nil || fmt.Sprintf("user%04d", probeN) != s.Secrets.ProbeUID || probeN < 1 || probeN > s.Users {
		return fmt.Errorf("secrets.probe_uid %q: want one of the scenario's users, user0001 to user%04d", s.Secrets.ProbeUID, s.Users)
	}
	if s.Queue.Held > s.Queue.Messages {
		return fmt.Errorf("queue: %d held > %d messages", s.Queue.Held, s.Queue.Messages)
	}
	return nil
}

// LoadScenario reads a YAML scenario file.
func LoadScenario(path string) (Scenario, error) {
	var s Scenario
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read scenario: %w", err)
	}
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("parse scenario %s: %w", path, err)
	}
	return s, nil
}
