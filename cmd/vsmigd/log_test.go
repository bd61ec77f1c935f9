package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/wsman"
)

func TestRequestHandlerAddsMessageID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(requestHandler{slog.NewTextHandler(&buf, nil)}).With("component", "test")
	ctx := cim.WithRequester(context.Background(), cim.Requester{User: "admin", MessageID: "uuid:1234"})
	log.InfoContext(ctx, "migration accepted", "job", "vsmig:1")
	log.Info("no request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], "message_id=uuid:1234") || !strings.Contains(lines[0], "user=admin") || !strings.Contains(lines[0], "component=test") {
		t.Errorf("request line lacks its attributes: %s", lines[0])
	}
	if strings.Contains(lines[1], "message_id") {
		t.Errorf("a line without a request has a message_id: %s", lines[1])
	}
	for _, l := range lines {
		if strings.Contains(l, "password") {
			t.Errorf("credential in log: %s", l)
		}
	}
}

func TestActionLabelIsBounded(t *testing.T) {
	tests := []struct {
		action string
		ok     bool
		want   string
	}{
		{"", true, "Identify"},
		{wsman.ActionIdentify, true, "Identify"}, // what the service reports (issue #14)
		{"http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", false, "Get"},
		{"http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull", true, "Pull"},
		{"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemMigrationService/MigrateVirtualSystemToHost", true, "Invoke MigrateVirtualSystemToHost"},
		// WS-Eventing (issue #13): labelled by name, refused or not (a
		// Subscribe was counted as "Invoke Subscribe", a refused one as
		// "other").
		{wsman.ActionSubscribe, true, "Subscribe"},
		{wsman.ActionSubscribe, false, "Subscribe"},
		{wsman.ActionRenew, true, "Renew"},
		{wsman.ActionGetStatus, false, "GetStatus"},
		{wsman.ActionUnsubscribe, true, "Unsubscribe"},
		{"http://example.com/attacker/chosen/Action-12345", false, "other"},
		{"urn:anything", false, "other"},
	}
	for _, tt := range tests {
		if got := actionLabel(tt.action, tt.ok); got != tt.want {
			t.Errorf("actionLabel(%q, %v) = %q, want %q", tt.action, tt.ok, got, tt.want)
		}
	}
}
