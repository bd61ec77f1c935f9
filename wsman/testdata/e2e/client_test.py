#!/usr/bin/python3
"""Real-client end-to-end check of the vsmig WS-Management endpoint.

Run by wsman/http_e2e_test.go against an in-process server, with Debian's
python3-winrm (0.3.0) as the client: winrm.protocol.Protocol.send_message
posts each envelope exactly as pywinrm does (requests + urllib3, Basic
auth over HTTPS, optional client certificate) and raises pywinrm's own
exceptions for faults and 401s.

Environment:
  VSMIG_ENDPOINT      https://127.0.0.1:PORT/wsman
  VSMIG_TRANSPORT     "ssl" (default: Basic over HTTPS) or "basic" (plain HTTP)
  VSMIG_USER, VSMIG_PASSWORD
  VSMIG_CA            server certificate (PEM) to validate against
  VSMIG_RESOURCE_URI  the wsmantest resource URI
  VSMIG_ITEMS         number of items the resource holds
  VSMIG_CLIENT_CERT, VSMIG_CLIENT_KEY  optional: a mapped client certificate
  VSMIG_HTTP_ENDPOINT optional: http://127.0.0.1:PORT/wsman (unencrypted refused)

Prints one PASS/FAIL line per check; exits 1 if any check failed.
"""

import os
import sys
import uuid
import xml.etree.ElementTree as ET

import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError
from winrm.protocol import Protocol

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "id": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
}
ANON = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"

ENDPOINT = os.environ["VSMIG_ENDPOINT"]
USER = os.environ["VSMIG_USER"]
PASSWORD = os.environ["VSMIG_PASSWORD"]
CA = os.environ["VSMIG_CA"]
RURI = os.environ["VSMIG_RESOURCE_URI"]
ITEMS = int(os.environ["VSMIG_ITEMS"])
TRANSPORT = os.environ.get("VSMIG_TRANSPORT", "ssl")

failures = []


