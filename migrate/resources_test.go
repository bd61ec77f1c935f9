package migrate

import "testing"

func TestResourcesLacking(t *testing.T) {
	vm := Resources{Networks: []string{"default", "lab"}, StoragePools: []string{"images"}}
	for _, tt := range []struct {
		name string
		host Resources
		want string
	}{
		{"has all", Resources{Networks: []string{"lab", "default", "x"}, StoragePools: []string{"images"}}, ""},
		{"names none", Resources{}, ""},
		{"no network", Resources{Networks: []string{"default"}, StoragePools: []string{"images"}}, "network lab"},
		{"no pool", Resources{Networks: []string{"default", "lab"}, StoragePools: []string{"other"}}, "storage pool images"},
		{"names no pools", Resources{Networks: []string{"default", "lab"}}, ""},
	} {
		if got := vm.Lacking(tt.host); got != tt.want {
			t.Errorf("%s: Lacking = %q, want %q", tt.name, got, tt.want)
		}
	}
}
