# A snapshot of a ready 5.1 host, and variations, for the policy tests.
package msguard.fixtures

ready_51 := {
	"schema": "msguard.snapshot/v1",
	"host": "mail.siroe.com",
	"server_root": "/usr/iplanet/server5",
	"webserver_root": "/usr/iplanet/server5",
	"instance": "budgie",
	"collectors": {},
	"install": {
		"valid": true, "problems": null, "full_machine_name": "mail.siroe.com",
		"this_host": ["mail.siroe.com", "mail"], "same_machine": true,
		"store_path": "/usr/iplanet/server5/msg-budgie/store/partition/primary", "store_exists": true,
	},
	"versions": {
		"messaging": {"installed": true, "version": "5.1", "agreed": true, "sources": [
			{"source": "imsimta version", "raw": "iPlanet Messaging Server 5.1 (built May  7 2001)", "version": "5.1"},
			{"source": "smtp greeting", "error": "not running"},
		]},
		"directory": {"installed": true, "version": "4.16", "agreed": true, "sources": [{"source": "ns-slapd -v", "version": "4.16"}]},
		"webserver": {"installed": true, "version": "6.0SP2", "agreed": true, "sources": []},
		"delegated_admin": {"installed": true, "version": "1.2", "agreed": true, "sources": []},
	},
	"processes": {"daemons": []},
	"mounts": {"store": {"mount_point": false}, "filesystems": {
		"server_root": {"path": "/usr/iplanet/server5", "free_bytes": 10000000000},
		"backup": {"path": "/var/backups/msguard", "free_bytes": 10000000000},
	}},
	"queue": {"path": "/usr/iplanet/server5/msg-budgie/imta/queue", "channels": [], "total": {"messages": 0, "held": 0, "temp": 0, "bytes": 0}},
	"store": {"mailboxes": 50, "bytes": 1000000, "files": 200, "users": ["user0001"], "users_digest": "abc"},
	"configs": {"files": []},
	"ldap": {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=Directory Manager", "reachable": true, "bound": true, "pab_exists": true, "schema_inetmailuser": true, "mail_recipients": 50, "recipients_digest": "d1"},
	"ha": {"kind": "none"},
	"maillog": {"path": "/usr/iplanet/server5/msg-budgie/log/imta/mail.log_current", "counts": {}, "records": 0, "unparsed": 0, "error_count": 0},
	"run_state": {"status": "none"},
}

params := {"phase": "preflight", "now": "2026-11-27T12:00:00Z", "media": null, "for_remediate": false, "backup_need_bytes": 0, "baseline": null}

# with_snapshot returns an input whose snapshot has patch merged into ready_51.
with_snapshot(patch) := {"snapshot": object.union(ready_51, patch), "params": params}

with_params(patch) := {"snapshot": ready_51, "params": object.union(params, patch)}
