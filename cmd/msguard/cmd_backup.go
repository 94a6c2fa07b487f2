package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/secret"
	"github.com/msguard/msguard/remediate/ldapexport"
	"github.com/msguard/msguard/remediate/treebackup"
)

// defaultBackupName is the name of a tree backup inside its destination
// (DEST/NAME holds the files, DEST/NAME.manifest their manifest).
const defaultBackupName = "tree"

// backupCmd is `msguard backup`: the verified copies remediate makes in
// its backup steps, on demand, one at a time (before a risky change, or to
// put a copy back by hand).
func (a *app) backupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup tree|verify|restore|ldif",
		Short: "Verified backups on demand: a tree with its SHA-256 manifest, its restore, an LDIF export",
		Long: `backup makes, checks and restores the verified copies remediate makes in its backup
steps, on demand: a directory tree copied with a SHA-256 manifest and re-read against it,
that tree put back exactly, and an LDAP export to LDIF whose entry count is checked.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitcode.Usagef("backup needs a subcommand: tree, verify, restore or ldif (see msguard backup --help)")
		},
	}
	cmd.AddCommand(a.backupTreeCmd(), a.backupVerifyCmd(), a.backupRestoreCmd(), a.backupLDIFCmd())
	return cmd
}

func (a *app) backupTreeCmd() *cobra.Command {
	var name string
	var exclude []string
	cmd := &cobra.Command{
		Use:   "tree SRC DEST [--exclude REL]... [--name NAME]",
		Short: "Copy the tree SRC into DEST with a SHA-256 manifest, then re-read every file against it",
		Long: `backup tree copies SRC into DEST/NAME (every directory 0700, every file 0600; the
original modes, owners and mtimes are in DEST/NAME.manifest with each file's SHA-256), syncs
it to disk, then re-reads every copied file against the manifest and seals it
(DEST/NAME.seal: the stat of every entry as the re-read saw it, so that remediate's
backup.copy can prove it unchanged later without reading it again). DEST may hold other
backups; DEST/NAME must not exist yet. Exit 0 only once the copy is verified.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dst := args[0], args[1]
			if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
				return exitcode.Usagef("backup tree: SRC %s is not a directory: name the tree to back up", src)
			}
			if _, err := os.Lstat(treebackup.ManifestPath(dst, name)); err == nil {
				return exitcode.Usagef("backup tree: %s already exists: choose another DEST or --name", treebackup.ManifestPath(dst, name))
			}
			if _, err := os.Lstat(treebackup.DataDir(dst, name)); err == nil {
				return exitcode.Usagef("backup tree: %s already exists: choose another DEST or --name", treebackup.DataDir(dst, name))
			}
			st, err := treebackup.Backup(cmd.Context(), src, dst, name, exclude)
			if err != nil {
				return err
			}
			if err := treebackup.VerifyAndSeal(cmd.Context(), dst, name); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "backed up %s to %s: %d files, %d directories, %d symlinks, %d bytes; verified against %s\n",
				src, treebackup.DataDir(dst, name), st.Files, st.Dirs, st.Symlinks, st.Bytes, treebackup.ManifestPath(dst, name))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultBackupName, "name of the backup inside DEST")
	cmd.Flags().StringArrayVar(&exclude, "exclude", nil, "leave out this path of SRC (relative, e.g. msg-budgie/store) and all below it; repeatable")
	return cmd
}

func (a *app) backupVerifyCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "verify DEST [--name NAME]",
		Short: "Re-read every file of a tree backup against its manifest",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := verifyBackup(cmd, args[0], name); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "backup %s verified against %s\n", treebackup.DataDir(args[0], name), treebackup.ManifestPath(args[0], name))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultBackupName, "name of the backup inside DEST (remediate's: server-root, queue)")
	return cmd
}

