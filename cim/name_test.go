package cim

import "testing"

func TestValidName(t *testing.T) {
	for _, s := range []string{"CIM_ComputerSystem", "_x", "a1", "Ünïcode_Name"} {
		if !ValidName(s) {
			t.Errorf("ValidName(%q) = false", s)
		}
	}
	for _, s := range []string{"", "1abc", "a-b", "a b", "a.b", "a:b"} {
		if ValidName(s) {
			t.Errorf("ValidName(%q) = true", s)
		}
	}
}
