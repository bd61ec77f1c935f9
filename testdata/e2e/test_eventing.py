"""WS-Eventing end to end (issue #13) against a running vsmigd on the simulated
demo cluster, every request sent by python3-winrm's Protocol.send_message:

- Pull: Subscribe with the WQL filter Windows and openwsman clients send, a
  real migration, its job's indications pulled (the creation, the
  modifications with PreviousInstance, the end), then Renew, GetStatus and
  Unsubscribe; a Pull after it is refused.
- Push and PushWithAck: subscriptions delivering to HTTP receivers this script
  starts (the daemon runs with -push-targets 127.0.0.1/32); the events of a
  migration arrive, acknowledged; when the receiver disappears, the
  subscription ends with a SubscriptionEnd (DeliveryFailure) to its EndTo.
"""

import queue
import threading
import time
import unittest
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import vsmigclient as vc
from vsmigclient import Client, Fault

NS = "root/virtualization"
DEST = "host-b"
E = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
ALL = "http://schemas.dmtf.org/wbem/wscim/1/*"
PULL_MODE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
PUSH_MODE = E + "/DeliveryModes/Push"
PUSH_ACK_MODE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck"
EVENT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Event"
ACK_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack"
END_ACTION = E + "/SubscriptionEnd"
JOB_QUERY = "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ConcreteJob"
ENS = dict(vc.NS, e=E)


def identifier_header(ident):
    return '<e:Identifier xmlns:e="%s">%s</e:Identifier>' % (E, escape(ident))


def indication(item):
    """(class of the indication, SourceInstance properties, PreviousInstance properties or None)."""
    src = prev = None
    for child in item:
        name = vc.local(child.tag)
        if name == "SourceInstance" and len(child):
            src = vc.instance(child[0])
        elif name == "PreviousInstance" and len(child):
            prev = vc.instance(child[0])
    return vc.local(item.tag), src, prev


class Receiver:
    """An HTTP event sink: every message goes to a queue; an event asking for
    an acknowledgement (wsman:AckRequested) gets a wsman:Ack."""

    def __init__(self):
        self.messages = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                root = ET.fromstring(body)
                outer.messages.put(root)
                header = root.find("s:Header", vc.NS)
                reply = b""
                if header is not None and header.find("w:AckRequested", vc.NS) is not None:
                    mid = header.findtext("a:MessageID", namespaces=vc.NS)
                    reply = ('<s:Envelope xmlns:s="%s" xmlns:a="%s"><s:Header><a:Action>%s</a:Action>'
                             "<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body/></s:Envelope>"
                             % (vc.NS["s"], vc.NS["a"], ACK_ACTION, mid)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout=60):
        return self.messages.get(timeout=timeout)

    def close(self):
        """Stops listening: later deliveries are refused connections."""
        self.server.shutdown()
        self.server.server_close()