// verifyBackup verifies backup name in dst; a backup that is missing or
// does not verify is bad input (exit 2).
func verifyBackup(cmd *cobra.Command, dst, name string) error {
	if _, err := os.Stat(treebackup.ManifestPath(dst, name)); err != nil {
		return exitcode.Usagef("backup %s: no manifest %s: name a directory `msguard backup tree` (or remediate) wrote, and its --name", dst, treebackup.ManifestPath(dst, name))
	}
	err := treebackup.Verify(cmd.Context(), dst, name)
	var corrupt *treebackup.CorruptBackupError
	if errors.As(err, &corrupt) {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return err
}

func (a *app) backupRestoreCmd() *cobra.Command {
	var name string
	var replace bool
	var keep []string
	cmd := &cobra.Command{
		Use:   "restore DEST ROOT [--name NAME] [--replace [--keep REL]...]",
		Short: "Make ROOT exactly the tree of a backup, after verifying the whole backup",
		Long: `backup restore first re-reads the whole backup DEST/NAME against its manifest and
refuses a corrupt one (exit 2, ROOT untouched); then it makes ROOT exactly the backed-up tree:
every file with its content, mode, owner and mtime, hard links and symlinks as they were.
ROOT must be missing or empty unless --replace is given, which removes from ROOT what the
backup does not hold, except the --keep paths (relative to ROOT, e.g. the store's mount
point) and what is below them.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dst, root := args[0], args[1]
			if len(keep) > 0 && !replace {
				return exitcode.Usagef("backup restore: --keep needs --replace (it names what to leave alone in a ROOT that is not empty)")
			}
			if !replace {
				if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
					return exitcode.Usagef("backup restore: %s is not empty: restore into a new directory, or give --replace to make it exactly the backup (what the backup does not hold is removed)", root)
				} else if err != nil && !errors.Is(err, os.ErrNotExist) {
					return exitcode.Usagef("backup restore: ROOT %s: %v", root, err)
				}
			}
			if _, err := os.Stat(treebackup.ManifestPath(dst, name)); err != nil {
				return exitcode.Usagef("backup %s: no manifest %s: name a directory `msguard backup tree` (or remediate) wrote, and its --name", dst, treebackup.ManifestPath(dst, name))
			}
			err := treebackup.Restore(cmd.Context(), dst, name, root, keep)
			var corrupt *treebackup.CorruptBackupError
			if errors.As(err, &corrupt) {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(root)
			fmt.Fprintf(a.stdout, "restored %s from %s\n", abs, treebackup.DataDir(dst, name))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultBackupName, "name of the backup inside DEST (remediate's: server-root, queue)")
	cmd.Flags().BoolVar(&replace, "replace", false, "restore over a ROOT that is not empty, removing what the backup does not hold")
	cmd.Flags().StringArrayVar(&keep, "keep", nil, "with --replace: leave this path of ROOT (relative) and all below it alone; repeatable")
	return cmd
}

func (a *app) backupLDIFCmd() *cobra.Command {
	var base, filter, out string
	cmd := &cobra.Command{
		Use:   "ldif --ldap-url URL --base DN [--filter F] -o FILE [--bind-dn DN] [--bind-password-file FILE]",
		Short: "Export a directory subtree to LDIF, its entry count checked against the server",
		Long: `backup ldif exports the entries below --base that match --filter (paged, all user
attributes) to FILE as LDIF, the ldapsearch backup of the runbook; a second search run at the
same time counts the same entries, and a count that differs from what was written is an error.
FILE is created 0600 and appears only once complete and checked.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := a.common
			switch {
			case c.ldapURL == "":
				return exitcode.Usagef("backup ldif: --ldap-url is required, e.g. ldap://127.0.0.1:389")
			case base == "":
				return exitcode.Usagef("backup ldif: --base is required, e.g. o=siroe.com")
			case out == "":
				return exitcode.Usagef("backup ldif: -o FILE is required")
			}
			pw, err := secret.Source{What: "directory manager password", File: c.bindPasswordFile, FileFlag: "bind-password-file",
				Env: "MSGUARD_BIND_PASSWORD", Prompt: true}.Read()
			if err != nil && !errors.Is(err, secret.ErrNone) {
				return err
			}
			conn := ldapexport.Conn{URL: c.ldapURL, BindDN: c.bindDN, Password: pw, Timeout: c.timeout,
				CA: c.ldapCA, StartTLS: c.ldapStartTLS, InsecureSkipVerify: c.insecureSkipVerify}
			if pw == "" {
				conn.BindDN = ""
			}
			n, err := ldapexport.Export(cmd.Context(), conn, base, filter, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "exported %d entries of %s %s from %s to %s (count checked)\n", n, base, filter, c.ldapURL, out)
			return nil
		},
	}
	f, c := cmd.Flags(), &a.common
	f.StringVar(&c.ldapURL, "ldap-url", "", "directory URL, e.g. ldap://127.0.0.1:389")
	f.StringVar(&c.bindDN, "bind-dn", "cn=Directory Manager", "DN to bind to the directory as")
	f.StringVar(&c.bindPasswordFile, "bind-password-file", "", "file holding the bind password (mode 0600; else env MSGUARD_BIND_PASSWORD or a prompt; none: anonymous)")
	f.StringVar(&c.ldapCA, "ldap-ca", "", "CA certificate (PEM) that signed the directory's certificate")
	f.BoolVar(&c.ldapStartTLS, "ldap-starttls", false, "require StartTLS on ldap:// URLs (never falls back to plaintext)")
	f.BoolVar(&c.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the directory's certificate (testing only)")
	f.DurationVar(&c.timeout, "timeout", time.Minute, "time limit for each LDAP request (a page of the export)")
	cmd.Flags().StringVar(&base, "base", "", "base DN of the export, e.g. o=siroe.com")
	cmd.Flags().StringVar(&filter, "filter", "(objectclass=*)", "LDAP filter of the entries to export")
	cmd.Flags().StringVarP(&out, "output", "o", "", "LDIF file to write (created 0600)")
	return cmd
}
