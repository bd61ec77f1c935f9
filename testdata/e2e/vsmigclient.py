"""A small WS-Management client for vsmig's end-to-end tests.

It drives a server with Debian's python3-winrm (pywinrm 0.3.0): envelopes are
sent with winrm.protocol.Protocol.send_message over HTTPS with Basic
authentication, exactly as a pywinrm script would, and faults come back as
winrm.exceptions.WinRMError. Responses are read with ElementTree.
"""

import ast
import os
import re
import time
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from winrm.exceptions import WinRMError
from winrm.protocol import Protocol

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "b": "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
}
CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
VSMIG = "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/"
ANON = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ASSOC = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
SELECTOR = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"
ENUM = NS["n"]
TRANSFER = NS["x"]


def uri(cls):
    """ResourceURI of a class (DSP0227): CIM_ classes under the DMTF prefix."""
    return (VSMIG if cls.startswith("VSMIG_") else CIM) + cls


class Fault(Exception):
    """A WS-Man fault as surfaced by pywinrm's WinRMError."""

    def __init__(self, err):
        super().__init__(str(err))
        self.text = str(err)
        data = {}
        m = re.search(r"extended fault data: (\{.*\})\)?$", self.text, re.S)
        if m:
            try:
                data = ast.literal_eval(m.group(1))
            except (ValueError, SyntaxError):
                data = {}
        self.data = data
        self.code = data.get("fault_code")
        self.subcode = data.get("fault_subcode")
        self.http_status = data.get("http_status_code")


def selector_set(selectors):
    if not selectors:
        return ""
    parts = []
    for k, v in selectors.items():
        parts.append('<w:Selector Name="%s">%s</w:Selector>' % (escape(k), escape(str(v))))
    return "<w:SelectorSet>%s</w:SelectorSet>" % "".join(parts)


def epr(cls, selectors, ns=None):
    """The inner content of an EPR-valued element (no wrapper), as Windows sends it."""
    sel = dict(selectors)
    if ns:
        sel["__cimnamespace"] = ns
    return ("<a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>%s"
            "</a:ReferenceParameters>" % (ANON, uri(cls), selector_set(sel)))


