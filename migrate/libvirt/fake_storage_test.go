package libvirt

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/beevik/etree"
	golibvirt "github.com/digitalocean/go-libvirt"
)

// fakeFS is a filesystem of fake hosts: files by path, with their sizes.
// Two hosts that mount one fakeFS over a directory share it.
type fakeFS struct {
	mu    sync.Mutex
	files map[string]uint64
}

func newFakeFS() *fakeFS { return &fakeFS{files: map[string]uint64{}} }

// fakeStorage is a fake host's storage and networks.
type fakeStorage struct {
	local    *fakeFS
	mounts   map[string]*fakeFS // directory: a filesystem other hosts may mount too
	pools    map[string]*fakePool
	networks map[string]bool // name: active
	bridges  map[string]bool
	// refuseCreate makes volume creation fail, as in a directory the
	// daemon may not write.
	refuseCreate error
	// noInterfaceDriver makes InterfaceLookupByName unsupported, as on a
	// host without netcf.
	noInterfaceDriver bool
	created, deleted  []string
}

type fakePool struct {
	dir    string
	avail  uint64
	active bool
}

func newFakeStorage() *fakeStorage {
	return &fakeStorage{local: newFakeFS(), mounts: map[string]*fakeFS{}, pools: map[string]*fakePool{},
		networks: map[string]bool{}, bridges: map[string]bool{}}
}

// fsOf is the filesystem path p lives on.
func (s *fakeStorage) fsOf(p string) *fakeFS {
	for dir, fs := range s.mounts {
		if strings.HasPrefix(p, dir+"/") {
			return fs
		}
	}
	return s.local
}

func (f *fakeHost) st() *fakeStorage {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storage == nil {
		f.storage = newFakeStorage()
	}
	return f.storage
}

// addPool defines an active pool name over dir with avail bytes free.
func (f *fakeHost) addPool(name, dir string, avail uint64) {
	f.st().pools[name] = &fakePool{dir: dir, avail: avail, active: true}
}

// addFile puts a file of size bytes at p.
func (f *fakeHost) addFile(p string, size uint64) {
	fs := f.st().fsOf(p)
	fs.mu.Lock()
	fs.files[p] = size
	fs.mu.Unlock()
}

func (f *fakeHost) hasFile(p string) bool {
	fs := f.st().fsOf(p)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	_, ok := fs.files[p]
	return ok
}

func errNo(code golibvirt.ErrorNumber, format string, args ...any) error {
	return golibvirt.Error{Code: uint32(code), Message: fmt.Sprintf(format, args...)}
}

func (f *fakeHost) poolByName(name string) (*fakePool, error) {
	p, ok := f.st().pools[name]
	if !ok {
		return nil, errNo(golibvirt.ErrNoStoragePool, "no storage pool with matching name '%s'", name)
	}
	return p, nil
}

func (f *fakeHost) StoragePoolLookupByName(name string) (golibvirt.StoragePool, error) {
	if _, err := f.poolByName(name); err != nil {
		return golibvirt.StoragePool{}, err
	}
	return golibvirt.StoragePool{Name: name}, nil
}

func (f *fakeHost) StoragePoolLookupByTargetPath(dir string) (golibvirt.StoragePool, error) {
	for name, p := range f.st().pools {
		if p.dir == path.Clean(dir) {
			return golibvirt.StoragePool{Name: name}, nil
		}
	}
	return golibvirt.StoragePool{}, errNo(golibvirt.ErrNoStoragePool, "no storage pool with matching target path '%s'", dir)
}

func (f *fakeHost) StoragePoolGetInfo(pool golibvirt.StoragePool) (uint8, uint64, uint64, uint64, error) {
	p, err := f.poolByName(pool.Name)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	state := golibvirt.StoragePoolInactive
	if p.active {
		state = golibvirt.StoragePoolRunning
	}
	return uint8(state), 1 << 40, 0, p.avail, nil
}

