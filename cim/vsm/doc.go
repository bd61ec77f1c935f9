// Package vsm holds the providers of the DMTF Virtual System Migration
// Profile (DSP1081) for vsmig: the host and virtual-system
// CIM_ComputerSystem instances, CIM_VirtualSystemMigrationService with its
// four extrinsic methods, its capabilities and setting data, the
// migration jobs (VSMIG_MigrationJob, a CIM_ConcreteJob), the associations
// between them, and the profile registration in root/interop, with the
// scoping profiles DSP1042 and DSP1057 at their minimum (profiles.go). It
// reports every change of its jobs and virtual systems as lifecycle
// indications (indications.go): the jobs' from the engine's job store,
// wrapped by ObservedStore, the virtual systems' from the engine's
// inventory watch.
//
// The migration engine (migrate.Engine) owns every migration: its rules,
// its durable job, the host's inventory. The profile is its CIM face, and
// does three things only: it reads the methods' CIM arguments into an
// engine request (checking their CIM form: references, embedded instances
// of the right classes, value maps, units); it maps the engine's answers
// to the profile's return codes (codes.go, one table); and it builds CIM
// instances from the engine's jobs and VMs when they are read. It also
// applies the CIM job's removal settings (expire.go), which the engine
// stores with each job without reading them. It never sees the driver.
//
// New builds a Profile from a Config, Providers returns what to register
// with the Broker, and Close stops the expiry sweeper and the indications.
//
// Return codes. Everything that can be checked is checked before a job
// exists, and refused with the profile's codes: 1 Not Supported, 4 Invalid
// Parameter, 5 Invalid State, 6 Incompatible Parameters (see codes.go for
// the mapping of the engine's kinds of refusal). An accepted migration
// answers 4096 with a Job reference once the engine has stored the job.
//
// The Check methods answer the question "would a migration be accepted
// now?". They return 0 and IsMigratable true or false whenever the
// question could be asked, also when the answer is no because of the
// virtual system's state, the destination, or settings the destination
// cannot honour (what Migrate would refuse with 1, 5 or 6). The reason of
// a false is logged (level INFO, "migration check failed", at most once a
// minute per method and code: see rateLog) and, when the
// method declares an OUT parameter named Error (a vendor subclass may add
// one, EmbeddedInstance("CIM_Error")), returned in it; the last failed
// check of each virtual system can also be read with Profile.LastCheck.
// Formally invalid input (a reference to nothing, a malformed
// DestinationHost, an embedded instance of the wrong class) is still
// answered with 4 and no IsMigratable, as DSP1081 says.
//
// A refused Migrate (any return code but 4096, arguments the Broker
// refuses included: see serviceProvider.RefuseArgs) says why the same
// way, in its OUT parameter Error when the schema declares it (vsmig's
// does: an extension of the DMTF schema).
//
// MigrateVirtualSystemToSystem takes the destination host from the Name
// key of DestinationSystem (a host CIM_ComputerSystem EPR, as the
// destination's vsmigd serves it) and returns NewComputerSystem: the path
// of the virtual system's CIM_ComputerSystem, which keeps its UUID as Name
// and exists on the destination's vsmigd once the job has completed.
//
// Jobs: JobState follows the engine's job (2 New while queued, 3 Starting,
// 4 Running, 6 Shutting Down after an accepted Terminate or Kill, then
// 7 Completed, 8 Terminated, 9 Killed or 10 Exception); OperationalStatus
// is derived from it (see operationalStatus). A failed job's ErrorCode is
// the DSP1081 return code of the kind of its error and GetError returns
// it as a CIM_Error. While a job of a virtual system is unfinished, the
// system's OperatingStatus is 10 Emigrating and a second migration of it
// is refused with 5.
//
// Imports: the standard library, github.com/google/uuid, cim and migrate.
// Never wsman, never a migrate driver or store.
package vsm