class Client:
    def __init__(self, endpoint=None, user=None, password=None):
        self.endpoint = endpoint or os.environ["VSMIG_ENDPOINT"]
        self.protocol = Protocol(
            self.endpoint,
            transport="ssl" if self.endpoint.startswith("https") else "plaintext",
            username=user or os.environ.get("VSMIG_USER", "admin"),
            password=password or os.environ.get("VSMIG_PASSWORD", ""),
            # Validate against the server's own (self-signed) certificate:
            # pywinrm 0.3.0 lets REQUESTS_CA_BUNDLE override "ignore".
            server_cert_validation="validate" if os.environ.get("VSMIG_CA") else "ignore",
            ca_trust_path=os.environ.get("VSMIG_CA"),
        )

    # -- raw envelopes ---------------------------------------------------------
    def envelope(self, action, resource_uri, selectors=None, body="", extra_headers=""):
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<s:Envelope xmlns:s="%(s)s" xmlns:a="%(a)s" xmlns:w="%(w)s" xmlns:n="%(n)s" '
            'xmlns:b="%(b)s" xmlns:xsi="%(xsi)s">'
            "<s:Header><a:To>%(to)s</a:To>"
            '<w:ResourceURI mustUnderstand="true">%(ruri)s</w:ResourceURI>'
            '<a:ReplyTo><a:Address mustUnderstand="true">%(anon)s</a:Address></a:ReplyTo>'
            '<a:Action mustUnderstand="true">%(action)s</a:Action>'
            '<w:MaxEnvelopeSize mustUnderstand="true">512000</w:MaxEnvelopeSize>'
            "<a:MessageID>uuid:%(mid)s</a:MessageID>"
            '<w:Locale mustUnderstand="false" xml:lang="en-US"/>'
            "<w:OperationTimeout>PT60S</w:OperationTimeout>%(sel)s%(extra)s"
            "</s:Header><s:Body>%(body)s</s:Body></s:Envelope>"
        ) % dict(NS, to=self.endpoint, ruri=resource_uri, anon=ANON, action=action,
                 mid=str(uuid.uuid4()).upper(), sel=selector_set(selectors), extra=extra_headers,
                 body=body)

    def send(self, message):
        try:
            raw = self.protocol.send_message(message)
        except WinRMError as err:
            raise Fault(err) from None
        return ET.fromstring(raw)

    # -- operations ------------------------------------------------------------
    def identify(self):
        msg = ('<s:Envelope xmlns:s="%s" xmlns:wsmid="%s"><s:Header/><s:Body><wsmid:Identify/>'
               "</s:Body></s:Envelope>" % (NS["s"], NS["wsmid"]))
        root = self.send(msg)
        return root.find("s:Body/wsmid:IdentifyResponse", NS)

    def get(self, cls, selectors, ns=None):
        sel = dict(selectors)
        if ns:
            sel["__cimnamespace"] = ns
        root = self.send(self.envelope(TRANSFER + "/Get", uri(cls), sel))
        return instance(root.find("s:Body", NS)[0])

    def delete(self, cls, selectors, ns=None):
        sel = dict(selectors)
        if ns:
            sel["__cimnamespace"] = ns
        self.send(self.envelope(TRANSFER + "/Delete", uri(cls), sel))

    def enumerate(self, resource_uri, filter_xml="", mode=None, max_elements=50, ns=None):
        """Enumerate with OptimizeEnumeration and Pull to the end; returns the
        items as (properties, epr-selectors) pairs."""
        parts = ["<w:OptimizeEnumeration/>", "<w:MaxElements>%d</w:MaxElements>" % max_elements]
        if mode:
            parts.append("<w:EnumerationMode>%s</w:EnumerationMode>" % mode)
        parts.append(filter_xml)
        sel = {"__cimnamespace": ns} if ns else None
        root = self.send(self.envelope(ENUM + "/Enumerate", resource_uri, sel,
                                       "<n:Enumerate>%s</n:Enumerate>" % "".join(parts)))
        resp = root.find("s:Body/n:EnumerateResponse", NS)
        items = list(_items(resp.find("w:Items", NS)))
        ctx = resp.find("n:EnumerationContext", NS)
        done = resp.find("w:EndOfSequence", NS) is not None
        while not done and ctx is not None and (ctx.text or "").strip():
            body = ("<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>"
                    "<n:MaxElements>%d</n:MaxElements></n:Pull>" % (ctx.text.strip(), max_elements))
            root = self.send(self.envelope(ENUM + "/Pull", resource_uri, sel, body))
            resp = root.find("s:Body/n:PullResponse", NS)
            items.extend(_items(resp.find("n:Items", NS)))
            ctx = resp.find("n:EnumerationContext", NS)
            done = resp.find("n:EndOfSequence", NS) is not None
        return items

    def enumerate_class(self, cls, ns=None, **kw):
        return self.enumerate(uri(cls), ns=ns, **kw)

    def wql(self, query, ns=None):
        f = '<w:Filter Dialect="%s">%s</w:Filter>' % (WQL, escape(query))
        cls = re.search(r"\bFROM\s+(\w+)", query, re.I).group(1)
        return self.enumerate(uri(cls), f, ns=ns)

    def associators(self, cls, selectors, ns=None, assoc="", result="", role="", result_role=""):
        f = ('<w:Filter Dialect="%s"><b:AssociatedInstances><b:Object>%s</b:Object>%s%s%s%s'
             "</b:AssociatedInstances></w:Filter>") % (
            ASSOC, epr(cls, selectors, ns),
            "<b:AssociationClassName>%s</b:AssociationClassName>" % assoc if assoc else "",
            "<b:Role>%s</b:Role>" % role if role else "",
            "<b:ResultClassName>%s</b:ResultClassName>" % result if result else "",
            "<b:ResultRole>%s</b:ResultRole>" % result_role if result_role else "")
        return self.enumerate("http://schemas.dmtf.org/wbem/wscim/1/*", f,
                              mode="EnumerateObjectAndEPR", ns=ns)

    def references(self, cls, selectors, ns=None, result=""):
        f = ('<w:Filter Dialect="%s"><b:AssociationInstances><b:Object>%s</b:Object>%s'
             "</b:AssociationInstances></w:Filter>") % (
            ASSOC, epr(cls, selectors, ns),
            "<b:ResultClassName>%s</b:ResultClassName>" % result if result else "")
        return self.enumerate("http://schemas.dmtf.org/wbem/wscim/1/*", f,
                              mode="EnumerateObjectAndEPR", ns=ns)

    def invoke(self, cls, method, selectors, params_xml, ns=None):
        """Invoke method; params_xml is the inner XML of <p:Method_INPUT> using prefix p."""
        sel = dict(selectors)
        if ns:
            sel["__cimnamespace"] = ns
        body = '<p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT>' % (method, uri(cls), params_xml, method)
        root = self.send(self.envelope(uri(cls) + "/" + method, uri(cls), sel, body))
        out = root.find("s:Body", NS)[0]
        return output(out)


