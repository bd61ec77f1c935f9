package cim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

func TestInstanceSetGet(t *testing.T) {
	reg := coreTestRegistry(t)
	c, _ := reg.Class("Test_Service")
	inst := cim.NewInstance(c, "root/virtualization")
	if err := inst.Set("name", "svc"); err != nil {
		t.Fatal(err)
	}
	if v, ok := inst.Get("NAME"); !ok || v != "svc" {
		t.Errorf("Get = %v, %t", v, ok)
	}
	if v, ok := inst.Get("Started"); !ok || v != nil {
		t.Errorf("unset Get = %v, %t", v, ok)
	}
	if _, ok := inst.Get("Nope"); ok {
		t.Error("Get(Nope) ok")
	}
	var ce *cim.Error
	if err := inst.Set("Nope", "x"); !errors.As(err, &ce) || ce.Status != cim.StatusNoSuchProperty {
		t.Errorf("Set(Nope) = %v", err)
	}
	if err := inst.Set("Port", 5); !errors.As(err, &ce) || ce.Status != cim.StatusInvalidParameter {
		t.Errorf("Set(Port, int) = %v", err)
	}
	if err := inst.Set("Port", uint64(70000)); err == nil {
		t.Error("Set(Port, 70000) accepted")
	}
	inst.MustSet("Port", 5)
	inst.MustSet("SystemName", "host")
	inst.MustSet("State", "3")
	if v, _ := inst.Get("State"); v != uint64(3) {
		t.Errorf("MustSet converted State = %#v", v)
	}
	if got := inst.Path().String(); got != `root/virtualization:Test_Service.SystemName="host",Name="svc",Port=5` {
		t.Errorf("Path = %s", got)
	}
	inst.SetNamespace("root/x")
	if inst.Namespace != "root/x" {
		t.Error("SetNamespace")
	}
	var names []string
	for p, v := range inst.Properties() {
		if v != nil {
			names = append(names, p.Name)
		}
	}
	if got := strings.Join(names, ","); got != "SystemName,Name,State,Port" {
		t.Errorf("Properties order = %s", got)
	}
}

func TestInstanceMustSetPanics(t *testing.T) {
	reg := coreTestRegistry(t)
	c, _ := reg.Class("Test_Service")
	for _, tt := range []struct {
		name string
		v    any
	}{{"Nope", 1}, {"Port", -1}, {"Started", "maybe"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MustSet(%s, %v) did not panic", tt.name, tt.v)
				}
			}()
			cim.NewInstance(c, "").MustSet(tt.name, tt.v)
		}()
	}
}

func TestInstanceClone(t *testing.T) {
	reg, err := cim.NewRegistry(&cim.Class{Name: "T", Properties: []*cim.Property{
		{Name: "A", Type: cim.Uint16, Array: true},
		{Name: "E", Type: cim.String, EmbeddedInstance: "T"},
		{Name: "R", Type: cim.Reference, RefClass: "T"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := reg.Class("T")
	inner := cim.NewInstance(c, "")
	inner.MustSet("A", []uint64{9})
	inst := cim.NewInstance(c, "ns")
	inst.MustSet("A", []uint64{1, 2})
	inst.MustSet("E", inner)
	inst.MustSet("R", cim.ObjectPath{ClassName: "T", Keys: []cim.KeyBinding{{Name: "K", Value: "v"}}})
	cl := inst.Clone()
	if !cim.ValuesEqual(inst, cl) {
		t.Fatal("clone differs")
	}
	a, _ := cl.Get("A")
	a.([]uint64)[0] = 100
	e, _ := cl.Get("E")
	e.(*cim.Instance).MustSet("A", []uint64{0})
	r, _ := cl.Get("R")
	r.(cim.ObjectPath).Keys[0].Value = "changed"
	if orig, _ := inst.Get("A"); orig.([]uint64)[0] != 1 {
		t.Error("clone shares array")
	}
	if v, _ := inner.Get("A"); v.([]uint64)[0] != 9 {
		t.Error("clone shares embedded instance")
	}
	if v, _ := inst.Get("R"); v.(cim.ObjectPath).Keys[0].Value != "v" {
		t.Error("clone shares reference keys")
	}
	if cim.ValuesEqual(inst, cl) {
		t.Error("changed clone still equal")
	}
}

func TestInstanceString(t *testing.T) {
	reg := coreTestRegistry(t)
	c, _ := reg.Class("Test_Service")
	inst := cim.NewInstance(c, "")
	inst.MustSet("Name", "a \"quoted\"\nname")
	inst.MustSet("Port", 8)
	want := "instance of Test_Service {\n\tName = \"a \\\"quoted\\\"\\nname\";\n\tPort = 8;\n};"
	if got := inst.String(); got != want {
		t.Errorf("String =\n%s\nwant\n%s", got, want)
	}
}
