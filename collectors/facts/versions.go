package facts

// Versions holds every product's version as read from each source.
// Sources may disagree; Agreed is false then and policies can see it.
type Versions struct {
	Messaging      ProductVersion `json:"messaging"`
	Directory      ProductVersion `json:"directory"`
	WebServer      ProductVersion `json:"webserver"`
	DelegatedAdmin ProductVersion `json:"delegated_admin"`
}

// ProductVersion is one product's version, from all of its sources.
type ProductVersion struct {
	// Installed is false when no source shows the product on this host
	// (for optional products: Web Server, Delegated Administrator).
	Installed bool `json:"installed"`
	// Version is the normalised version all readable sources agree on
	// ("5.1", "5.2", "4.13", "6.0SP2", "1.2"), or "" when unknown or when
	// the sources disagree (Agreed is false then). Foreign and Stale
	// sources do not vote.
	Version string `json:"version"`
	// Agreed is false when two sources report different versions.
	Agreed  bool            `json:"agreed"`
	Sources []VersionSource `json:"sources"`
}

// VersionSource is what one source said.
type VersionSource struct {
	// Source names where it was read: "imsimta version", "smtp greeting",
	// "imap greeting", "ns-slapd -v", "slapd.inf", "ldap cn=monitor",
	// "ldap rootDSE", "ns-httpd -v", "http Server header", "nda.inf", "*.nda files".
	Source string `json:"source"`
	// Raw is the line as read (no secrets can appear in these sources).
	Raw string `json:"raw,omitempty"`
	// Version is the normalised version parsed from Raw ("" if unparsable).
	Version string `json:"version,omitempty"`
	// Detail carries extra parse results: "hotfix" ("1.02"), "build", "vendor".
	Detail map[string]string `json:"detail,omitempty"`
	// Error says why this source could not be read (not running, no file).
	Error string `json:"error,omitempty"`
	// Foreign is true for a source that does not describe the simulated
	// product (a modern LDAP server's own vendorVersion): recorded, not voted.
	Foreign bool `json:"foreign,omitempty"`
	// Stale is true for a source that describes a removed copy of the
	// product (the "*.nda" files a Delegated Administrator uninstall
	// leaves): recorded, not voted.
	Stale bool `json:"stale,omitempty"`
}