class Eventing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Client()
        svc = cls.c.enumerate_class("CIM_VirtualSystemMigrationService", ns=NS)[0][0]
        cls.svc_sel = {k: svc[k] for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")}
        cls.vms = {o["ElementName"]: o["Name"] for o, _ in cls.c.enumerate_class("CIM_ComputerSystem", ns=NS)
                   if o.get("ElementName")}

    # -- helpers ----------------------------------------------------------------
    def subscribe(self, delivery, query, extra=""):
        body = ('<e:Subscribe xmlns:e="%s">%s<e:Expires>PT10M</e:Expires>'
                '<w:Filter Dialect="%s">%s</w:Filter>%s</e:Subscribe>' % (E, delivery, vc.WQL, escape(query), extra))
        root = self.c.send(self.c.envelope(E + "/Subscribe", ALL, body=body))
        resp = root.find("s:Body/e:SubscribeResponse", ENS)
        ident = resp.findtext("e:SubscriptionManager/a:ReferenceParameters/e:Identifier", namespaces=ENS)
        self.assertTrue(ident, ET.tostring(resp))
        return ident, resp.findtext("n:EnumerationContext", namespaces=ENS), resp.findtext("e:Expires", namespaces=ENS)

    def pull(self, context, wait="PT5S"):
        body = ("<n:Pull><n:EnumerationContext>%s</n:EnumerationContext><n:MaxTime>%s</n:MaxTime>"
                "<n:MaxElements>20</n:MaxElements></n:Pull>" % (context, wait))
        try:
            root = self.c.send(self.c.envelope(vc.ENUM + "/Pull", ALL, body=body))
        except Fault as f:
            if f.subcode and f.subcode.endswith("TimedOut"):
                return []
            raise
        items = root.find("s:Body/n:PullResponse/n:Items", ENS)
        return list(items) if items is not None else []

    def migrate(self, name):
        p = "<p:ComputerSystem>%s</p:ComputerSystem><p:DestinationHost>%s</p:DestinationHost>" % (
            vc.epr("CIM_ComputerSystem", {"CreationClassName": "CIM_ComputerSystem", "Name": self.vms[name]}, NS), DEST)
        out = self.c.invoke("CIM_VirtualSystemMigrationService", "MigrateVirtualSystemToHost", self.svc_sel, p, ns=NS)
        self.assertEqual(out.get("ReturnValue"), "4096", out)
        return out["Job"]["InstanceID"]

    def manage(self, action, ident, body):
        return self.c.send(self.c.envelope(E + "/" + action, ALL, body=body, extra_headers=identifier_header(ident)))

    # -- Pull -------------------------------------------------------------------
    def test_pull_subscription(self):
        ident, context, expires = self.subscribe('<e:Delivery Mode="%s"/>' % PULL_MODE, JOB_QUERY)
        self.assertTrue(context and expires.startswith("PT"), (context, expires))
        job = self.migrate("dns-01")
        seen = []
        deadline = time.time() + 120
        while not seen or seen[-1][1].get("JobState") != "7":
            self.assertLess(time.time(), deadline, seen)
            for item in self.pull(context):
                cls, src, prev = indication(item)
                if src.get("InstanceID") != job:
                    continue
                seen.append((cls, src, prev))
        self.assertEqual(seen[0][0], "CIM_InstCreation")
        self.assertEqual(seen[0][1]["JobState"], "2")
        for i, (cls, src, prev) in enumerate(seen[1:], 1):
            self.assertEqual(cls, "CIM_InstModification", seen)
            # PreviousInstance is the instance the indication before showed.
            self.assertEqual(prev["JobState"], seen[i - 1][1]["JobState"])
            self.assertEqual(prev["PercentComplete"], seen[i - 1][1]["PercentComplete"])
        states = [src["JobState"] for _, src, _ in seen]
        self.assertIn("4", states)
        self.assertEqual(seen[-1][1]["PercentComplete"], "100")
        print("RESULT pull_indications=%d" % len(seen))

        root = self.manage("Renew", ident, '<e:Renew xmlns:e="%s"><e:Expires>PT20M</e:Expires></e:Renew>' % E)
        self.assertTrue(root.findtext("s:Body/e:RenewResponse/e:Expires", namespaces=ENS).startswith("PT"))
        root = self.manage("GetStatus", ident, '<e:GetStatus xmlns:e="%s"/>' % E)
        self.assertIsNotNone(root.find("s:Body/e:GetStatusResponse", ENS))
        self.manage("Unsubscribe", ident, '<e:Unsubscribe xmlns:e="%s"/>' % E)
        with self.assertRaises(Fault) as cm:
            self.pull(context, wait="PT1S")
        self.assertTrue(cm.exception.subcode.endswith("InvalidEnumerationContext"), cm.exception.subcode)
        with self.assertRaises(Fault) as cm:
            self.manage("Renew", ident, '<e:Renew xmlns:e="%s"/>' % E)
        self.assertTrue(cm.exception.subcode.endswith("UnableToRenew"), cm.exception.subcode)

    # -- Push and PushWithAck ----------------------------------------------------
    def test_push_delivery(self):
        sink, ends = Receiver(), Receiver()
        try:
            notify = ('<e:NotifyTo><a:Address>%s</a:Address><a:ReferenceParameters>'
                      '<x:Sink xmlns:x="urn:e2e">jobs</x:Sink></a:ReferenceParameters></e:NotifyTo>' % sink.url)
            ack_ident, _, _ = self.subscribe(
                '<e:Delivery Mode="%s">%s<w:ConnectionRetry Total="1">PT0.1S</w:ConnectionRetry></e:Delivery>'
                '<e:EndTo><a:Address>%s</a:Address></e:EndTo>' % (PUSH_ACK_MODE, notify, ends.url), JOB_QUERY)
            vm_ident, _, _ = self.subscribe(
                '<e:Delivery Mode="%s"><e:NotifyTo><a:Address>%s</a:Address></e:NotifyTo></e:Delivery>' % (PUSH_MODE, sink.url),
                "SELECT * FROM CIM_InstDeletion WHERE SourceInstance ISA CIM_ComputerSystem")
            job = self.migrate("web-01")
            job_states, vm_gone = [], False
            deadline = time.time() + 120
            while not (job_states and job_states[-1] == "7" and vm_gone):
                self.assertLess(time.time(), deadline, (job_states, vm_gone))
                msg = sink.next()
                header = msg.find("s:Header", vc.NS)
                self.assertEqual(header.findtext("a:Action", namespaces=vc.NS), EVENT_ACTION)
                cls, src, _ = indication(msg.find("s:Body", vc.NS)[0])
                if cls == "CIM_InstDeletion" and src.get("Name") == self.vms["web-01"]:
                    vm_gone = True
                    self.assertIsNone(header.find("w:AckRequested", vc.NS))  # Push
                    continue
                if src.get("InstanceID") != job:
                    continue
                # PushWithAck: acknowledgement requested; the NotifyTo's
                # reference parameter comes back as a header.
                self.assertIsNotNone(header.find("w:AckRequested", vc.NS))
                self.assertEqual(header.findtext("{urn:e2e}Sink"), "jobs")
                job_states.append(src["JobState"])
            self.assertEqual(job_states[0], "2")
            print("RESULT push_indications=%d" % len(job_states))
            self.manage("Unsubscribe", vm_ident, '<e:Unsubscribe xmlns:e="%s"/>' % E)

            # The receiver disappears; the next event cannot be delivered
            # (one retry), and the subscription ends with a SubscriptionEnd
            # to its EndTo.
            sink.close()
            self.migrate("db-01")
            end = ends.next(timeout=60)
            self.assertEqual(end.findtext("s:Header/a:Action", namespaces=vc.NS), END_ACTION)
            body = end.find("s:Body/e:SubscriptionEnd", ENS)
            self.assertTrue(body.findtext("e:Status", namespaces=ENS).endswith("DeliveryFailure"), ET.tostring(body))
            self.assertEqual(body.findtext("e:SubscriptionManager/a:ReferenceParameters/e:Identifier", namespaces=ENS), ack_ident)
            with self.assertRaises(Fault):
                self.manage("GetStatus", ack_ident, '<e:GetStatus xmlns:e="%s"/>' % E)
        finally:
            ends.close()


if __name__ == "__main__":
    unittest.main(verbosity=2, failfast=False)
