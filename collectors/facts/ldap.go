package facts

// LDAP describes the directory as seen over the network.
type LDAP struct {
	URL       string `json:"url"`
	BindDN    string `json:"bind_dn"`
	Reachable bool   `json:"reachable"`
	Bound     bool   `json:"bound"`
	TLS       string `json:"tls"` // "none", "ldaps", "starttls"
	// Error explains why Reachable or Bound is false.
	Error string `json:"error,omitempty"`

	NamingContexts []string `json:"naming_contexts,omitempty"`
	VendorName     string   `json:"vendor_name,omitempty"`
	VendorVersion  string   `json:"vendor_version,omitempty"`
	MonitorVersion string   `json:"monitor_version,omitempty"`

	PABExists bool `json:"pab_exists"`
	// SchemaInetMailUser is true when the schema holds inetMailUser (ims_dssetup ran).
	SchemaInetMailUser bool `json:"schema_inetmailuser"`
	// MailRecipients counts (objectclass=inetLocalMailRecipient) under the user/group suffix.
	MailRecipients int64 `json:"mail_recipients"`
	// RecipientsDigest is SHA-256 over the sorted lower-case DNs, one per
	// line; empty above 10⁶ recipients (the collector does not sort more).
	RecipientsDigest string `json:"recipients_digest"`
	PABEntries       int64  `json:"pab_entries"`
	UserSuffix       string `json:"user_suffix"`
}
