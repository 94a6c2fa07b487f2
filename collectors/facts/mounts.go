package facts

// Mounts describes the store partition's mount and free space.
type Mounts struct {
	Store StoreMount `json:"store"`
	// Filesystems holds free space for the paths that matter: "server_root",
	// "store", "backup" (the backup destination, when one was given).
	Filesystems map[string]DiskSpace `json:"filesystems"`
}

// StoreMount says whether INST/store/partition/primary is a mount point.
type StoreMount struct {
	Path       string `json:"path"`
	MountPoint bool   `json:"mount_point"`
	Device     string `json:"device,omitempty"`
	FSType     string `json:"fstype,omitempty"`
	Options    string `json:"options,omitempty"`
}

// DiskSpace is the statfs view of the filesystem holding Path.
type DiskSpace struct {
	Path       string `json:"path"`
	MountPoint string `json:"mount_point"`
	TotalBytes uint64 `json:"total_bytes"`
	FreeBytes  uint64 `json:"free_bytes"` // available to unprivileged users
	UsedBytes  uint64 `json:"used_bytes"` // bytes used below Path (server_root, store), 0 if not measured
}
