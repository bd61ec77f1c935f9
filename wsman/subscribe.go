package wsman

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/eventing"
	"github.com/vsmig/vsmig/wsman/wql"
	"github.com/vsmig/vsmig/wsman/xsd"
)

// Delivery modes (DSP0226 §10.2.9). Push is WS-Eventing's default.
const (
	DeliveryModePush        = NSEventing + "/DeliveryModes/Push"
	DeliveryModePushWithAck = "http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck"
	DeliveryModeEvents      = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events"
	DeliveryModePull        = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
)

// Authentication profiles a subscription may ask event delivery to use
// (DSP0226 §10.2.2, wsman:Auth/@Profile). Without wsman:Auth events are
// sent without credentials.
const (
	ProfileHTTPBasic  = NSWSManSecProf + "/http/basic"
	ProfileHTTPSBasic = NSWSManSecProf + "/https/basic"
)

// TokenTypeUserNamePassword is the wst:TokenType of the credentials a
// subscriber gives for Basic delivery in wst:IssuedTokens (DSP0226 §10.2.2).
const TokenTypeUserNamePassword = "http://schemas.dmtf.org/wbem/wsman/1/wsman/token/userNamePassword"

// Bounds on what a Subscribe may ask for.
const (
	// minHeartbeat is the shortest heartbeat interval honoured.
	minHeartbeat = time.Second
	// maxBatchWait caps wsman:MaxTime in Events mode.
	maxBatchWait = time.Minute
)

// expiry is a requested or granted wse:Expires: a duration or a date-time,
// answered in the form it was asked in (WS-Eventing §3.1).
type expiry struct {
	set      bool
	duration bool
	at       time.Time // absolute
}

// parseExpires reads a wse:Expires value: an xs:duration or an
// xs:dateTime (a date-time without a zone is UTC). A value of neither type
// is wse:UnsupportedExpirationType; a duration that is not positive or a
// date-time that is not in the future is wse:InvalidExpirationTime.
func parseExpires(text string, now time.Time) (expiry, *Fault) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "P") || strings.HasPrefix(text, "-P") {
		d, err := xsd.ParseDuration(text)
		if err != nil {
			return expiry{}, NewFault(SubcodeEventingInvalidExpirationTime, DetailExpirationTime, "wse:Expires is not a valid xs:duration.")
		}
		if d <= 0 {
			return expiry{}, NewFault(SubcodeEventingInvalidExpirationTime, DetailExpirationTime, "wse:Expires must be a positive duration.")
		}
		return expiry{set: true, duration: true, at: now.Add(d)}, nil
	}
	t, err := xsd.ParseDateTime(text)
	if err != nil {
		return expiry{}, NewFault(SubcodeEventingUnsupportedExpiration, "", "wse:Expires is neither an xs:duration nor an xs:dateTime.")
	}
	if !t.After(now) {
		return expiry{}, NewFault(SubcodeEventingInvalidExpirationTime, DetailExpirationTime, "wse:Expires is not in the future.")
	}
	return expiry{set: true, at: t}, nil
}

// format writes the expiry granted (at) in the form e was asked in, as of
// now; a subscription that asked for none gets a date-time.
func (e expiry) format(at, now time.Time) string {
	if e.duration {
		return xsd.FormatDuration(max(at.Sub(now), 0))
	}
	return xsd.FormatDateTime(at.UTC())
}

// endpoint is a delivery address (wse:NotifyTo, wse:EndTo) with what a
// message to it must carry.
type endpoint struct {
	address   string
	refParams []byte // its reference parameters, serialized with their namespaces: header blocks of every message (WS-Addressing §3.3)
	user      string // Basic credentials, when the subscription's profile asks for them
	password  string
	basic     bool
}

// subscribeBody is the decoded wse:Subscribe.
type subscribeBody struct {
	mode          eventing.Mode
	notifyTo      *endpoint
	endTo         *endpoint
	expires       expiry
	heartbeat     time.Duration
	retries       int
	retryInterval time.Duration
	noRetries     bool
	maxElements   int
	maxTime       time.Duration
	maxEnvelope   int    // wsman:MaxEnvelopeSize of each event message, 0 for the service's
	policy        string // its Policy: CancelSubscription, Skip or Notify
	filter        *Filter
	sendBookmarks bool
	bookmark      string
}

