package vsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// Class names the profile serves.
const (
	ClassComputerSystem = "CIM_ComputerSystem"
	ClassService        = "CIM_VirtualSystemMigrationService"
	ClassCapabilities   = "CIM_VirtualSystemMigrationCapabilities"
	ClassSettingData    = "CIM_VirtualSystemMigrationSettingData"
	ClassJob            = "VSMIG_MigrationJob"
	ClassError          = "CIM_Error"
	ClassProfile        = "CIM_RegisteredProfile"

	ClassHostedService         = "CIM_HostedService"
	ClassServiceAffectsElement = "CIM_ServiceAffectsElement"
	ClassElementCapabilities   = "CIM_ElementCapabilities"
	ClassSettingsDefineCaps    = "CIM_SettingsDefineCapabilities"
	ClassAffectedJobElement    = "CIM_AffectedJobElement"
	ClassOwningJobElement      = "CIM_OwningJobElement"
	ClassConformsToProfile     = "CIM_ElementConformsToProfile"

	// Classes of the embedded instances the methods take.
	ClassSystemSettingData   = "CIM_VirtualSystemSettingData"
	ClassResourceSettingData = "CIM_ResourceAllocationSettingData"
	// ClassStorageSettingData relocates a disk in NewResourceSettingData;
	// ClassVsmigSettingData is vsmig's MigrationSettingData with the
	// storage choices (StorageCopy, RemoveSourceStorage).
	ClassStorageSettingData = "CIM_StorageAllocationSettingData"
	ClassVsmigSettingData   = "VSMIG_VirtualSystemMigrationSettingData"

	// ServiceName is the Name key of the migration service.
	ServiceName = "MigrationService"
)

// requiredClasses must all be in the Registry.
var requiredClasses = []string{
	ClassComputerSystem, ClassService, ClassCapabilities, ClassSettingData, ClassJob, ClassError,
	ClassProfile, ClassHostedService, ClassServiceAffectsElement, ClassElementCapabilities,
	ClassSettingsDefineCaps, ClassAffectedJobElement, ClassOwningJobElement, ClassConformsToProfile,
	ClassSystemSettingData, ClassResourceSettingData,
}

// Profile is the DSP1081 implementation: it serves the profile's instances
// and methods over the engine, which runs the migrations and keeps their
// jobs.
type Profile struct {
	cfg    Config
	reg    cim.Registry
	engine *migrate.Engine
	log    *slog.Logger
	now    func() time.Time
	host   string

	mu sync.Mutex
	// lastCheck is the CIM_Error of the last failed Check of each VM.
	lastCheck map[string]*cim.Instance

	warned  sync.Map // "Class.Property" -> struct{}: schema gaps logged once
	rate    *rateLog // per-request outcomes, summarised
	sweeper *Sweeper
	ind     *indications // nil without Config.Indications

	// scoping says whether the scoping profiles are served (profiles.go);
	// systemType is the virtual systems' VirtualSystemType.
	scoping    bool
	systemType string
}

// New builds a Profile. It fails if a required class is missing from the
// Registry or the host name cannot be found.
func New(cfg Config) (*Profile, error) {
	if cfg.Registry == nil || cfg.Engine == nil {
		return nil, errors.New("vsm: Config needs a Registry and an Engine")
	}
	cfg.fill()
	var missing []string
	for _, c := range requiredClasses {
		if _, ok := cfg.Registry.Class(c); !ok {
			missing = append(missing, c)
		}
	}
	if cfg.Fleet != nil {
		for _, c := range fleetClasses {
			if _, ok := cfg.Registry.Class(c); !ok {
				missing = append(missing, c)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("vsm: classes missing from the registry: %s", strings.Join(missing, ", "))
	}
	p := &Profile{
		cfg:       cfg,
		reg:       cfg.Registry,
		engine:    cfg.Engine,
		log:       cfg.Logger,
		now:       func() time.Time { return cfg.Clock().UTC() },
		host:      cfg.HostName,
		lastCheck: make(map[string]*cim.Instance),
	}
	p.rate = newRateLog(p.log, p.now)
	hctx, hcancel := context.WithTimeout(context.Background(), defaultCallTimeout)
	defer hcancel()
	h, err := cfg.Engine.Host(hctx)
	if err != nil && p.host == "" {
		return nil, fmt.Errorf("vsm: host name: %w", err)
	}
	if p.host == "" {
		p.host = h.Name
	}
	// DSP1057's VirtualSystemType names the hypervisor: KVM for libvirt's
	// QEMU (TCG guests included: the lab's), vsmig's own for the
	// simulator.
	p.systemType = "DMTF:kvm"
	if h.Simulated {
		p.systemType = p.cfg.OrgID + ":simulated"
	}
	p.scoping = p.hasScoping()
	if !p.scoping {
		p.log.Warn("the schema lacks the scoping profiles' classes; serving DSP1081 alone", "classes", strings.Join(scopingClasses, ", "))
	}
	if cfg.Indications != nil {
		ctx, cancel := context.WithTimeout(context.Background(), defaultCallTimeout)
		defer cancel()
		p.startIndications(ctx)
	}
	if cfg.SweepInterval >= 0 {
		p.sweeper = NewSweeper(p.engine, SweeperConfig{
			Interval: cfg.SweepInterval,
			Now:      p.now,
			Logger:   p.log,
		})
	}
	return p, nil
}

// Close stops the expiry sweeper and the indications. It closes neither
// the Engine nor its store, which the caller owns.
func (p *Profile) Close() error {
	p.stopIndications()
	if p.sweeper != nil {
		return p.sweeper.Close()
	}
	return nil
}

// HostName is the Name of the host CIM_ComputerSystem.
func (p *Profile) HostName() string { return p.host }

// Providers returns the instance providers to register with the Broker.
func (p *Profile) Providers() []cim.InstanceProvider {
	provs := []cim.InstanceProvider{
		&systemProvider{p},
		&serviceProvider{p},
		&capsProvider{p},
		&jobProvider{p},
		&assocProvider{p},
		&interopProvider{p},
	}
	if p.scoping {
		provs = append(provs, &virtualSystemProvider{p}, &referencedProfileProvider{p})
	}
	if p.cfg.Fleet != nil {
		provs = append(provs, &drainProvider{p}, &componentProvider{p})
	}
	return provs
}

// LastCheck returns the CIM_Error of the last failed Check method call for
// the virtual system with the given UUID, or nil.
func (p *Profile) LastCheck(vmUUID string) *cim.Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastCheck[strings.ToLower(vmUUID)].Clone()
}

// newInstance returns an empty instance of class in ns; New checked that
// every class the profile uses exists.
func (p *Profile) newInstance(class, ns string) *cim.Instance {
	c, ok := p.reg.Class(class)
	if !ok {
		panic("vsm: class " + class + " vanished from the registry")
	}
	return cim.NewInstance(c, ns)
}

// set assigns a property, converting v to the property's CIM type:
// time.Time becomes a timestamp; time.Duration an interval, or whole
// milliseconds for an integer property. A property the loaded schema does
// not define is skipped (logged once): the profile's optional properties
// must not make a trimmed schema unusable.
func (p *Profile) set(inst *cim.Instance, name string, v any) {
	prop := inst.Class.Property(name)
	if prop == nil {
		p.warnOnce(inst.Class.Name+"."+name, "schema lacks property; left out")
		return
	}
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			v = nil
		} else {
			v = cim.Timestamp(x)
		}
	case time.Duration:
		if prop.Type != cim.DatetimeType {
			v = uint64(x.Milliseconds())
		} else {
			v = cim.IntervalOf(x)
		}
	}
	cv, err := cim.ConvertValue(prop.Type, prop.Array, v)
	if err == nil {
		err = inst.Set(prop.Name, cv)
	}
	if err != nil {
		p.warnOnce(inst.Class.Name+"."+name, "cannot set property: "+err.Error())
	}
}

