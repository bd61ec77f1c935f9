package libvirt

import (
	"context"
	"fmt"
	"path"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// dirProbe is what a marker file told about a directory of the
// destination: whether it can be written, and whether the source sees the
// same directory (shared storage).
type dirProbe struct {
	shared     bool
	unwritable error
	at         time.Time
}

// probeDir writes a marker file into the destination's pool of dir, looks
// for it in the source's pool of the same directory, and removes it. A
// result younger than sharedTTL is reused: sharedness and permissions do
// not change from one check to the next.
func (d *Driver) probeDir(ctx context.Context, dc *conn, destURI string, destPool golibvirt.StoragePool, dir string) (dirProbe, error) {
	key := destURI + "|" + dir
	d.mu.Lock()
	p, ok := d.probes[key]
	d.mu.Unlock()
	if ok && time.Since(p.at) < sharedTTL {
		return p, nil
	}
	p = dirProbe{at: time.Now()}
	name := markerName()
	marker, err := call(ctx, dc, "probe destination storage", func(h hypervisor) (string, error) {
		vol, err := h.StorageVolCreateXML(destPool, markerXML(name), 0)
		if err != nil {
			return "", err
		}
		return h.StorageVolGetPath(vol)
	})
	if err != nil {
		if isRefused(err) {
			// The pool exists and answers; it is the file it refuses.
			p.unwritable = err
			return d.remember(key, p), nil
		}
		return p, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := d.removeVolume(cctx, dc, marker); err != nil {
			d.log.Warn("cannot remove a storage probe's marker on the destination", "path", marker, "err", err)
		}
	}()
	p.shared, err = call(ctx, d.main, "probe source storage", func(h hypervisor) (bool, error) {
		pool, err := h.StoragePoolLookupByTargetPath(path.Dir(marker))
		if notFound(err) {
			return false, nil // no pool here: nothing this host can see as shared
		}
		if err != nil {
			return false, err
		}
		if err := h.StoragePoolRefresh(pool, 0); err != nil {
			return false, err
		}
		_, err = h.StorageVolLookupByPath(marker)
		if err == nil {
			// Seen: forget it again once the destination has removed it.
			defer func() { _ = h.StoragePoolRefresh(pool, 0) }()
		}
		return err == nil, nil
	})
	if err != nil {
		return dirProbe{}, err
	}
	return d.remember(key, p), nil
}

func (d *Driver) remember(key string, p dirProbe) dirProbe {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.probes == nil {
		d.probes = map[string]dirProbe{}
	}
	d.probes[key] = p
	return p
}

// markerXML is a probe marker: an empty raw file.
func markerXML(name string) string {
	return fmt.Sprintf("<volume><name>%s</name><capacity unit='bytes'>0</capacity><target><format type='raw'/></target></volume>", name)
}

// removeVolume deletes the file at p through the storage pool that holds
// it, on the libvirtd of c.
func (d *Driver) removeVolume(ctx context.Context, c *conn, p string) error {
	return call0(ctx, c, "remove "+p, func(h hypervisor) error {
		vol, err := h.StorageVolLookupByPath(p)
		if notFound(err) {
			if pool, perr := h.StoragePoolLookupByTargetPath(path.Dir(p)); perr == nil {
				// A file the pool has not listed yet.
				_ = h.StoragePoolRefresh(pool, 0)
				vol, err = h.StorageVolLookupByPath(p)
			}
		}
		if notFound(err) {
			return nil // gone already
		}
		if err != nil {
			return err
		}
		return h.StorageVolDelete(vol, golibvirt.StorageVolDeleteNormal)
	})
}