// decodeSubscribe reads the Body of a Subscribe (DSP0226 §10.2) with the
// credentials of the request's wst:IssuedTokens header.
func decodeSubscribe(env *envelope, now time.Time) (*subscribeBody, *Fault) {
	e := env.req.Body
	if !is(e, NSEventing, "Subscribe") {
		return nil, NewFault(SubcodeSchemaValidationError, "", "The Body of a Subscribe request is not a wse:Subscribe element.")
	}
	sb := &subscribeBody{}
	delivery := child(e, NSEventing, "Delivery")
	if delivery == nil {
		return nil, NewFault(SubcodeEventingInvalidMessage, "", "The Subscribe request has no wse:Delivery.")
	}
	mode, _ := attr(delivery, "", "Mode")
	switch strings.TrimSpace(mode) {
	case "", DeliveryModePush:
		sb.mode = eventing.Push
	case DeliveryModePushWithAck:
		sb.mode = eventing.PushWithAck
	case DeliveryModeEvents:
		sb.mode = eventing.Events
	case DeliveryModePull:
		sb.mode = eventing.Pull
	default:
		f := NewFault(SubcodeDeliveryModeRequestedUnavailable, "", "The delivery mode "+strings.TrimSpace(mode)+" is not supported; use Push, PushWithAck, Events or Pull.")
		f.DetailElement = supportedModes()
		return nil, f
	}
	profile := ""
	var authToken *etree.Element
	for _, t := range delivery.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		ns := c.NamespaceURI()
		switch {
		case ns == NSEventing && c.Tag == "NotifyTo":
			ep, f := decodeEndpoint(c, "wse:NotifyTo")
			if f != nil {
				return nil, f
			}
			sb.notifyTo = ep
		case ns == NSWSMan && c.Tag == "Heartbeats":
			d, f := positiveDuration(c, "wsman:Heartbeats", DetailHeartbeats)
			if f != nil {
				return nil, f
			}
			if d < minHeartbeat {
				return nil, NewFault(SubcodeUnsupportedFeature, DetailHeartbeats, "Heartbeats are sent at most once a second (wsman:Heartbeats PT1S or more).")
			}
			sb.heartbeat = d
		case ns == NSWSMan && c.Tag == "ConnectionRetry":
			total, _ := attr(c, "", "Total")
			n, err := strconv.Atoi(strings.TrimSpace(total))
			if err != nil || n < 0 {
				return nil, NewFault(SubcodeInvalidParameter, DetailDeliveryRetries, "wsman:ConnectionRetry needs a Total attribute that is a count.")
			}
			d, perr := xsd.ParseDuration(trimmedText(c))
			if perr != nil || d < 0 {
				return nil, NewFault(SubcodeInvalidParameter, DetailDeliveryRetries, "wsman:ConnectionRetry is not a valid xs:duration.")
			}
			sb.retries, sb.retryInterval, sb.noRetries = n, d, n == 0
		case ns == NSWSMan && c.Tag == "MaxElements":
			n, err := strconv.Atoi(trimmedText(c))
			if err != nil || n <= 0 {
				return nil, NewFault(SubcodeInvalidParameter, DetailMaxElements, "wsman:MaxElements is not a positive integer.")
			}
			sb.maxElements = n
		case ns == NSWSMan && c.Tag == "MaxTime":
			d, f := positiveDuration(c, "wsman:MaxTime", DetailInvalidValue)
			if f != nil {
				return nil, f
			}
			sb.maxTime = min(d, maxBatchWait)
		case ns == NSWSMan && c.Tag == "MaxEnvelopeSize":
			n, err := strconv.Atoi(trimmedText(c))
			if err != nil || n < minEnvelopeSize {
				return nil, NewFault(SubcodeEncodingLimit, DetailMinimumEnvelopeLimit, "wsman:MaxEnvelopeSize of the delivery is not an integer of at least 8192.")
			}
			sb.maxEnvelope = n
			sb.policy, _ = attr(c, "", "Policy")
			switch sb.policy = strings.TrimSpace(sb.policy); sb.policy {
			case "":
				sb.policy = "Notify"
			case "CancelSubscription", "Skip", "Notify":
			default:
				return nil, NewFault(SubcodeInvalidParameter, DetailInvalidValue, "The Policy of wsman:MaxEnvelopeSize must be CancelSubscription, Skip or Notify.")
			}
		case ns == NSWSMan && c.Tag == "ContentEncoding":
			if v := trimmedText(c); !strings.EqualFold(v, "UTF-8") {
				return nil, NewFault(SubcodeUnsupportedFeature, "EncodingType", "Events are delivered in UTF-8 only.")
			}
		case ns == NSWSMan && c.Tag == "Auth":
			profile, _ = attr(c, "", "Profile")
			profile = strings.TrimSpace(profile)
			authToken = findDescendant(c, NSSecExt, "UsernameToken")
		case ns == NSWSMan && c.Tag == "Locale":
			// Events carry no text of ours to localize.
		}
	}
	if hb := child(e, NSWSMan, "Heartbeats"); hb != nil && sb.heartbeat == 0 {
		// Some clients put it beside wse:Delivery.
		d, f := positiveDuration(hb, "wsman:Heartbeats", DetailHeartbeats)
		if f != nil {
			return nil, f
		}
		if d < minHeartbeat {
			return nil, NewFault(SubcodeUnsupportedFeature, DetailHeartbeats, "Heartbeats are sent at most once a second (wsman:Heartbeats PT1S or more).")
		}
		sb.heartbeat = d
	}
	if sb.mode != eventing.Pull && sb.notifyTo == nil {
		return nil, NewFault(SubcodeEventingInvalidMessage, "", "A push-style subscription needs a wse:NotifyTo address.")
	}
	if et := child(e, NSEventing, "EndTo"); et != nil {
		ep, f := decodeEndpoint(et, "wse:EndTo")
		if f != nil {
			return nil, f
		}
		sb.endTo = ep
	}
	if ex := child(e, NSEventing, "Expires"); ex != nil {
		x, f := parseExpires(textOf(ex), now)
		if f != nil {
			return nil, f
		}
		sb.expires = x
	}
	if f := applyAuth(sb, profile, authToken, env.issuedTokens); f != nil {
		return nil, f
	}
	f, fault := decodeEventFilter(e)
	if fault != nil {
		return nil, fault
	}
	sb.filter = f
	sb.sendBookmarks = child(e, NSWSMan, "SendBookmarks") != nil
	if bm := child(e, NSWSMan, "Bookmark"); bm != nil {
		sb.bookmark = trimmedText(bm)
		if sb.bookmark == "" {
			return nil, NewFault(SubcodeInvalidBookmark, DetailInvalid, "The wsman:Bookmark is empty.")
		}
	}
	return sb, nil
}

