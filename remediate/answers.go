package remediate

import (
	"github.com/msguard/msguard/remediate/installer"

	"regexp"
	"strconv"
	"strings"
	"time"
)

// The installers' default answers that the answer tables rely on
// (layout.md "Installer dialogues").
const (
	// DefaultAdminID is the default Configuration Directory Administrator.
	DefaultAdminID = "admin"
	// DefaultServiceAdminID is the default Service Administrator; setup -k
	// asks its password only for another id.
	DefaultServiceAdminID = "ServiceAdmin"
	// DefaultComponents is runbook §4's component choice when the
	// Directory Server was not upgraded apart in §3.
	DefaultComponents = "1, 2, 3, 4"
	// DSComponents is runbook §3's choice: the Directory Server alone.
	DSComponents = "1, 2, 3"
)

// Prompt timeouts of the runbook's installers: setup -k copies binaries
// and backs up configuration silently, the others are quick.
const (
	setupPromptTimeout   = 30 * time.Minute
	dssetupPromptTimeout = 15 * time.Minute
	webPromptTimeout     = 15 * time.Minute
)

// SetupOptions are the answers to the 5.2 media's setup -k.
type SetupOptions struct {
	// Root is the server root, the same as the installation's (runbook §4).
	Root string
	// Components: "1, 2, 3" (Directory Server only, runbook §3), "1, 3, 4"
	// (after §3) or "1, 2, 3, 4"; "" is "1, 2, 3, 4".
	Components string
	// ConfigLDAPURL is the LDAP Configuration Directory Server URL; ""
	// takes setup's default, install.inf's ConfigDirectoryLdapURL.
	ConfigLDAPURL string
	// AdminID is the Configuration Directory Administrator; "" is "admin".
	AdminID       string
	AdminPassword string
	// ServiceAdminID is the Service Administrator; "" is "ServiceAdmin",
	// for which setup asks no password.
	ServiceAdminID       string
	ServiceAdminPassword string
}

// promptLiteral matches exactly the prompt text s.
func promptLiteral(s string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$")
}

// componentListHas reports whether the component list ("1, 3, 4", "1 3 4",
// "All") holds component n.
func componentListHas(list string, n int) bool {
	if strings.EqualFold(strings.TrimSpace(list), "all") {
		return true
	}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if f == strconv.Itoa(n) {
			return true
		}
	}
	return false
}

// SetupAnswers is the dialogue of setup -k as runbook §3 and §4 answer it:
// continue, accept the license, a Typical installation into the same
// server root, the components, Upgrade (2) for the existing Messaging
// Server instance (asked only when component 4 is installed), the
// configuration directory URL and administrator, and the Service
// Administrator (its password asked only for an id other than
// ServiceAdmin).
func SetupAnswers(o SetupOptions) installer.Dialogue {
	comps := o.Components
	if strings.TrimSpace(comps) == "" {
		comps = DefaultComponents
	}
	adminID := o.AdminID
	if adminID == "" {
		adminID = DefaultAdminID
	}
	svcID := o.ServiceAdminID
	if svcID == "" {
		svcID = DefaultServiceAdminID
	}
	return installer.Dialogue{
		Program:       "setup -k",
		PromptTimeout: setupPromptTimeout,
		Answers: []installer.Answer{
			{Name: "continue", Match: promptLiteral("Would you like to continue with installation?"), Reply: "Yes"},
			{Name: "license", Match: promptLiteral("Do you agree to the license terms?"), Reply: "Yes"},
			{Name: "installation type", Match: regexp.MustCompile(`^Choose an installation type:.*\b2\. Typical\b`), Reply: "2"},
			{Name: "install location", Match: promptLiteral("Install location"), Reply: o.Root},
			{Name: "components", Match: promptLiteral("Specify the components you wish to install"), Reply: comps},
			{Name: "upgrade choice", Match: promptLiteral("Please enter your choice"), Reply: "2", Optional: !componentListHas(comps, 4)},
			{Name: "configuration directory URL", Match: promptLiteral("LDAP Configuration Directory Server URL"), Reply: o.ConfigLDAPURL},
			{Name: "configuration directory administrator", Match: promptLiteral("Configuration Directory Administrator ID"), Reply: adminID},
			{Name: "configuration directory administrator password", Match: promptLiteral("Configuration Directory Administrator password"), Reply: o.AdminPassword, Secret: true},
			{Name: "service administrator", Match: promptLiteral("Service Administrator ID"), Reply: svcID},
			{Name: "service administrator password", Match: promptLiteral("Service Administrator password"), Reply: o.ServiceAdminPassword, Secret: true, Optional: svcID == DefaultServiceAdminID},
		},
	}
}

