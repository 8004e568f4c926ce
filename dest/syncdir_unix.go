//go:build !windows

package dest

import "os"

// syncDir makes a rename in dir durable: fsync(2) on the directory.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
