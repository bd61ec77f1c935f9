"""Cluster steps through python3-winrm against one vsmigd of a cluster.

  fleet.py plan            VSMIG_DrainHost with DryRun: RESULT <name>=<dest or ->
  fleet.py hosts           the CIM_ComputerSystem hosts: RESULT host=<name> <endpoint>
  fleet.py parts JOB       the migration jobs of drain JOB (CIM_ConcreteComponent):
                           RESULT parts=<n>, RESULT percent=<PercentComplete>, RESULT state=<JobState>
  fleet.py drain-events    subscribes (Pull) to the drain jobs' indications, drains this
                           host, pulls until the drain's end: RESULT job=<id>,
                           RESULT indications=<class>:<JobState>:<PercentComplete>,... in order,
                           RESULT previous=ok when each PreviousInstance is the instance the
                           indication before it showed
"""

import sys
import time
import uuid
from xml.sax.saxutils import escape

import vsmigclient as vc
from vsmigclient import Client, Fault

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


E = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
ALL = "http://schemas.dmtf.org/wbem/wscim/1/*"
PULL_MODE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
ENS = dict(vc.NS, e=E)


def drain_events(c):
    query = "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA VSMIG_DrainJob"
    body = ('<e:Subscribe xmlns:e="%s"><e:Delivery Mode="%s"/><e:Expires>PT10M</e:Expires>'
            '<w:Filter Dialect="%s">%s</w:Filter></e:Subscribe>' % (E, PULL_MODE, vc.WQL, escape(query)))
    resp = c.send(c.envelope(E + "/Subscribe", ALL, body=body)).find("s:Body/e:SubscribeResponse", ENS)
    context = resp.findtext("n:EnumerationContext", namespaces=ENS)
    out = c.invoke(SVC, "VSMIG_DrainHost", service(c), "<p:DryRun>false</p:DryRun>", ns=NS)
    if out.get("ReturnValue") != "4096":
        raise SystemExit("VSMIG_DrainHost returned %s: %s" % (out.get("ReturnValue"), out.get("Error")))
    job = out["Job"]["InstanceID"]
    print("RESULT job=%s" % job)
    seen, previous_ok = [], True
    deadline = time.time() + 120
    while not seen or seen[-1][1].get("JobState") not in ("7", "8", "9", "10"):
        if time.time() > deadline:
            raise SystemExit("the drain's end was not indicated: %s" % seen)
        pull = ("<n:Pull><n:EnumerationContext>%s</n:EnumerationContext><n:MaxTime>PT5S</n:MaxTime>"
                "<n:MaxElements>20</n:MaxElements></n:Pull>" % context)
        try:
            root = c.send(c.envelope(vc.ENUM + "/Pull", ALL, body=pull))
        except Fault as f:
            if f.subcode and f.subcode.endswith("TimedOut"):
                continue
            raise
        items = root.find("s:Body/n:PullResponse/n:Items", ENS)
        for item in (items if items is not None else []):
            src = prev = None
            for child in item:
                if vc.local(child.tag) == "SourceInstance" and len(child):
                    src = vc.instance(child[0])
                elif vc.local(child.tag) == "PreviousInstance" and len(child):
                    prev = vc.instance(child[0])
            if src is None or src.get("InstanceID") != job:
                continue
            if seen and vc.local(item.tag) == "CIM_InstModification":
                last = seen[-1][1]
                if prev is None or prev.get("JobStatus") != last.get("JobStatus"):
                    previous_ok = False
            seen.append((vc.local(item.tag), src))
    c.send(c.envelope(E + "/Unsubscribe", ALL, body='<e:Unsubscribe xmlns:e="%s"/>' % E,
                      extra_headers='<e:Identifier xmlns:e="%s">%s</e:Identifier>' % (
                          E, escape(resp.findtext("e:SubscriptionManager/a:ReferenceParameters/e:Identifier",
                                                  namespaces=ENS)))))
    print("RESULT indications=%s" % ",".join("%s:%s:%s" % (cls, src.get("JobState"), src.get("PercentComplete"))
                                             for cls, src in seen))
    print("RESULT previous=%s" % ("ok" if previous_ok else "wrong"))


def main():
    c = Client()
    cmd = sys.argv[1]
    if cmd == "plan":
        plan(c)
    elif cmd == "hosts":
        hosts(c)
    elif cmd == "parts":
        parts(c, sys.argv[2])
    elif cmd == "drain-events":
        drain_events(c)
    else:
        raise SystemExit("unknown step " + cmd)


if __name__ == "__main__":
    main()