// DSSetupOptions are the answers to the 5.2 media's ims_dssetup.pl.
type DSSetupOptions struct {
	// Root is the server root holding the slapd-* instance.
	Root string
	// InstanceIndex is the instance's 1-based number in the list
	// ims_dssetup.pl prints; 0 takes its default, 1.
	InstanceIndex int
	// DMDN is the Directory Manager DN; "" takes the default,
	// cn=Directory Manager.
	DMDN       string
	DMPassword string
	// Suffix is the Users and Groups base suffix; "" takes the default,
	// the one install.inf names.
	Suffix string
}

// DSSetupAnswers is the dialogue of ims_dssetup.pl (runbook §3 ds.dssetup,
// §5 post.dssetup): the directory server root and instance, the Directory
// Manager, the instance holds users and groups under the suffix, and yes
// to updating the schema, configuring the new indexes and continuing.
func DSSetupAnswers(o DSSetupOptions) installer.Dialogue {
	inst := ""
	if o.InstanceIndex > 0 {
		inst = strconv.Itoa(o.InstanceIndex)
	}
	return installer.Dialogue{
		Program:       "ims_dssetup.pl",
		PromptTimeout: dssetupPromptTimeout,
		Answers: []installer.Answer{
			{Name: "directory server root", Match: promptLiteral("Directory server root"), Reply: o.Root},
			{Name: "instance", Match: promptLiteral("Which instance do you want"), Reply: inst},
			{Name: "directory manager", Match: promptLiteral("Please enter the directory manager DN"), Reply: o.DMDN},
			{Name: "directory manager password", Match: promptLiteral("Password"), Reply: o.DMPassword, Secret: true},
			{Name: "users and groups", Match: promptLiteral("Will this directory server be used for users/groups"), Reply: "Yes"},
			{Name: "suffix", Match: promptLiteral("Please enter the Users and Groups base suffix"), Reply: o.Suffix},
			{Name: "update schema", Match: promptLiteral("Do you want to update the schema files"), Reply: "yes"},
			{Name: "configure indexes", Match: promptLiteral("Do you want to configure new indexes"), Reply: "yes"},
			{Name: "continue", Match: promptLiteral("Do you want to continue"), Reply: "y"},
		},
	}
}

// WebServerAnswers is the dialogue of ws60sp2/setup (runbook §5
// post.webserver): continue, the install location root (the Web Server
// root, or the server root when they are the same) and Yes to upgrading
// the existing https-<host> instance in place.
func WebServerAnswers(root string) installer.Dialogue {
	return installer.Dialogue{
		Program:       "ws60sp2/setup",
		PromptTimeout: webPromptTimeout,
		Answers: []installer.Answer{
			{Name: "continue", Match: promptLiteral("Would you like to continue with installation?"), Reply: "Yes"},
			{Name: "install location", Match: promptLiteral("Install location"), Reply: root},
			{Name: "upgrade instance", Match: regexp.MustCompile(`^Upgrade the existing Web Server instance https-\S+\?$`), Reply: "Yes"},
		},
	}
}

// DAAnswers is the dialogue of both da12/uninstall and da12/setup (runbook
// §5 post.da): the install location root, Yes to uninstalling the old
// Delegated Administrator (uninstall only) and to continuing (setup only).
func DAAnswers(root string) installer.Dialogue {
	return installer.Dialogue{
		Program:       "da12",
		PromptTimeout: webPromptTimeout,
		Answers: []installer.Answer{
			{Name: "continue", Match: promptLiteral("Would you like to continue with installation?"), Reply: "Yes", Optional: true},
			{Name: "install location", Match: promptLiteral("Install location"), Reply: root},
			{Name: "uninstall", Match: regexp.MustCompile(`^Uninstall iPlanet Delegated Administrator \S+\?$`), Reply: "Yes", Optional: true},
		},
	}
}