// supportedModes is the detail of DeliveryModeRequestedUnavailable
// (WS-Eventing §4.3): the modes this service supports.
func supportedModes() *etree.Element {
	wrap := etree.NewElement("e:SupportedDeliveryModes")
	for _, m := range []string{DeliveryModePush, DeliveryModePushWithAck, DeliveryModeEvents, DeliveryModePull} {
		wrap.CreateElement("e:SupportedDeliveryMode").SetText(m)
	}
	return wrap
}

func positiveDuration(e *etree.Element, name, detail string) (time.Duration, *Fault) {
	d, err := xsd.ParseDuration(trimmedText(e))
	if err != nil || d <= 0 {
		return 0, NewFault(SubcodeInvalidParameter, detail, name+" is not a positive xs:duration.")
	}
	return d, nil
}

// decodeEndpoint reads a delivery EPR: an absolute http or https address
// (anything else is wsman:UnsupportedFeature, detail AddressingMode) and
// its reference parameters.
func decodeEndpoint(e *etree.Element, name string) (*endpoint, *Fault) {
	addr := trimmedText(child(e, NSAddressing, "Address"))
	if addr == "" {
		return nil, NewFault(SubcodeEventingInvalidMessage, "", name+" has no wsa:Address.")
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, NewFault(SubcodeUnsupportedFeature, DetailAddressingMode, name+" must be an absolute http or https address.")
	}
	ep := &endpoint{address: strings.Clone(addr)}
	if rp := child(e, NSAddressing, "ReferenceParameters"); rp != nil {
		var b strings.Builder
		for _, c := range rp.ChildElements() {
			b.WriteString(serializeDetached(c))
		}
		ep.refParams = []byte(b.String())
	}
	return ep, nil
}

