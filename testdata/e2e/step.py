"""One step of a scenario, through python3-winrm against one vsmigd.

The Go tests (lab_test.go, sim_test.go) orchestrate a scenario (killing daemons,
reading serial logs, asking virsh where a guest runs) and calls this script
for each WS-Man step. Results are printed as `RESULT key=value` lines.

  step.py migrate VM DEST [--bandwidth MIBS] [--to-system] [--new-memory-mib N] [--type 2|3|4]
                [--relocate [DISK=]TO]... [--storage-copy auto|never|always] [--remove-source]
  step.py check VM DEST [same options]
  step.py wait JOB [--states 7,8,9,10] [--timeout S]
  step.py cancel JOB
  step.py error JOB
  step.py vms
"""

import argparse
import json
import sys
import time
from xml.sax.saxutils import escape

import vsmigclient as vc
from vsmigclient import Client, wait_job

NS = "root/virtualization"


def service(c):
    svc = c.enumerate_class("CIM_VirtualSystemMigrationService", ns=NS)[0][0]
    return {k: svc[k] for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")}, svc["SystemName"]


def vm_uuid(c, name):
    for obj, _ in c.enumerate_class("CIM_ComputerSystem", ns=NS):
        if obj.get("ElementName") == name or obj.get("Name") == name:
            return obj["Name"]
    raise SystemExit("no VM %s on this host" % name)


def params(c, args):
    uuid = vm_uuid(c, args.vm)
    p = "<p:ComputerSystem>%s</p:ComputerSystem>" % vc.epr(
        "CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": uuid}, NS)
    if args.to_system:
        p += "<p:DestinationSystem>%s</p:DestinationSystem>" % vc.epr(
            "CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": args.dest}, NS)
    else:
        p += "<p:DestinationHost>%s</p:DestinationHost>" % escape(args.dest)
    props = ['<PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>' % args.type,
             '<PROPERTY NAME="TransportType" TYPE="uint16"><VALUE>5</VALUE></PROPERTY>']
    if getattr(args, "bandwidth", 0):
        props.append('<PROPERTY NAME="Bandwidth" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>' % args.bandwidth)
        props.append('<PROPERTY NAME="BandwidthUnit" TYPE="string"><VALUE>byte / second * 2^20</VALUE></PROPERTY>')
    cls = "CIM_VirtualSystemMigrationSettingData"
    if args.storage_copy or args.remove_source:
        # vsmig's subclass carries the storage choices (a vendor extension).
        cls = "VSMIG_VirtualSystemMigrationSettingData"
        if args.storage_copy:
            props.append('<PROPERTY NAME="StorageCopy" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>'
                         % {"auto": 0, "never": 2, "always": 3}[args.storage_copy])
        if args.remove_source:
            props.append('<PROPERTY NAME="RemoveSourceStorage" TYPE="boolean"><VALUE>true</VALUE></PROPERTY>')
    msd = '<INSTANCE CLASSNAME="%s">%s</INSTANCE>' % (cls, "".join(props))
    p += "<p:MigrationSettingData><![CDATA[%s]]></p:MigrationSettingData>" % msd
    if args.new_memory_mib:
        rasd = ('<INSTANCE CLASSNAME="CIM_ResourceAllocationSettingData">'
                '<PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>4</VALUE></PROPERTY>'
                '<PROPERTY NAME="VirtualQuantity" TYPE="uint64"><VALUE>%d</VALUE></PROPERTY>'
                '<PROPERTY NAME="AllocationUnits" TYPE="string"><VALUE>byte*2^20</VALUE></PROPERTY>'
                '</INSTANCE>') % args.new_memory_mib
        p += "<p:NewResourceSettingData><![CDATA[%s]]></p:NewResourceSettingData>" % rasd
    for r in args.relocate:
        # DSP1081's NewResourceSettingData with a storage allocation: the
        # disk by its target device (AddressOnParent), where it goes in
        # HostResource (a directory, file or storage pool).
        disk, _, to = r.rpartition("=")
        sasd = ('<INSTANCE CLASSNAME="CIM_StorageAllocationSettingData">'
                '<PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>31</VALUE></PROPERTY>'
                '%s<PROPERTY.ARRAY NAME="HostResource" TYPE="string"><VALUE.ARRAY><VALUE>%s</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>'
                '</INSTANCE>') % (
                    ('<PROPERTY NAME="AddressOnParent" TYPE="string"><VALUE>%s</VALUE></PROPERTY>' % escape(disk)) if disk else "",
                    escape(to))
        p += "<p:NewResourceSettingData><![CDATA[%s]]></p:NewResourceSettingData>" % sasd
    return p


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("migrate", "check"):
        s = sub.add_parser(name)
        s.add_argument("vm")
        s.add_argument("dest")
        s.add_argument("--bandwidth", type=int, default=0)
        s.add_argument("--to-system", action="store_true")
        s.add_argument("--new-memory-mib", type=int, default=0)
        s.add_argument("--relocate", action="append", default=[])
        s.add_argument("--storage-copy", choices=("auto", "never", "always"))
        s.add_argument("--remove-source", action="store_true")
        s.add_argument("--type", type=int, default=2, help="MigrationType: 2 Live, 3 Resume, 4 Restart")
    s = sub.add_parser("wait")
    s.add_argument("job")
    s.add_argument("--states", default="7,8,9,10")
    s.add_argument("--timeout", type=float, default=300)
    for name in ("cancel", "error"):
        sub.add_parser(name).add_argument("job")
    sub.add_parser("vms")
    args = ap.parse_args()
    c = Client()

    if args.cmd in ("migrate", "check"):
        sel, _ = service(c)
        method = {
            ("migrate", False): "MigrateVirtualSystemToHost", ("migrate", True): "MigrateVirtualSystemToSystem",
            ("check", False): "CheckVirtualSystemIsMigratableToHost", ("check", True): "CheckVirtualSystemIsMigratableToSystem",
        }[(args.cmd, args.to_system)]
        out = c.invoke("CIM_VirtualSystemMigrationService", method, sel, params(c, args), ns=NS)
        print("RESULT rc=%s" % out.get("ReturnValue"))
        if out.get("Job"):
            print("RESULT job=%s" % out["Job"]["InstanceID"])
        if "IsMigratable" in out:
            print("RESULT migratable=%s" % out["IsMigratable"])
        if out.get("StoragePlan"):
            print("RESULT storage_plan=%s" % " | ".join(vc.as_list(out["StoragePlan"])))
        if out.get("Error"):
            print("RESULT error=%s" % out["Error"].replace("\n", " "))
    elif args.cmd == "wait":
        samples = []
        start = time.time()
        job = wait_job(c, args.job, states=tuple(args.states.split(",")), timeout=args.timeout, poll=0.2, seen=samples)
        # how often did the job's progress change while it ran?
        strip = lambda d: {k: v for k, v in d.items() if k != "at"}
        changes = sum(1 for a, b in zip(samples, samples[1:]) if strip(a) != strip(b))
        # how long the job showed its disk copy (to the poll's precision)
        copying = [x["at"] for x in samples if "storage copy" in (x.get("JobStatus") or "")]
        if copying:
            print("RESULT storage_copy_s=%.2f" % (copying[-1] - copying[0]))
        print("RESULT state=%s" % job["JobState"])
        print("RESULT percent=%s" % job.get("PercentComplete"))
        print("RESULT errorcode=%s" % job.get("ErrorCode"))
        print("RESULT description=%s" % (job.get("ErrorDescription") or "").replace("\n", " "))
        print("RESULT status=%s" % (job.get("JobStatus") or "").replace("\n", " "))
        print("RESULT downtime_ms=%s" % job.get("Downtime"))
        print("RESULT iterations=%s" % job.get("Iteration"))
        print("RESULT total_time=%s" % job.get("TotalTime"))
        print("RESULT data_processed=%s" % job.get("DataProcessed"))
        print("RESULT data_total=%s" % job.get("DataTotal"))
        print("RESULT data_remaining=%s" % job.get("DataRemaining"))
        print("RESULT samples=%d changes=%d seconds=%.1f" % (len(samples), changes, time.time() - start))
        # every Get's state and figures, for the caller to check
        print("RESULT samples_json=%s" % json.dumps(samples, separators=(",", ":")))
    elif args.cmd == "cancel":
        out = c.invoke("VSMIG_MigrationJob", "RequestStateChange", {"InstanceID": args.job},
                       "<p:RequestedState>4</p:RequestedState>", ns=NS)
        print("RESULT rc=%s" % out.get("ReturnValue"))
    elif args.cmd == "error":
        out = c.invoke("VSMIG_MigrationJob", "GetError", {"InstanceID": args.job}, "", ns=NS)
        print("RESULT rc=%s" % out.get("ReturnValue"))
        print("RESULT error=%s" % (out.get("Error") or "").replace("\n", " "))
    elif args.cmd == "vms":
        for obj, _ in c.enumerate_class("CIM_ComputerSystem", ns=NS):
            print("RESULT vm=%s,%s,%s" % (obj.get("ElementName"), obj.get("Name"), obj.get("EnabledState")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