// setNamed sets an integer property to the ValueMap entry whose Values
// text is name (case-insensitive) in the loaded schema, or to fallback
// when the schema does not name it, so that the schema stays the single
// source of the numbers.
func (p *Profile) setNamed(inst *cim.Instance, prop, name string, fallback uint64) {
	v := fallback
	if pr := inst.Class.Property(prop); pr != nil {
		for i, text := range pr.Values {
			if i < len(pr.ValueMap) && strings.EqualFold(text, name) {
				if n, err := strconv.ParseUint(pr.ValueMap[i], 10, 64); err == nil {
					v = n
				}
				break
			}
		}
	}
	p.set(inst, prop, v)
}

func (p *Profile) warnOnce(key, msg string) {
	if _, dup := p.warned.LoadOrStore(key, struct{}{}); !dup {
		p.log.Warn(msg, "property", key)
	}
}

// Paths of the profile's instances.

func (p *Profile) hostPath() cim.ObjectPath {
	return cim.ObjectPath{Namespace: p.cfg.Namespace, ClassName: ClassComputerSystem, Keys: []cim.KeyBinding{
		{Name: "CreationClassName", Value: ClassComputerSystem},
		{Name: "Name", Value: p.host},
	}}
}

func (p *Profile) vmPath(uuid string) cim.ObjectPath {
	return cim.ObjectPath{Namespace: p.cfg.Namespace, ClassName: ClassComputerSystem, Keys: []cim.KeyBinding{
		{Name: "CreationClassName", Value: ClassComputerSystem},
		{Name: "Name", Value: uuid},
	}}
}

func (p *Profile) servicePath() cim.ObjectPath {
	return cim.ObjectPath{Namespace: p.cfg.Namespace, ClassName: p.serviceClass(), Keys: []cim.KeyBinding{
		{Name: "SystemCreationClassName", Value: ClassComputerSystem},
		{Name: "SystemName", Value: p.host},
		{Name: "CreationClassName", Value: p.serviceClass()},
		{Name: "Name", Value: ServiceName},
	}}
}

func (p *Profile) instanceIDPath(ns, class, id string) cim.ObjectPath {
	return cim.ObjectPath{Namespace: ns, ClassName: class, Keys: []cim.KeyBinding{{Name: "InstanceID", Value: id}}}
}

func (p *Profile) capsID() string { return p.cfg.OrgID + ":MigrationCapabilities" }
func (p *Profile) jobPath(id string) cim.ObjectPath {
	return p.instanceIDPath(p.cfg.Namespace, ClassJob, id)
}

// keyString returns the string value of key name in path, "" if absent or
// not a string.
func keyString(path cim.ObjectPath, name string) string {
	v, _ := path.Key(name)
	s, _ := v.(string)
	return s
}

// notFound is the error for a path that names no instance.
func notFound(path cim.ObjectPath) error {
	return cim.Errorf(cim.StatusNotFound, "no instance %s", path.String())
}

// findByPath returns the instance in insts whose path equals path.
func findByPath(insts []*cim.Instance, path cim.ObjectPath) (*cim.Instance, error) {
	for _, inst := range insts {
		if inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, notFound(path)
}

// engineTypeName names a migration type for InstanceIDs and job names.
func engineTypeName(t migrate.Type) string {
	switch t {
	case migrate.Live:
		return "Live"
	case migrate.Resume:
		return "Resume"
	case migrate.Restart:
		return "Restart"
	}
	return fmt.Sprintf("Type%d", int(t))
}