def check(name):
    """Decorator: run a check, print PASS/FAIL, remember failures."""
    def run(fn):
        try:
            detail = fn()
            print("PASS %s%s" % (name, ": " + detail if detail else ""), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure kind
            failures.append(name)
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
        return fn
    return run


def envelope(action, body, selectors=None, resource_uri=RURI):
    sel = ""
    if selectors:
        sel = "<w:SelectorSet>%s</w:SelectorSet>" % "".join(
            '<w:Selector Name="%s">%s</w:Selector>' % kv for kv in selectors.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<env:Envelope xmlns:env="%(s)s" xmlns:a="%(a)s" xmlns:w="%(w)s" xmlns:n="%(n)s">'
        "<env:Header><a:To>%(to)s</a:To>"
        '<a:ReplyTo><a:Address mustUnderstand="true">%(anon)s</a:Address></a:ReplyTo>'
        '<w:MaxEnvelopeSize mustUnderstand="true">153600</w:MaxEnvelopeSize>'
        "<a:MessageID>uuid:%(msgid)s</a:MessageID>"
        '<w:Locale mustUnderstand="false" xml:lang="en-US"/>'
        "<w:OperationTimeout>PT20S</w:OperationTimeout>"
        '<w:ResourceURI mustUnderstand="true">%(ruri)s</w:ResourceURI>'
        '<a:Action mustUnderstand="true">%(action)s</a:Action>%(sel)s'
        "</env:Header><env:Body>%(body)s</env:Body></env:Envelope>"
    ) % dict(NS, to=ENDPOINT, anon=ANON, msgid=uuid.uuid4(), ruri=resource_uri,
             action=action, sel=sel, body=body)


def protocol(**kw):
    if TRANSPORT == "basic":  # plain HTTP, server started with AllowUnencrypted
        args = dict(transport="basic", username=USER, password=PASSWORD)
        args.update(kw)
        return Protocol(ENDPOINT, **args)
    args = dict(transport="ssl", username=USER, password=PASSWORD,
                server_cert_validation="validate", ca_trust_path=CA)
    args.update(kw)
    return Protocol(ENDPOINT, **args)


P = protocol()


def body_of(resp):
    root = ET.fromstring(resp)
    body = root.find("s:Body", NS)
    if body is None:
        raise AssertionError("no s:Body in response")
    return body


def expect_fault(fn, subcode):
    try:
        fn()
    except WinRMError as e:
        text = str(e)
        if "'fault_subcode': '%s'" % subcode not in text or "'http_status_code': 500" not in text:
            raise AssertionError("fault %r lacks subcode %s / HTTP 500" % (text, subcode))
        return text.split(" (extended fault data")[0]
    raise AssertionError("no fault raised, want %s" % subcode)


@check("identify (%s)" % TRANSPORT)
def _():
    resp = P.send_message(
        '<s:Envelope xmlns:s="%(s)s" xmlns:wsmid="%(id)s"><s:Header/>'
        "<s:Body><wsmid:Identify/></s:Body></s:Envelope>" % NS)
    ir = body_of(resp).find("id:IdentifyResponse", NS)
    vendor = ir.findtext("id:ProductVendor", namespaces=NS)
    proto = ir.findtext("id:ProtocolVersion", namespaces=NS)
    assert proto == "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd", proto
    return "vendor %r" % vendor


@check("anonymous identify (WSMANIDENTIFY header, no credentials)")
def _():
    r = requests.post(ENDPOINT, verify=CA, data=(
        '<s:Envelope xmlns:s="%(s)s" xmlns:wsmid="%(id)s"><s:Header/>'
        "<s:Body><wsmid:Identify/></s:Body></s:Envelope>" % NS).encode(),
        headers={"Content-Type": "application/soap+xml;charset=UTF-8",
                 "WSMANIDENTIFY": "unauthenticated"})
    assert r.status_code == 200, r.status_code
    assert body_of(r.content).find("id:IdentifyResponse", NS) is not None


@check("get")
def _():
    resp = P.send_message(envelope(GET, "", {"Name": "item-1"}))
    item = body_of(resp)[0]
    values = {c.tag.split("}")[1]: c.text for c in item}
    assert values == {"Name": "item-1", "Value": "value-1"}, values
    return item.tag


@check("enumerate (optimized) and pull to the end")
def _():
    resp = P.send_message(envelope(
        ENUMERATE, "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>3</w:MaxElements></n:Enumerate>"))
    er = body_of(resp).find("n:EnumerateResponse", NS)
    names = [e.findtext("{%s}Name" % RURI) for e in er.find("w:Items", NS)]
    ctx = er.findtext("n:EnumerationContext", default="", namespaces=NS)
    ended = er.find("w:EndOfSequence", NS) is not None
    pulls = 0
    while not ended:
        assert ctx, "no context and no EndOfSequence"
        resp = P.send_message(envelope(
            PULL, "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>"
                  "<n:MaxElements>4</n:MaxElements></n:Pull>" % ctx))
        pr = body_of(resp).find("n:PullResponse", NS)
        names += [e.findtext("{%s}Name" % RURI) for e in pr.find("n:Items", NS)]
        ctx = pr.findtext("n:EnumerationContext", default="", namespaces=NS)
        ended = pr.find("n:EndOfSequence", NS) is not None
        pulls += 1
        assert pulls <= ITEMS, "pull loop does not end"
    want = ["item-%d" % i for i in range(1, ITEMS + 1)]
    assert names == want, names
    return "%d items, %d pulls" % (len(names), pulls)


@check("invoke Echo")
def _():
    resp = P.send_message(envelope(
        RURI + "/Echo",
        '<p:Echo_INPUT xmlns:p="%s"><p:Text>Grüße &amp; &lt;hello&gt;</p:Text></p:Echo_INPUT>' % RURI,
        {"Name": "item-2"}))
    out = body_of(resp).find("{%s}Echo_OUTPUT" % RURI)
    assert out is not None, "no Echo_OUTPUT"
    assert out.findtext("{%s}Text" % RURI) == "Grüße & <hello>", out.findtext("{%s}Text" % RURI)
    assert out.findtext("{%s}ReturnValue" % RURI) == "0"


@check("fault: get of a missing item is a:DestinationUnreachable (WinRMError)")
def _():
    return expect_fault(lambda: P.send_message(envelope(GET, "", {"Name": "item-999"})),
                        "a:DestinationUnreachable")


@check("fault: unknown method is a:ActionNotSupported (WinRMError)")
def _():
    return expect_fault(lambda: P.send_message(envelope(
        RURI + "/NoSuchMethod", '<p:NoSuchMethod_INPUT xmlns:p="%s"/>' % RURI, {"Name": "item-1"})),
        "a:ActionNotSupported")


@check("fault: unknown resource URI is a:DestinationUnreachable (WinRMError)")
def _():
    return expect_fault(lambda: P.send_message(envelope(
        GET, "", {"Name": "x"}, resource_uri="http://example.com/NoSuchResource")),
        "a:DestinationUnreachable")


@check("wrong password is InvalidCredentialsError (401)")
def _():
    try:
        protocol(password=PASSWORD + "x").send_message(envelope(GET, "", {"Name": "item-1"}))
    except InvalidCredentialsError:
        return None
    raise AssertionError("request with a wrong password succeeded")


@check("unknown user is InvalidCredentialsError (401)")
def _():
    try:
        protocol(username="nobody").send_message(envelope(GET, "", {"Name": "item-1"}))
    except InvalidCredentialsError:
        return None
    raise AssertionError("request of an unknown user succeeded")


if os.environ.get("VSMIG_HTTP_ENDPOINT"):
    @check("plain HTTP Basic (transport='basic') is refused with 403, not a Basic challenge, by default")
    def _():
        p = Protocol(os.environ["VSMIG_HTTP_ENDPOINT"], transport="basic", username=USER, password=PASSWORD)
        try:
            p.send_message(envelope(GET, "", {"Name": "item-1"}))
        except WinRMTransportError as e:
            if "403" in str(e):
                return None
            raise
        raise AssertionError("Basic over plain HTTP was accepted")


if os.environ.get("VSMIG_CLIENT_CERT"):
    @check("client certificate (transport='certificate')")
    def _():
        p = Protocol(ENDPOINT, transport="certificate", cert_pem=os.environ["VSMIG_CLIENT_CERT"],
                     cert_key_pem=os.environ["VSMIG_CLIENT_KEY"], server_cert_validation="validate",
                     ca_trust_path=CA)
        resp = p.send_message(envelope(GET, "", {"Name": "item-3"}))
        assert body_of(resp)[0].findtext("{%s}Value" % RURI) == "value-3"


print("pywinrm %s: %d checks failed" % (getattr(winrm, "__version__", "0.3.0"), len(failures)), flush=True)
sys.exit(1 if failures else 0)