// applyAuth sets the credentials of the delivery endpoints from the
// subscription's wsman:Auth profile and the UsernameTokens of wst:IssuedTokens
// (DSP0226 §10.2.2; a wsse:UsernameToken inside wsman:Auth is accepted
// too, for both endpoints). Without a profile events go without
// credentials; https/basic needs https addresses; profiles other than
// Basic are wsman:UnsupportedFeature (AuthorizationMode).
func applyAuth(sb *subscribeBody, profile string, inline, issued *etree.Element) *Fault {
	switch profile {
	case "":
		return nil
	case ProfileHTTPBasic, ProfileHTTPSBasic:
	default:
		return NewFault(SubcodeUnsupportedFeature, DetailAuthorizationMode,
			"The delivery authentication profile "+profile+" is not supported; use "+ProfileHTTPSBasic+" or "+ProfileHTTPBasic+".")
	}
	for _, ep := range []*endpoint{sb.notifyTo, sb.endTo} {
		if ep == nil {
			continue
		}
		if profile == ProfileHTTPSBasic && !strings.HasPrefix(ep.address, "https:") {
			return NewFault(SubcodeUnsupportedFeature, DetailInsecureAddress, "The https/basic profile needs https delivery addresses.")
		}
		tok := inline
		if tok == nil {
			tok = issuedToken(issued, ep.address)
		}
		if tok == nil {
			return NewFault(SubcodeInvalidParameter, DetailMissingValues,
				"The Basic delivery profile needs credentials: a wst:IssuedTokens header with a UsernameToken for "+ep.address+".")
		}
		ep.user = strings.Clone(trimmedText(child(tok, NSSecExt, "Username")))
		ep.password = strings.Clone(textOf(child(tok, NSSecExt, "Password")))
		ep.basic = true
		if ep.user == "" || strings.ContainsRune(ep.user, ':') {
			return NewFault(SubcodeInvalidParameter, DetailInvalidValue, "The UsernameToken's Username is empty or holds a colon.")
		}
	}
	return nil
}

// issuedToken returns the wsse:UsernameToken of wst:IssuedTokens that
// applies to address: a RequestSecurityTokenResponse of the
// userNamePassword type whose wsp:AppliesTo names address, or that names
// none.
func issuedToken(issued *etree.Element, address string) *etree.Element {
	if issued == nil {
		return nil
	}
	var fallback *etree.Element
	for _, rstr := range issued.ChildElements() {
		if !is(rstr, NSTrust, "RequestSecurityTokenResponse") {
			continue
		}
		if tt := trimmedText(child(rstr, NSTrust, "TokenType")); tt != "" && tt != TokenTypeUserNamePassword {
			continue
		}
		tok := findDescendant(child(rstr, NSTrust, "RequestedSecurityToken"), NSSecExt, "UsernameToken")
		if tok == nil {
			continue
		}
		applies := child(rstr, NSPolicy, "AppliesTo")
		if applies == nil {
			if fallback == nil {
				fallback = tok
			}
			continue
		}
		if a := findDescendant(applies, NSAddressing, "Address"); a != nil && trimmedText(a) == address {
			return tok
		}
	}
	return fallback
}

// findDescendant returns the first element {ns}local at or below e.
func findDescendant(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	if is(e, ns, local) {
		return e
	}
	for _, c := range e.ChildElements() {
		if d := findDescendant(c, ns, local); d != nil {
			return d
		}
	}
	return nil
}

// decodeEventFilter reads the wsman:Filter or wse:Filter of a Subscribe
// (DSP0226 §10.2.1): both present, or a WQL query that does not parse, is
// wsman:CannotProcessFilter; a dialect other than WQL (XPath, the default
// of wse:Filter, included) is wse:FilteringRequestedUnavailable.
func decodeEventFilter(sub *etree.Element) (*Filter, *Fault) {
	fe := child(sub, NSEventing, "Filter")
	if we := child(sub, NSWSMan, "Filter"); we != nil {
		if fe != nil {
			return nil, NewFault(SubcodeCannotProcessFilterWSMan, "", "Both wse:Filter and wsman:Filter are present.")
		}
		fe = we
	}
	if fe == nil {
		return nil, nil
	}
	dialect, _ := attr(fe, "", "Dialect")
	dialect = strings.TrimSpace(dialect)
	if dialect == "" {
		dialect = DialectXPath
	}
	if dialect != DialectWQL {
		f := NewFault(SubcodeFilteringRequestedUnavailable, "", "The filter dialect "+dialect+" is not supported for subscriptions; use "+DialectWQL+".")
		d := etree.NewElement("e:SupportedDialect")
		d.SetText(DialectWQL)
		f.DetailElement = d
		return nil, f
	}
	q, err := wql.Parse(strings.TrimSpace(textOf(fe)))
	if err != nil {
		f := NewFault(SubcodeCannotProcessFilterWSMan, "", "The WQL query is not valid: "+err.Error())
		f.Err = err
		return nil, f
	}
	return &Filter{Dialect: DialectWQL, WQL: q}, nil
}
