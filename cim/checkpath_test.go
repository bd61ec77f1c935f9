package cim_test

import (
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/schemas"
)

func TestCheckPath(t *testing.T) {
	reg := schemas.MustLoad()
	cs := func(kv ...any) cim.ObjectPath {
		p := cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_ComputerSystem"}
		for i := 0; i < len(kv); i += 2 {
			p.Keys = append(p.Keys, cim.KeyBinding{Name: kv[i].(string), Value: kv[i+1]})
		}
		return p
	}
	tests := []struct {
		name string
		path cim.ObjectPath
		want cim.KeyProblem // 0: valid
	}{
		{"both keys", cs("CreationClassName", "CIM_ComputerSystem", "Name", "vm"), 0},
		{"keys in any case", cs("creationclassname", "CIM_ComputerSystem", "NAME", "vm"), 0},
		{"missing Name", cs("CreationClassName", "CIM_ComputerSystem"), cim.MissingKey},
		{"missing CreationClassName", cs("Name", "vm"), cim.MissingKey},
		{"unknown selector", cs("CreationClassName", "CIM_ComputerSystem", "Name", "vm", "Wrong", "x"), cim.UnexpectedKey},
		{"not a key", cs("CreationClassName", "CIM_ComputerSystem", "Name", "vm", "ElementName", "x"), cim.UnexpectedKey},
		{"twice", cs("CreationClassName", "CIM_ComputerSystem", "Name", "vm", "name", "w"), cim.DuplicateKey},
		{"unknown CreationClassName", cs("CreationClassName", "CIM_Nope", "Name", "vm"), cim.WrongCreationClass},
		{"unrelated CreationClassName", cs("CreationClassName", "CIM_ConcreteJob", "Name", "vm"), cim.WrongCreationClass},
		{"keyless superclass takes the subclass keys", cim.ObjectPath{ClassName: "CIM_ManagedElement", Keys: []cim.KeyBinding{
			{Name: "CreationClassName", Value: "CIM_ComputerSystem"}, {Name: "Name", Value: "vm"}}}, 0},
		{"typed key", cim.ObjectPath{ClassName: "CIM_ConcreteJob", Keys: []cim.KeyBinding{{Name: "InstanceID", Value: uint64(5)}}}, cim.KeyTypeMismatch},
	}
	for _, tt := range tests {
		err := cim.CheckPath(reg, tt.path)
		ke, _ := cim.AsKeyError(err)
		switch {
		case tt.want == 0 && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != 0 && (ke == nil || ke.Problem != tt.want):
			t.Errorf("%s: %v, want problem %d", tt.name, err, tt.want)
		}
	}
	if err := cim.CheckPath(reg, cim.ObjectPath{ClassName: "CIM_Nothing"}); err == nil {
		t.Error("unknown class accepted")
	}
}
