"""Cluster steps through python3-winrm against one vsmigd of a cluster.

  fleet.py plan            VSMIG_DrainHost with DryRun: RESULT <name>=<dest or ->
  fleet.py hosts           the CIM_ComputerSystem hosts: RESULT host=<name> <endpoint>
  fleet.py parts JOB       the migration jobs of drain JOB (CIM_ConcreteComponent):
                           RESULT parts=<n>, RESULT percent=<PercentComplete>, RESULT state=<JobState>
"""

import sys
import uuid

from vsmigclient import Client

NS = "root/virtualization"
SVC = "VSMIG_VirtualSystemMigrationService"


def service(c):
    svc = c.enumerate_class("CIM_VirtualSystemMigrationService", ns=NS)[0][0]
    if svc["__class__"] != SVC:
        raise SystemExit("the service is a %s, not a %s" % (svc["__class__"], SVC))
    return {k: svc[k] for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")}


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def plan(c):
    out = c.invoke(SVC, "VSMIG_DrainHost", service(c), "<p:DryRun>true</p:DryRun>", ns=NS)
    if out.get("ReturnValue") != "0":
        raise SystemExit("VSMIG_DrainHost returned %s: %s" % (out.get("ReturnValue"), out.get("Error")))
    names, dests = as_list(out.get("VirtualSystemNames")), as_list(out.get("Destinations"))
    for n, d in zip(names, dests):
        print("RESULT %s=%s" % (n, d or "-"))


def hosts(c):
    for obj, _ in c.enumerate_class("CIM_ComputerSystem", ns=NS):
        try:
            uuid.UUID(obj["Name"])
            continue
        except ValueError:
            pass
        ep = as_list(obj.get("OtherIdentifyingInfo"))
        print("RESULT host=%s %s" % (obj["Name"], ep[0] if ep else ""))


def parts(c, job):
    sel = {"InstanceID": job}
    parts = c.associators("VSMIG_DrainJob", sel, ns=NS, assoc="CIM_ConcreteComponent")
    print("RESULT parts=%d" % len(parts))
    d = c.get("VSMIG_DrainJob", sel, ns=NS)
    print("RESULT percent=%s" % d.get("PercentComplete"))
    print("RESULT state=%s" % d.get("JobState"))


def main():
    c = Client()
    cmd = sys.argv[1]
    if cmd == "plan":
        plan(c)
    elif cmd == "hosts":
        hosts(c)
    elif cmd == "parts":
        parts(c, sys.argv[2])
    else:
        raise SystemExit("unknown step " + cmd)


if __name__ == "__main__":
    main()
