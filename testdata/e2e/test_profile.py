"""DSP1081 over WS-Man against a running vsmigd (issue #3's end-to-end proof).

Run by harness_test.go with VSMIG_ENDPOINT/VSMIG_USER/VSMIG_PASSWORD set; the
daemon runs the simulated demo cluster (local host "host-a", destination
"host-b"). Every request goes through python3-winrm's Protocol.send_message.
"""

import os
import sys
import time
import unittest
from xml.sax.saxutils import escape

import vsmigclient as vc
from vsmigclient import Client, Fault, as_list, wait_job

NS = "root/virtualization"
INTEROP = "root/interop"
DEST = "host-b"


def msd_cimxml(mtype=2, transport=None, bandwidth=None, unit=None, priority=None, cls="CIM_VirtualSystemMigrationSettingData"):
    props = ['<PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>' % mtype]
    if transport is not None:
        props.append('<PROPERTY NAME="TransportType" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>' % transport)
    if bandwidth is not None:
        props.append('<PROPERTY NAME="Bandwidth" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>' % bandwidth)
    if unit is not None:
        props.append('<PROPERTY NAME="BandwidthUnit" TYPE="string"><VALUE>%s</VALUE></PROPERTY>' % unit)
    if priority is not None:
        props.append('<PROPERTY NAME="Priority" TYPE="uint16"><VALUE>%d</VALUE></PROPERTY>' % priority)
    return '<INSTANCE CLASSNAME="%s">%s</INSTANCE>' % (cls, "".join(props))


def cdata(text):
    return "<![CDATA[%s]]>" % text


def migrate_params(vm_uuid, dest=DEST, msd=None, msd_raw=None, extra=""):
    p = "<p:ComputerSystem>%s</p:ComputerSystem>" % vc.epr(
        "CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": vm_uuid}, NS)
    p += "<p:DestinationHost>%s</p:DestinationHost>" % escape(dest)
    if msd_raw is not None:
        p += "<p:MigrationSettingData>%s</p:MigrationSettingData>" % msd_raw
    elif msd is not None:
        p += "<p:MigrationSettingData>%s</p:MigrationSettingData>" % cdata(msd)
    return p + extra