func (f *fakeHost) StoragePoolGetXMLDesc(pool golibvirt.StoragePool, _ golibvirt.StorageXMLFlags) (string, error) {
	p, err := f.poolByName(pool.Name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", pool.Name, p.dir), nil
}

func (f *fakeHost) StoragePoolRefresh(golibvirt.StoragePool, uint32) error { return nil }

// volume of path p, if a pool holds its directory and the file exists.
func (f *fakeHost) volume(p string) (golibvirt.StorageVol, error) {
	pool, err := f.StoragePoolLookupByTargetPath(path.Dir(p))
	if err == nil && f.hasFile(p) {
		return golibvirt.StorageVol{Pool: pool.Name, Name: path.Base(p), Key: p}, nil
	}
	return golibvirt.StorageVol{}, errNo(golibvirt.ErrNoStorageVol, "no storage vol with matching path '%s'", p)
}

func (f *fakeHost) StorageVolLookupByName(pool golibvirt.StoragePool, name string) (golibvirt.StorageVol, error) {
	p, err := f.poolByName(pool.Name)
	if err != nil {
		return golibvirt.StorageVol{}, err
	}
	return f.volume(path.Join(p.dir, name))
}

func (f *fakeHost) StorageVolLookupByPath(p string) (golibvirt.StorageVol, error) { return f.volume(p) }
func (f *fakeHost) StorageVolGetPath(v golibvirt.StorageVol) (string, error)      { return v.Key, nil }

func (f *fakeHost) StorageVolCreateXML(pool golibvirt.StoragePool, xml string, _ golibvirt.StorageVolCreateFlags) (golibvirt.StorageVol, error) {
	p, err := f.poolByName(pool.Name)
	if err != nil {
		return golibvirt.StorageVol{}, err
	}
	s := f.st()
	if s.refuseCreate != nil {
		return golibvirt.StorageVol{}, s.refuseCreate
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		return golibvirt.StorageVol{}, err
	}
	name := doc.FindElement("volume/name").Text()
	p2 := path.Join(p.dir, name)
	if f.hasFile(p2) {
		return golibvirt.StorageVol{}, errNo(golibvirt.ErrStorageVolExist, "storage volume '%s' exists already", name)
	}
	f.addFile(p2, 0)
	f.mu.Lock()
	s.created = append(s.created, p2)
	f.mu.Unlock()
	return golibvirt.StorageVol{Pool: pool.Name, Name: name, Key: p2}, nil
}

func (f *fakeHost) StorageVolDelete(v golibvirt.StorageVol, _ golibvirt.StorageVolDeleteFlags) error {
	fs := f.st().fsOf(v.Key)
	fs.mu.Lock()
	delete(fs.files, v.Key)
	fs.mu.Unlock()
	f.mu.Lock()
	f.storage.deleted = append(f.storage.deleted, v.Key)
	f.mu.Unlock()
	return nil
}

func (f *fakeHost) DomainGetBlockInfo(dom golibvirt.Domain, target string, _ uint32) (uint64, uint64, uint64, error) {
	d, err := f.dom(dom)
	if err != nil {
		return 0, 0, 0, err
	}
	root, err := domainRoot(d.xml)
	if err != nil {
		return 0, 0, 0, err
	}
	disks, _ := parseDevices(root)
	for _, disk := range disks {
		if disk.Target == target {
			fs := f.st().fsOf(disk.Source)
			fs.mu.Lock()
			size := fs.files[disk.Source]
			fs.mu.Unlock()
			return size, 64 << 20, size, nil
		}
	}
	return 0, 0, 0, errNo(golibvirt.ErrInvalidArg, "invalid argument: invalid path %s not assigned to domain", target)
}

func (f *fakeHost) NetworkLookupByName(name string) (golibvirt.Network, error) {
	if _, ok := f.st().networks[name]; !ok {
		return golibvirt.Network{}, errNo(golibvirt.ErrNoNetwork, "Network not found: no network with matching name '%s'", name)
	}
	return golibvirt.Network{Name: name}, nil
}

func (f *fakeHost) NetworkIsActive(n golibvirt.Network) (int32, error) {
	if f.st().networks[n.Name] {
		return 1, nil
	}
	return 0, nil
}

func (f *fakeHost) InterfaceLookupByName(name string) (golibvirt.Interface, error) {
	s := f.st()
	if s.noInterfaceDriver {
		return golibvirt.Interface{}, errNo(golibvirt.ErrNoSupport, "this function is not supported by the connection driver: virInterfaceLookupByName")
	}
	if !s.bridges[name] {
		return golibvirt.Interface{}, errNo(golibvirt.ErrNoInterface, "Interface not found: couldn't find interface named '%s'", name)
	}
	return golibvirt.Interface{Name: name}, nil
}
