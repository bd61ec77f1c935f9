package wsman_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

func TestSmoke(t *testing.T) {
	s := wsman.NewService(wsman.Config{ProductVendor: "vsmig", ProductVersion: "1.0"})
	defer s.Close()
	s.Handle(wsmantest.ResourceURI, wsmantest.NewResource(3))
	c := wsman.Caller{User: "u"}
	for _, req := range [][]byte{
		wsmantest.NewIdentifyRequest(),
		wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, ""),
		wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-9"}, ""),
		wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(true, 2, "EnumerateObjectAndEPR")),
		wsmantest.NewRequest(wsmantest.ResourceURI+"/Echo", wsmantest.ResourceURI, nil, `<p:Echo_INPUT xmlns:p="`+wsmantest.ResourceURI+`"><p:Text>hi</p:Text></p:Echo_INPUT>`),
	} {
		resp, st := s.ServeSOAP(context.Background(), c, req)
		fmt.Println(st, string(resp))
	}
}