class Profile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Client()
        services = cls.c.enumerate_class("CIM_VirtualSystemMigrationService", ns=NS)
        assert len(services) == 1, services
        svc = services[0][0]
        cls.svc_sel = {k: svc[k] for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")}
        cls.host = svc["SystemName"]

    # -- helpers ----------------------------------------------------------------
    def vms(self):
        out = []
        for obj, _ in self.c.enumerate_class("CIM_ComputerSystem", ns=NS):
            if obj["Name"] != self.host:
                out.append(obj)
        return out

    def running_vm(self, exclude=()):
        vms = [v for v in self.vms() if v.get("EnabledState") == "2" and v["Name"] not in exclude
               and v.get("OperatingStatus") not in ("9", "10", "11")]
        self.assertTrue(vms, "no idle running VM left on the source")
        # The demo's small, calm VMs first: they converge within the short
        # policy timeouts the harness sets.
        order = {"dns-01": 0, "web-01": 1, "db-01": 2}
        vms.sort(key=lambda v: order.get(v.get("ElementName"), 9))
        return vms[0]

    def invoke(self, method, params):
        return self.c.invoke("CIM_VirtualSystemMigrationService", method, self.svc_sel, params, ns=NS)

    def job_id(self, out):
        self.assertEqual(out.get("ReturnValue"), "4096", out)
        job = out["Job"]
        self.assertTrue(job["ResourceURI"].endswith("MigrationJob") or job["ResourceURI"].endswith("CIM_ConcreteJob"), job)
        return job["InstanceID"]

    # -- discovery ------------------------------------------------------------
    def test_identify(self):
        r = self.c.identify()
        self.assertEqual(r.findtext("wsmid:ProtocolVersion", namespaces=vc.NS),
                         "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd")
        self.assertIn("vsmig", r.findtext("wsmid:ProductVendor", namespaces=vc.NS).lower())

    def test_discovery_from_interop(self):
        profiles = [o for o, _ in self.c.enumerate_class("CIM_RegisteredProfile", ns=INTEROP)]
        dsp1081 = [p for p in profiles if p.get("RegisteredName") == "Virtual System Migration"]
        self.assertEqual(len(dsp1081), 1, profiles)
        prof = dsp1081[0]
        # profile -> service (CIM_ElementConformsToProfile, across namespaces)
        assoc = self.c.associators("CIM_RegisteredProfile", {"InstanceID": prof["InstanceID"]}, ns=INTEROP,
                                   assoc="CIM_ElementConformsToProfile")
        svcs = [o for o, _ in assoc if o["__class__"] == "CIM_VirtualSystemMigrationService"]
        self.assertEqual(len(svcs), 1, assoc)
        # service -> capabilities
        caps = self.c.associators("CIM_VirtualSystemMigrationService", self.svc_sel, ns=NS,
                                  assoc="CIM_ElementCapabilities")
        caps = [o for o, _ in caps if o["__class__"] == "CIM_VirtualSystemMigrationCapabilities"]
        self.assertEqual(len(caps), 1)
        cap = caps[0]
        self.assertEqual(sorted(as_list(cap["DestinationHostFormatsSupported"])), ["2", "3", "4"])
        self.assertEqual(sorted(as_list(cap["AsynchronousMethodsSupported"])), ["2", "3"])
        self.assertEqual(sorted(as_list(cap["SynchronousMethodsSupported"])), ["4", "5"])
        # capabilities -> one setting data per migration type
        sds = self.c.associators("CIM_VirtualSystemMigrationCapabilities", {"InstanceID": cap["InstanceID"]}, ns=NS,
                                 assoc="CIM_SettingsDefineCapabilities")
        types = sorted(o["MigrationType"] for o, _ in sds)
        self.assertEqual(types, ["2", "3", "4"])
        # service is hosted by the host system
        hosts = self.c.associators("CIM_VirtualSystemMigrationService", self.svc_sel, ns=NS,
                                   assoc="CIM_HostedService")
        self.assertEqual([o["Name"] for o, _ in hosts], [self.host])

    def test_polymorphic_enumeration_and_wql(self):
        names = [o["Name"] for o, _ in self.c.enumerate_class("CIM_ComputerSystem", ns=NS)]
        self.assertIn(self.host, names)
        self.assertGreaterEqual(len(names), 3)
        running = self.c.wql("SELECT Name, ElementName FROM CIM_ComputerSystem WHERE EnabledState = 2", ns=NS)
        self.assertTrue(running)
        for obj, _ in running:
            self.assertNotIn("Dedicated", obj)  # projected away

    def test_service_affects_vms(self):
        affected = self.c.associators("CIM_VirtualSystemMigrationService", self.svc_sel, ns=NS,
                                      assoc="CIM_ServiceAffectsElement")
        self.assertEqual(sorted(o["Name"] for o, _ in affected), sorted(v["Name"] for v in self.vms()))

    # -- return codes before a job exists ------------------------------------
    def test_invalid_parameter(self):
        vm = self.running_vm()
        cases = {
            "bad host": migrate_params(vm["Name"], dest="not a host name!", msd=msd_cimxml()),
            "ref to nothing": migrate_params("00000000-0000-0000-0000-000000000000", msd=msd_cimxml()),
            "unparseable msd": migrate_params(vm["Name"], msd_raw=escape("<INSTANCE CLASSNAME=")),
            "wrong class": migrate_params(vm["Name"], msd='<INSTANCE CLASSNAME="CIM_ResourceAllocationSettingData">'
                                                          '<PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>4</VALUE></PROPERTY></INSTANCE>'),
        }
        why = {"bad host": "not a valid DNS name", "ref to nothing": "no virtual machine",
               "unparseable msd": "MigrationSettingData", "wrong class": "CIM_VirtualSystemMigrationSettingData"}
        for name, params in cases.items():
            with self.subTest(name):
                out = self.invoke("MigrateVirtualSystemToHost", params)
                self.assertEqual(out["ReturnValue"], "4", out)
                self.assert_refusal_says(out, why[name])

    def assert_refusal_says(self, out, reason):
        """A refused Migrate says why in its OUT Error (vsmig's extension)."""
        self.assertNotIn("Job", out)
        self.assertIn("CIM_Error", out.get("Error") or "", out)
        self.assertIn(reason, out["Error"], out)

    def test_invalid_state_vm_not_running(self):
        off = [v for v in self.vms() if v.get("EnabledState") == "3"]
        if not off:
            self.skipTest("demo has no shut-off VM")
        out = self.invoke("MigrateVirtualSystemToHost", migrate_params(off[0]["Name"], msd=msd_cimxml(2)))
        self.assertEqual(out["ReturnValue"], "5", out)
        self.assert_refusal_says(out, "only a restart migration moves a shut-off virtual machine")

    def test_incompatible_transport_and_not_supported_type(self):
        vm = self.running_vm()
        out = self.invoke("MigrateVirtualSystemToHost", migrate_params(vm["Name"], msd=msd_cimxml(2, transport=6)))
        self.assertEqual(out["ReturnValue"], "6", out)
        self.assert_refusal_says(out, "TransportType 6 is not supported")
        out = self.invoke("MigrateVirtualSystemToHost", migrate_params(vm["Name"], msd=msd_cimxml(1)))
        self.assertEqual(out["ReturnValue"], "1", out)
        self.assert_refusal_says(out, "MigrationType 1 is not supported")

    def test_check_methods(self):
        vm = self.running_vm()
        out = self.invoke("CheckVirtualSystemIsMigratableToHost", migrate_params(vm["Name"], msd=msd_cimxml()))
        self.assertEqual(out["ReturnValue"], "0", out)
        self.assertEqual(out["IsMigratable"], "true", out)
        out = self.invoke("CheckVirtualSystemIsMigratableToHost", migrate_params(vm["Name"], dest="unknown-host.invalid"))
        self.assertEqual(out["ReturnValue"], "0", out)
        self.assertEqual(out["IsMigratable"], "false", out)
        # why, as a CIM_Error the client can read (vsmig's extra OUT parameter)
        self.assertIn("CIM_Error", out.get("Error") or "", out)
        self.assertIn("unreachable", out["Error"], out)
        dest = vc.epr("CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": DEST}, NS)
        params = "<p:ComputerSystem>%s</p:ComputerSystem><p:DestinationSystem>%s</p:DestinationSystem>" % (
            vc.epr("CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": vm["Name"]}, NS), dest)
        out = self.invoke("CheckVirtualSystemIsMigratableToSystem", params)
        self.assertEqual((out["ReturnValue"], out["IsMigratable"]), ("0", "true"), out)

    # -- jobs -----------------------------------------------------------------
    def test_migrate_to_host_completes(self):
        vm = self.running_vm()
        out = self.invoke("MigrateVirtualSystemToHost", migrate_params(vm["Name"], msd=msd_cimxml(2, transport=5)))
        jid = self.job_id(out)
        seen = []
        job = wait_job(self.c, jid, seen=seen)
        self.assertEqual(job["JobState"], "7", job)
        self.assertEqual(job["PercentComplete"], "100", job)
        self.assertEqual(sorted(as_list(job["OperationalStatus"])), ["17", "2"], job)
        self.assertEqual(job.get("ErrorCode"), "0", job)
        self.assertEqual(job.get("Owner"), os.environ.get("VSMIG_USER", "admin"), job)
        # the VM has left this host
        self.assertNotIn(vm["Name"], [v["Name"] for v in self.vms()])
        # the job is associated with the VM and owned by the service
        refs = self.c.references("VSMIG_MigrationJob", {"InstanceID": jid}, ns=NS)
        classes = sorted(o["__class__"] for o, _ in refs)
        self.assertIn("CIM_AffectedJobElement", classes)
        self.assertIn("CIM_OwningJobElement", classes)
        # a finished job can be deleted, and is gone afterwards
        self.c.delete("VSMIG_MigrationJob", {"InstanceID": jid}, ns=NS)
        with self.assertRaises(Fault):
            self.c.get("CIM_ConcreteJob", {"InstanceID": jid}, ns=NS)

    def test_embedded_encodings(self):
        """The three encodings of MigrationSettingData real clients send."""
        escaped = escape(msd_cimxml(2, transport=5))
        element = ('<q:CIM_VirtualSystemMigrationSettingData xmlns:q="%s" xsi:type="q:CIM_VirtualSystemMigrationSettingData_Type">'
                   '<q:MigrationType>2</q:MigrationType><q:TransportType>5</q:TransportType>'
                   '</q:CIM_VirtualSystemMigrationSettingData>') % vc.uri("CIM_VirtualSystemMigrationSettingData")
        mof = escape("instance of CIM_VirtualSystemMigrationSettingData { MigrationType = 2; TransportType = 5; };")
        wmi = cdata(msd_cimxml(2, transport=5, cls="Msvm_VirtualSystemMigrationSettingData"))
        for name, raw in (("cimxml-escaped", escaped), ("wscim-element", element), ("mof", mof), ("wmi-subclass", wmi)):
            with self.subTest(name):
                vm = self.running_vm()
                out = self.invoke("CheckVirtualSystemIsMigratableToHost", migrate_params(vm["Name"], msd_raw=raw))
                self.assertEqual((out["ReturnValue"], out.get("IsMigratable")), ("0", "true"), out)

    def test_cancel_running_job(self):
        vm = self.running_vm()
        # 1 MiB/s makes even the smallest demo VM take long enough to cancel.
        msd = msd_cimxml(2, transport=5, bandwidth=1, unit="byte / second * 2^20")
        jid = self.job_id(self.invoke("MigrateVirtualSystemToHost", migrate_params(vm["Name"], msd=msd)))
        wait_job(self.c, jid, states=("4",), timeout=30)
        # a second migration of the same VM is refused while the first runs
        again = self.invoke("MigrateVirtualSystemToHost", migrate_params(vm["Name"], msd=msd_cimxml()))
        self.assertEqual(again["ReturnValue"], "5", again)
        # a running job cannot be deleted
        with self.assertRaises(Fault):
            self.c.delete("VSMIG_MigrationJob", {"InstanceID": jid}, ns=NS)
        out = self.c.invoke("VSMIG_MigrationJob", "RequestStateChange", {"InstanceID": jid},
                            "<p:RequestedState>4</p:RequestedState>", ns=NS)
        self.assertIn(out["ReturnValue"], ("0", "4096"), out)
        job = wait_job(self.c, jid, timeout=30)
        self.assertEqual(job["JobState"], "8", job)
        self.assertIn(vm["Name"], [v["Name"] for v in self.vms()])  # still on the source
        # cancelling a finished job: 4097
        out = self.c.invoke("VSMIG_MigrationJob", "RequestStateChange", {"InstanceID": jid},
                            "<p:RequestedState>4</p:RequestedState>", ns=NS)
        self.assertEqual(out["ReturnValue"], "4097", out)
        out = self.c.invoke("VSMIG_MigrationJob", "RequestStateChange", {"InstanceID": jid},
                            "<p:RequestedState>4</p:RequestedState><p:TimeoutPeriod><cim:Interval xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\">PT5S</cim:Interval></p:TimeoutPeriod>", ns=NS)
        self.assertIn(out["ReturnValue"], ("4097", "4098"), out)

    def test_failed_job_get_error(self):
        vm = self.running_vm()
        # 1 MiB/s cannot keep up with the demo VMs' dirty rate: the policy's
        # completion/progress timeout (set short by the harness) aborts it.
        msd = msd_cimxml(2, transport=5, bandwidth=1, unit="byte / second * 2^20")
        jid = self.job_id(self.invoke("MigrateVirtualSystemToHost", migrate_params(vm["Name"], msd=msd)))
        job = wait_job(self.c, jid, timeout=120)
        self.assertEqual(job["JobState"], "10", job)
        self.assertNotEqual(job.get("ErrorCode"), "0", job)
        self.assertTrue(job.get("ErrorDescription"), job)
        self.assertEqual(sorted(as_list(job["OperationalStatus"])), ["17", "6"], job)
        out = self.c.invoke("VSMIG_MigrationJob", "GetError", {"InstanceID": jid}, "", ns=NS)
        self.assertEqual(out["ReturnValue"], "0", out)
        self.assertIn("CIM_Error", out["Error"] or "", out)
        self.assertIn(vm["Name"], [v["Name"] for v in self.vms()])  # still on the source

    def test_wsman_faults(self):
        with self.assertRaises(Fault) as cm:
            self.c.get("CIM_ComputerSystem", {"Name": "x"}, ns=NS)  # CreationClassName missing
        self.assertEqual(cm.exception.subcode, "w:InvalidSelectors")
        with self.assertRaises(Fault) as cm:
            self.c.get("CIM_NoSuchClass", {"Name": "x"}, ns=NS)
        self.assertEqual(cm.exception.subcode, "a:DestinationUnreachable")
        with self.assertRaises(Fault) as cm:
            self.c.send(self.c.envelope("http://example.com/NoSuchAction", vc.uri("CIM_ComputerSystem")))
        self.assertEqual(cm.exception.subcode, "a:ActionNotSupported")


if __name__ == "__main__":
    unittest.main(verbosity=2, failfast=False)