def local(tag):
    return tag.rsplit("}", 1)[-1]


def value_of(el):
    """A property element as a Python value: text, None for xsi:nil, a dict of
    selectors for an EPR, or the text of a cim:Datetime/cim:Interval child."""
    if el.get("{%s}nil" % NS["xsi"]) in ("true", "1"):
        return None
    rp = el.find("a:ReferenceParameters", NS)
    if rp is None:
        wrapped = el.find("a:EndpointReference/a:ReferenceParameters", NS)
        rp = wrapped
    if rp is not None:
        sels = {s.get("Name"): s.text for s in rp.findall("w:SelectorSet/w:Selector", NS)}
        sels["ResourceURI"] = rp.findtext("w:ResourceURI", default="", namespaces=NS)
        return sels
    children = list(el)
    if children:
        return children[0].text
    return el.text if el.text is not None else ""


def instance(el):
    """Properties of a WS-CIM instance element; arrays become lists."""
    props = {"__class__": local(el.tag)}
    for child in el:
        name = local(child.tag)
        v = value_of(child)
        if name in props:
            if not isinstance(props[name], list):
                props[name] = [props[name]]
            props[name].append(v)
        else:
            props[name] = v
    return props


def output(el):
    out = {}
    for child in el:
        name = local(child.tag)
        v = value_of(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(v)
        else:
            out[name] = v
    return out


def _items(items_el):
    if items_el is None:
        return
    for child in items_el:
        if local(child.tag) == "Item":
            obj = None
            sels = None
            for c in child:
                if local(c.tag) == "EndpointReference":
                    sels = value_of(c)
                else:
                    obj = instance(c)
            yield obj, sels
        elif local(child.tag) == "EndpointReference":
            yield None, value_of(child)
        else:
            yield instance(child), None


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


# What wait_job records of each Get of a job (and "at", when it was read).
SAMPLE_KEYS = ("JobState", "PercentComplete", "DataTotal", "DataProcessed", "DataRemaining", "Iteration", "JobStatus")


def wait_job(client, job_id, states=("7", "8", "9", "10"), timeout=120, poll=0.25, seen=None):
    """Polls a job until its JobState is one of states; returns the last instance.
    seen, when a list, collects one dict per Get with the job's state and figures
    (SAMPLE_KEYS)."""
    deadline = time.time() + timeout
    while True:
        job = client.get("CIM_ConcreteJob", {"InstanceID": job_id}, ns="root/virtualization")
        if seen is not None:
            sample = {k: job.get(k) for k in SAMPLE_KEYS}
            sample["at"] = round(time.time(), 3)
            seen.append(sample)
        if job.get("JobState") in states:
            return job
        if time.time() > deadline:
            raise AssertionError("job %s still in state %s after %ss" % (job_id, job.get("JobState"), timeout))
        time.sleep(poll)
